// Package runtime is the seam between berth's reconciler and the systems
// that run apps. It is shaped after HashiCorp Nomad's task drivers: a small
// interface to start, stop, inspect and list what runs, behind which each
// runtime lives (Docker, Kubernetes, none).
//
// Two levels exist because runtimes differ in what they manage:
//
//   - A UnitDriver runs single units (a Docker container each). Rolling
//     (rolling.go) turns one into a WorkloadDriver: it turns the desired
//     state of a proc into unit operations (start a new unit, wait until
//     it answers, stop an old one).
//   - A WorkloadDriver runs a whole proc (a Kubernetes Deployment) and rolls
//     it itself; the reconciler hands it the desired state and reads the
//     units back.
//
// Nothing here knows about HTTP or the store; the reconciler (in core)
// reads desired state from the store and writes the units it observes back.
package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Labels every runtime object berth creates carries, so that a restarted
// berthd adopts what it finds.
const (
	LabelInstallation = "dev.berth.installation" // which berth installation owns it
	LabelAppID        = "dev.berth.app-id"
	LabelApp          = "dev.berth.app"
	LabelProc         = "dev.berth.proc"
	LabelIndex        = "dev.berth.index"
	LabelRelease      = "dev.berth.release"
	LabelRevision     = "dev.berth.revision"
)

// EnvVar is one variable of a unit's environment. Private values (secrets)
// must never appear where the runtime shows specs to people (a Kubernetes
// Deployment spec); drivers keep them in their secret store.
type EnvVar struct {
	Name    string
	Value   string
	Private bool
}

// Workload is the desired state of one proc of one app: what the reconciler
// asks a runtime to run.
type Workload struct {
	AppID string
	App   string
	Team  string
	Proc  string

	// Release is the version of the release the units run (0: none).
	Release int
	// Image is the container image to run.
	Image string
	// Command replaces the image's entrypoint when not empty.
	Command []string
	// Env is the unit's environment, sorted by name; it includes PORT.
	Env []EnvVar
	// ConfigDigest, when set, stands for Env in Revision: a keyed digest
	// of the environment (berth's, made with a key only the server holds),
	// so that revisions, which runtimes show in labels and annotations,
	// cannot be checked against guessed secret values. Without it, the
	// revision hashes the values themselves.
	ConfigDigest string
	// Port is the port the unit listens on inside its container.
	Port int
	// Instances is how many units should run.
	Instances int
	// Indexes, when set, are the indexes of those units (len(Indexes) ==
	// Instances): berth numbers an app's units across its procs and keeps
	// a unit's number while it runs, so a proc's indexes need not start at
	// 0. When empty, the indexes are 0 to Instances-1.
	Indexes []int
	// CPU is the proc's cpu allowance in cores; Memory its limit in bytes.
	CPU    int
	Memory int64
	// Restart changes when a restart was asked for: every unit is replaced.
	// It is the time of the last restart asked for, in Unix nanoseconds (0:
	// none); drivers compare it, and may show it as a time (Kubernetes:
	// the pod template's kubectl.kubernetes.io/restartedAt).
	Restart int64
}

// Revision is a digest of everything that, when it changes, replaces the
// units of a workload: all but the instance count. Units carry the revision
// they were started with.
func (w Workload) Revision() string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	field(w.AppID)
	field(w.Proc)
	field(strconv.Itoa(w.Release))
	field(w.Image)
	field(strconv.Itoa(len(w.Command)))
	for _, c := range w.Command {
		field(c)
	}
	if w.ConfigDigest != "" {
		field(w.ConfigDigest)
	} else {
		env := slices.Clone(w.Env)
		slices.SortFunc(env, func(a, b EnvVar) int { return compareStrings(a.Name, b.Name) })
		for _, e := range env {
			field(e.Name)
			field(e.Value)
		}
	}
	field(strconv.Itoa(w.Port))
	field(strconv.Itoa(w.CPU))
	field(strconv.FormatInt(w.Memory, 10))
	field(strconv.FormatInt(w.Restart, 10))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// UnitSpec is one unit to start.
type UnitSpec struct {
	// Name is unique per installation and deterministic: starting a unit
	// whose name already runs returns that unit instead of a second one.
	Name     string
	AppID    string
	App      string
	Proc     string
	Index    int
	Release  int
	Revision string
	Image    string
	Command  []string
	Env      []EnvVar
	Port     int
	CPU      int
	Memory   int64
}

// UnitName is the runtime name of unit index of a workload at a revision.
// Runtimes such as Docker keep one namespace of names for every
// installation on an engine: the revision, a digest that includes the app's
// id, keeps the names of two installations apart.
func UnitName(w Workload, index int, revision string) string {
	return fmt.Sprintf("berth-%s-%s-%d-%s", w.App, w.Proc, index, revision[:8])
}

// UnitIndexes are the indexes of w's units, in order.
func (w Workload) UnitIndexes() []int {
	if len(w.Indexes) > 0 {
		return slices.Sorted(slices.Values(w.Indexes))
	}
	out := make([]int, w.Instances)
	for i := range out {
		out[i] = i
	}
	return out
}

// Spec is the UnitSpec of unit index of w.
func (w Workload) Spec(index int) UnitSpec {
	rev := w.Revision()
	return UnitSpec{
		Name: UnitName(w, index, rev), AppID: w.AppID, App: w.App, Proc: w.Proc, Index: index,
		Release: w.Release, Revision: rev, Image: w.Image, Command: slices.Clone(w.Command),
		Env: slices.Clone(w.Env), Port: w.Port, CPU: w.CPU, Memory: w.Memory,
	}
}

// UnitState is what a unit is doing.
type UnitState string

const (
	// UnitPending: created, not yet running (pulling, scheduling, starting).
	UnitPending UnitState = "pending"
	// UnitRunning: its process runs. Whether it answers is the health
	// check's business.
	UnitRunning UnitState = "running"
	// UnitExited: its process ended (ExitCode says how).
	UnitExited UnitState = "exited"
	// UnitError: the runtime cannot run it, or it waits out a restart
	// back-off (Message says why).
	UnitError UnitState = "error"
	// UnitStopping: it is being stopped. It may still finish requests in
	// flight, but routers must send it no new ones. Rolling reports an old
	// unit so from the moment a new unit took its place until it is gone;
	// a Kubernetes driver reports a terminating pod so.
	UnitStopping UnitState = "stopping"
)

// Unit is a unit as the runtime reports it.
type Unit struct {
	// ID is the runtime's id (a container id, a pod name).
	ID       string
	Name     string
	AppID    string
	App      string
	Proc     string
	Index    int
	Release  int
	Revision string
	State    UnitState
	// Address is host:port where berthd (and its router) reach the unit's
	// port; empty until it runs.
	Address    string
	StartedAt  time.Time
	FinishedAt time.Time
	ExitCode   int
	// Message says why a unit is not running, for people.
	Message string
}

// Event tells that something about a unit changed. Events only wake the
// reconciler up: it reads the state again, so a missed event costs a pass,
// never correctness.
type Event struct {
	// AppID is the app the unit belongs to; empty when the driver cannot
	// tell which apps changed (Kind "resync", after it lost the runtime's
	// event stream for a while): every app deserves a pass.
	AppID  string
	UnitID string
	Kind   string // "start", "die", "destroy", "resync", ...
}

// Errors drivers answer.
var (
	// ErrNotFound: no such unit or workload.
	ErrNotFound = errors.New("runtime: not found")
	// ErrImageUnavailable: the image is neither present nor pullable.
	ErrImageUnavailable = errors.New("runtime: image unavailable")
	// ErrRolloutFailed: a new revision did not start or answer in time.
	ErrRolloutFailed = errors.New("runtime: rollout failed")
	// ErrNotSupported: the driver cannot do this (Watch on a driver
	// without events); the caller falls back (to polling).
	ErrNotSupported = errors.New("runtime: not supported")
	// ErrBackoff: Apply did all it could now, but a unit (or a rollout)
	// waits out its restart back-off; errors.As a *BackoffError tells when
	// to call Apply again.
	ErrBackoff = errors.New("runtime: backing off")
)

// BackoffError is the error Apply answers while something waits out its
// back-off. Reconcilers requeue the workload for Until instead of treating
// it as a failure (unless it also wraps ErrRolloutFailed).
type BackoffError struct {
	// Until is the earliest time the next attempt may be made.
	Until time.Time
	// Reason says what is backing off and why, for people.
	Reason string
}

func (e *BackoffError) Error() string {
	return fmt.Sprintf("%s (next attempt at %s)", e.Reason, e.Until.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrBackoff) hold.
func (e *BackoffError) Is(target error) bool { return target == ErrBackoff }

// UnitDriver runs single units. Implementations must be safe for concurrent
// use and must only see units of their own installation (LabelInstallation).
type UnitDriver interface {
	// Name is the driver's name: "docker".
	Name() string
	// Start creates and starts a unit. When a unit called spec.Name
	// exists already, Start returns it (starting it if it stopped), so a
	// retried start never makes two.
	Start(ctx context.Context, spec UnitSpec) (Unit, error)
	// Stop stops a unit, giving it grace to exit after SIGTERM, and
	// removes it. Stopping a unit that does not exist is not an error.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Inspect reports one unit (ErrNotFound when it does not exist).
	Inspect(ctx context.Context, id string) (Unit, error)
	// List reports every unit of this installation, running or not.
	List(ctx context.Context) ([]Unit, error)
	// Watch streams changes until ctx ends, or answers ErrNotSupported.
	Watch(ctx context.Context) (<-chan Event, error)
	// Close releases the driver's connections.
	Close() error
}

// UnitLogger is an optional UnitDriver extension: the last lines a unit
// wrote (stdout and stderr), so that a failed rollout can say why.
type UnitLogger interface {
	LogTail(ctx context.Context, id string, lines int) (string, error)
}

// AppLister is an optional UnitDriver extension: List narrowed to one app,
// done by the runtime (a label filter) instead of by the caller, so that a
// pass over one app costs no more when the installation runs many.
type AppLister interface {
	ListApp(ctx context.Context, appID string) ([]Unit, error)
}

// WorkloadDriver runs whole workloads and rolls them itself (Kubernetes:
// a Deployment per proc).
type WorkloadDriver interface {
	Name() string
	// Apply makes the runtime run w: creates or updates what runs it. It
	// may return before the rollout is done (Kubernetes accepts the
	// Deployment and rolls it) or after (Rolling); Units tells how far it
	// got. When the new revision cannot run, Apply returns an error
	// wrapping ErrRolloutFailed and the units of the previous revision
	// keep serving.
	Apply(ctx context.Context, w Workload) error
	// Remove stops a proc of an app (every proc when proc is empty) and
	// removes what ran it.
	Remove(ctx context.Context, appID, proc string) error
	// Units reports the units of an app (every app when appID is empty).
	Units(ctx context.Context, appID string) ([]Unit, error)
	// AppIDs lists the apps the runtime holds anything for, units or not,
	// so that what a deleted app left behind is found and removed.
	AppIDs(ctx context.Context) ([]string, error)
	Watch(ctx context.Context) (<-chan Event, error)
	Close() error
}
