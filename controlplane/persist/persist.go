// Package persist is the seam between berth's area services (package
// core) and persistence: the transactions core runs and the typed
// operations it performs in them. Package store implements it on a storage
// engine; core and the API above it never see keys, encodings or engines.
package persist

import (
	"context"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// Store runs transactions.
type Store interface {
	// View runs fn in a read-only transaction over a consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a serializable read-write transaction and commits
	// it; fn may run more than once (a transaction that lost a race runs
	// again on fresh data), so it must have no effect outside tx.
	Update(ctx context.Context, fn func(Tx) error) error
	// Subscribe wakes the returned channel after commits, in any process
	// on the same storage, that notified topic.
	Subscribe(ctx context.Context, topic string) (<-chan struct{}, error)
	// Ready reports whether transactions can run now.
	Ready(ctx context.Context) error
	// Incarnation is non-empty when this process is the only one on the
	// storage; it names this opening of it.
	Incarnation() string
	// Size is the storage's size on disk, when the engine knows it.
	Size() (lsm, vlog int64)
	// CollectGarbage reclaims the engine's garbage, when it has any.
	CollectGarbage() error
}

// Tx is one transaction. Reads run in read-only transactions too; writes
// fail there.
type Tx interface {
	IdentityTx
	AppsTx
	ServicesTx
	PipelinesTx
	StacksTx
	RuntimeTx
	CoordinationTx
}

// IdentityTx: users, teams, app tokens, sessions, the signing key.
type IdentityTx interface {
	// User returns the user with that e-mail.
	User(email string) (*domain.User, error)
	// UserExists reports whether a user has that e-mail.
	UserExists(email string) (bool, error)
	// PutUser creates or replaces a user.
	PutUser(u *domain.User) error
	// DeleteUser removes a user and its app tokens. Team membership is the
	// caller's business: it decides what happens to teams left empty.
	DeleteUser(email string) error
	// ListUsers returns one page of users ordered by e-mail.
	ListUsers(p domain.Page) ([]domain.User, string, error)
	// Team returns the team with that name.
	Team(name string) (*domain.Team, error)
	// TeamExists reports whether a team has that name.
	TeamExists(name string) (bool, error)
	// PutTeam creates or replaces a team and keeps the member index in step.
	PutTeam(t *domain.Team) error
	// DeleteTeam removes a team and its member index entries.
	DeleteTeam(t *domain.Team) error
	// ListTeams returns one page of teams ordered by name.
	ListTeams(p domain.Page) ([]domain.Team, string, error)
	// TeamsOf returns the names of the teams email belongs to, in order.
	TeamsOf(email string) ([]string, error)
	// AppToken returns the app token whose secret hashes to hash.
	AppToken(hash []byte) (*domain.AppToken, error)
	// PutAppToken stores an app token under the hash of its secret.
	PutAppToken(t *domain.AppToken) error
	// DeleteAppToken revokes an app token.
	DeleteAppToken(t *domain.AppToken) error
	// AppTokensOf returns the app tokens a user created, ordered by id.
	AppTokensOf(email string) ([]*domain.AppToken, error)
	// RevokeSession denies a session token id until it would have expired
	// anyway; the record expires then.
	RevokeSession(jti string, until time.Time) error
	// SessionRevoked reports whether a session token id was revoked.
	SessionRevoked(jti string, now time.Time) (bool, error)
	// SigningKey returns the JWT signing key, or nil when none was made yet.
	SigningKey() ([]byte, error)
	// PutSigningKey stores the JWT signing key.
	PutSigningKey(k []byte) error
	// Bootstrapped reports whether the first-start setup already ran.
	Bootstrapped() (bool, error)
	// MarkBootstrapped records that the first-start setup ran.
	MarkBootstrapped(at time.Time) error
}

// AppsTx: apps, releases and resource instances.
type AppsTx interface {
	// App returns the app called name.
	App(name string) (*domain.App, error)
	// AppByID returns the app with that UUID.
	AppByID(id string) (*domain.App, error)
	// AppExists reports whether an app is called name.
	AppExists(name string) (bool, error)
	// PutApp creates or replaces an app and keeps its indexes in step. It
	// queues the app for the reconciler (see AppsToReconcile).
	PutApp(a *domain.App) error
	// PutAppUnits records what runs of an app without queueing it again:
	// the reconciler's report of what it observed.
	PutAppUnits(a *domain.App) error
	// DeleteApp removes an app, its indexes and its releases.
	DeleteApp(a *domain.App) error
	// ListApps returns one page of apps ordered by name.
	ListApps(f AppFilter, p domain.Page) ([]domain.App, string, error)
	// Release returns the release of app with that id.
	Release(appID, releaseID string) (*domain.Release, error)
	// ReleaseByVersion returns version v of an app.
	ReleaseByVersion(appID string, v int) (*domain.Release, error)
	// PutRelease creates or replaces a release.
	PutRelease(r *domain.Release) error
	// ListReleases returns an app's releases, newest first. The page cursor is
	// a version number.
	ListReleases(a *domain.App, p domain.Page) ([]domain.Release, string, error)
	// AppsNamedWithPrefix returns one page of the apps whose name starts with
	// namePrefix, ordered by name. The cursor is the rest of the name after the
	// prefix. Resource instances (resource.<resource>.<app>) are found this way.
	AppsNamedWithPrefix(namePrefix string, p domain.Page) ([]domain.App, string, error)
}

// ServicesTx: services and their instances.
type ServicesTx interface {
	// Service returns the service called name.
	Service(name string) (*domain.Service, error)
	// ServiceExists reports whether a service is called name.
	ServiceExists(name string) (bool, error)
	// PutService creates or replaces a service and keeps its team index in step.
	PutService(s *domain.Service) error
	// DeleteService removes a service and its index entries.
	DeleteService(s *domain.Service) error
	// ListServices returns one page of services ordered by name.
	ListServices(f ServiceFilter, p domain.Page) ([]domain.Service, string, error)
	// TeamHasServices names a service the team owns or was granted, or "".
	TeamHasServices(team string) (string, error)
	// Instance returns the service instance called name.
	Instance(name string) (*domain.ServiceInstance, error)
	// InstanceExists reports whether a service instance is called name.
	InstanceExists(name string) (bool, error)
	// PutInstance creates or replaces a service instance and keeps its indexes
	// in step. An instance never moves to another service.
	PutInstance(i *domain.ServiceInstance) error
	// DeleteInstance removes a service instance and its index entries.
	DeleteInstance(i *domain.ServiceInstance) error
	// ListInstances returns one page of a service's instances ordered by name.
	ListInstances(f InstanceFilter, p domain.Page) ([]domain.ServiceInstance, string, error)
	// ServiceHasInstances names an instance of the service, or "".
	ServiceHasInstances(service string) (string, error)
	// TeamHasInstances names a service instance the team owns, or "".
	TeamHasInstances(team string) (string, error)
}

// PipelinesTx: pipelines, couplings, status contexts and promotions.
type PipelinesTx interface {
	// Pipeline returns the pipeline called name.
	Pipeline(name string) (*domain.Pipeline, error)
	// PipelineByID returns the pipeline with that UUID.
	PipelineByID(id string) (*domain.Pipeline, error)
	// PipelineExists reports whether a pipeline is called name.
	PipelineExists(name string) (bool, error)
	// PutPipeline creates or replaces a pipeline.
	PutPipeline(p *domain.Pipeline) error
	// DeletePipeline removes a pipeline. Its couplings are the caller's to
	// remove first.
	DeletePipeline(p *domain.Pipeline) error
	// ListPipelines returns one page of pipelines ordered by name.
	ListPipelines(p domain.Page) ([]domain.Pipeline, string, error)
	// Coupling returns the coupling with that id.
	Coupling(id string) (*domain.Coupling, error)
	// CouplingOfApp returns the coupling of an app; an app is in at most one
	// pipeline.
	CouplingOfApp(appID string) (*domain.Coupling, error)
	// PutCoupling creates or replaces a coupling. The app and stage of a
	// coupling never change.
	PutCoupling(c *domain.Coupling) error
	// DeleteCoupling removes a coupling and its index entries.
	DeleteCoupling(c *domain.Coupling) error
	// ListCouplings returns one page of every coupling, ordered by id.
	ListCouplings(p domain.Page) ([]domain.Coupling, string, error)
	// PipelineCouplings returns one page of a pipeline's couplings ordered by
	// stage (review first), then id.
	PipelineCouplings(pipelineID string, p domain.Page) ([]domain.Coupling, string, error)
	// AddStatusContext records that a release of app carried a status with
	// that context and name.
	AddStatusContext(appID string, sc domain.StatusContext) error
	// StatusContexts returns the contexts and names seen on an app's releases,
	// ordered by context, then name.
	StatusContexts(appID string) ([]domain.StatusContext, error)
	// DeleteStatusContexts forgets the status contexts of an app.
	DeleteStatusContexts(appID string) error
	// Promotion returns the promotion with that id.
	Promotion(id string) (*domain.Promotion, error)
	// PutPromotion creates or replaces a promotion and keeps it in the pending
	// queue exactly while its status is pending.
	PutPromotion(p *domain.Promotion) error
	// ListPromotions returns one page of promotions, newest first: those of one
	// pipeline, or every one when pipelineID is empty.
	ListPromotions(pipelineID string, p domain.Page) ([]domain.Promotion, string, error)
	// PendingPromotions returns the ids of up to limit pending promotions,
	// oldest first.
	PendingPromotions(limit int) ([]string, error)
}

// StacksTx: stack projects, stacks and lease replays.
type StacksTx interface {
	// StackProject returns the project called name.
	StackProject(name string) (*domain.StackProject, error)
	// StackProjectByKeyHash returns the project whose key hashes to hash.
	StackProjectByKeyHash(hash []byte) (*domain.StackProject, error)
	// StackProjectExists reports whether a project is called name.
	StackProjectExists(name string) (bool, error)
	// PutStackProject creates or replaces a project and keeps its key and team
	// indexes in step: a replaced key stops resolving in the same transaction.
	PutStackProject(p *domain.StackProject) error
	// DeleteStackProject removes a project at once: its key stops working and
	// its name is free. Its stacks may be too many for one transaction, so they
	// are left behind a purge marker for PurgeStacks.
	DeleteStackProject(p *domain.StackProject) error
	// ListStackProjects returns one page of projects ordered by name.
	ListStackProjects(f StackProjectFilter, p domain.Page) ([]domain.StackProject, string, error)
	// StackProjectOfTeam returns the name of a project the team owns, or "".
	StackProjectOfTeam(team string) (string, error)
	// Stack returns stack number n of a project.
	Stack(projectID string, n int) (*domain.Stack, error)
	// StackByName returns the stack of a project called name.
	StackByName(projectID, name string) (*domain.Stack, error)
	// StacksNamedWithPrefix calls fn with the name and number of each stack of
	// the project whose name starts with pfx, in name order.
	StacksNamedWithPrefix(projectID, pfx string, fn func(name string, n int) error) error
	// StackCount returns how many stacks a project has. Stacks are numbered
	// from 1 without gaps, so it is also the number of the last one.
	StackCount(projectID string) (int, error)
	// StackGen returns the project's stack generation: it moves with every
	// write of one of its stacks.
	StackGen(projectID string) (int64, error)
	// SetStackGen records the project's stack generation after a batch of
	// writes made with the generations up to gen.
	SetStackGen(projectID string, gen int64) error
	// StacksChangedSince calls fn with the number of each stack of the project
	// written after generation gen, oldest write first. A number whose stack
	// no longer exists was deleted.
	StacksChangedSince(projectID string, gen int64, fn func(n int) error) error
	// CreateStack adds the next stack of a project at generation gen: its
	// number must follow the last one, and its name must be free.
	CreateStack(st *domain.Stack, gen int64) error
	// PutStack saves a change to an existing stack at generation gen; its
	// number and name never change.
	PutStack(st *domain.Stack, gen int64) error
	// DeleteLastStack removes the highest-numbered stack of its project at
	// generation gen.
	DeleteLastStack(st *domain.Stack, gen int64) error
	// ListStacks returns one page of a project's stacks ordered by number.
	ListStacks(projectID string, p domain.Page) ([]domain.Stack, string, error)
	// LeaseReplay returns what an Idempotency-Key of a project remembers, if
	// it has not expired by now.
	LeaseReplay(projectID, idempotencyKey string, now time.Time) (*domain.LeaseReplay, error)
	// PutLeaseReplay remembers the answer to a request with an
	// Idempotency-Key until expires.
	PutLeaseReplay(projectID, idempotencyKey string, r *domain.LeaseReplay, expires time.Time) error
	// StackPurges returns the ids of deleted projects whose stacks are still
	// to be removed.
	StackPurges() ([]string, error)
	// PurgeStacks removes up to limit keys of a deleted project's stacks, their
	// indexes and replays, and reports whether nothing is left (the purge
	// marker then goes too).
	PurgeStacks(projectID string, limit int) (done bool, err error)
}

// RuntimeTx: what the reconciler and the routers need of the store.
type RuntimeTx interface {
	// RouteGen is the generation of the routes; it moves with every change
	// of one (routes follow every write of an app).
	RouteGen() (int64, error)
	// Routes calls fn with every route.
	Routes(fn func(domain.Route) error) error
	// RoutesChangedSince calls fn for each app whose route changed after
	// gen, with its route, or ok false when it has none any more.
	RoutesChangedSince(gen int64, fn func(appID string, r domain.Route, ok bool) error) error
	// AppsToReconcile returns up to limit apps whose desired state changed
	// since the reconciler last cleared their mark.
	AppsToReconcile(limit int) ([]AppChange, error)
	// Reconciled clears an app's mark if nothing changed since c was read.
	Reconciled(c AppChange) error
	// MarkAppChanged queues an app for the reconciler without changing it.
	MarkAppChanged(appID string) error
	// InstallationID names this installation's objects in the runtime
	// ("" before the first start made one).
	InstallationID() (string, error)
	PutInstallationID(id string) error
}

// CoordinationTx: what processes share to coordinate: busy marks, counters, leases, commit hooks and notifications, expiry.
type CoordinationTx interface {
	// BusyMark returns the live mark on what, if any.
	BusyMark(what string, now time.Time) (*BusyMark, error)
	// PutBusyMark marks what busy until expires.
	PutBusyMark(what string, m BusyMark, expires time.Time) error
	// DeleteBusyMark removes the mark on what when holder holds it.
	DeleteBusyMark(what, holder string, now time.Time) error
	// Count returns a counter's value.
	Count(name string) (int64, error)
	// AddCount moves a counter by delta.
	AddCount(name string, delta int64) error
	// SchedulerLease returns the lease called name, or nil when none was ever
	// taken.
	SchedulerLease(name string) (*SchedulerLease, error)
	// PutSchedulerLease records a lease.
	PutSchedulerLease(name string, l *SchedulerLease) error
	// OnCommit registers f to run once the transaction has committed.
	OnCommit(f func())
	// Notify wakes the subscribers of topic, in every process, once the
	// transaction has committed.
	Notify(topic string)
	// SweepExpired deletes up to limit records that expired by now and reports
	// how many it deleted.
	SweepExpired(now time.Time, limit int) (int, error)
}

// AppFilter selects apps for ListApps: those in Scope (domain.AppScope is
// the access rule), of Type when set, and only deployed ones when
// DeployedOnly.
type AppFilter struct {
	Scope        domain.AppScope
	Type         domain.AppType
	DeployedOnly bool
}

// ServiceFilter selects services for ListServices: every service when All
// is set (admins), otherwise those one of Teams owns or was granted.
type ServiceFilter struct {
	All   bool
	Teams []string
	// OwnedOnly keeps, of those, only the services one of Teams owns.
	OwnedOnly bool
}

// InstanceFilter selects the instances of one service for ListInstances:
// every one when All is set, otherwise those one of Teams owns.
type InstanceFilter struct {
	Service string
	All     bool
	Teams   []string
}

// StackProjectFilter selects projects: every project when All is set,
// otherwise those owned by one of Teams.
type StackProjectFilter struct {
	All   bool
	Teams []string
}

// BusyMark says who holds something busy and for what (see
// CoordinationTx.PutBusyMark).
type BusyMark struct {
	Holder    string `json:"holder"`
	Operation string `json:"operation"`
}

// SchedulerLease is one process's claim to run the background work: who
// holds it, until when, and the fencing token that moves with each
// takeover.
type SchedulerLease struct {
	Holder    string    `json:"holder"`
	Token     int64     `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// RoutesTopic is the notification every change of a route sends.
const RoutesTopic = "routes"

// ReconcileTopic is the notification every write of an app's desired
// state sends (see Store.Subscribe).
const ReconcileTopic = "reconcile"

// AppChange is an app the reconciler must look at: Changes counts the
// writes of its desired state since the reconciler last cleared the mark.
type AppChange struct {
	AppID   string
	Changes int64
}

// PromotionCounter names the counter of promotions in a status.
func PromotionCounter(status string) string { return "promotion/" + status }
