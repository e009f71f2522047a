package domain

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AppType is what kind of thing an app is (lain's apptype).
type AppType string

const (
	AppTypeApp              AppType = "app"
	AppTypeService          AppType = "service"
	AppTypeResource         AppType = "resource"
	AppTypeResourceInstance AppType = "resource-instance"
)

// ValidAppType reports whether t is one of the four app types.
func ValidAppType(t AppType) bool {
	switch t {
	case AppTypeApp, AppTypeService, AppTypeResource, AppTypeResourceInstance:
		return true
	}
	return false
}

// App is the one app entity every dialect reads and writes: a tsuru app, a
// lain repo/deployed app and an Akkeris pipeline member are the same record.
type App struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Type          AppType   `json:"type"`
	Platform      string    `json:"platform"`
	Description   string    `json:"description,omitempty"`
	TeamOwner     string    `json:"team_owner"`
	Teams         []string  `json:"teams"`
	Owner         string    `json:"owner"`
	RepositoryURL string    `json:"repository_url"`
	IP            string    `json:"ip"`
	CNames        []string  `json:"cnames,omitempty"`
	Deployed      bool      `json:"deployed"`
	DeployedAt    time.Time `json:"deployed_at,omitzero"`
	MetaVersion   string    `json:"meta_version,omitempty"`
	// Meta is what the app declares (lain.yaml): procs and resources used.
	Meta *AppMeta `json:"meta,omitempty"`
	// Procs are the deployed procs; Units are derived from them.
	Procs []Proc `json:"procs,omitempty"`
	Units []Unit `json:"units,omitempty"`
	// Env holds config vars by name.
	Env map[string]EnvVar `json:"env,omitempty"`
	// ConfigVersion increases with every change to Env.
	ConfigVersion int          `json:"config_version"`
	Maintainers   []Maintainer `json:"maintainers,omitempty"`
	// LastRelease is the version of the newest release (0: none yet).
	LastRelease int `json:"last_release"`
	// Resource and ResourceClient name, for a resource-instance app, the
	// resource app it instantiates and the app that uses it.
	Resource       string    `json:"resource,omitempty"`
	ResourceClient string    `json:"resource_client,omitempty"`
	RestartedAt    time.Time `json:"restarted_at,omitzero"`
	// Bindings are the service instances bound to the app.
	Bindings  []Binding `json:"bindings,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Binding ties a service instance to an app.
type Binding struct {
	Instance string `json:"instance"`
	Service  string `json:"service"`
}

// AppMeta is the JSON form of a lain.yaml: what an app declares before it is
// deployed.
type AppMeta struct {
	Type         AppType    `json:"type,omitempty"`
	Procs        []ProcSpec `json:"procs,omitempty"`
	UseResources []string   `json:"use_resources,omitempty"`
}

// ProcSpec declares a proc.
type ProcSpec struct {
	Name         string `json:"name"`
	NumInstances int    `json:"num_instances"`
	CPU          int    `json:"cpu"`
	Memory       string `json:"memory"`
	// Command replaces the image's entrypoint when set (lain's cmd).
	Command []string `json:"command,omitempty"`
	// Port is what the proc listens on (the PORT its units get); 0 means
	// DefaultProcPort.
	Port int `json:"port,omitempty"`
}

// Proc is a deployed process type of an app.
type Proc struct {
	Name         string    `json:"name"`
	NumInstances int       `json:"num_instances"`
	CPU          int       `json:"cpu"`
	Memory       string    `json:"memory"`
	Command      []string  `json:"command,omitempty"`
	Port         int       `json:"port,omitempty"`
	State        string    `json:"state"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// ListenPort is the port the proc's units listen on.
func (p *Proc) ListenPort() int {
	if p.Port == 0 {
		return DefaultProcPort
	}
	return p.Port
}

// Unit states.
const (
	UnitStarted = "started"
	UnitPending = "pending"
	UnitError   = "error"
	UnitStopped = "stopped"
)

// Unit is one instance of a proc: app/0, app/1, ... With a runtime, the
// reconciler records what runs: the unit's address (host:port where berthd
// reaches it), when it started, the release it runs and why it is not
// started; without one, units are records and IP is a placeholder.
type Unit struct {
	Name      string    `json:"name"`
	Proc      string    `json:"proc"`
	IP        string    `json:"ip"`
	State     string    `json:"state"`
	Address   string    `json:"address,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	Release   int       `json:"release,omitempty"`
	Message   string    `json:"message,omitempty"`
}

// UnitNumber is the number of a unit named app/N (-1 for another name).
func UnitNumber(name string) int {
	i := strings.LastIndexByte(name, '/')
	n, err := strconv.Atoi(name[i+1:])
	if i < 0 || err != nil || n < 0 {
		return -1
	}
	return n
}

// SyncUnits derives the units from the procs: one unit per instance,
// named app/N. A unit keeps its name, state and address for as long as its
// proc runs it, whatever the other procs do: scaling a proc up gives its
// new units the lowest numbers no unit has, scaling it down removes its
// highest-numbered units, and the units of other procs are left alone.
// New units start in state "started". Units are listed by number.
func (a *App) SyncUnits() {
	byProc := map[string][]Unit{}
	for _, u := range a.Units {
		byProc[u.Proc] = append(byProc[u.Proc], u)
	}
	var units []Unit
	taken := map[int]bool{}
	missing := map[string]int{}
	for _, p := range a.Procs {
		have := byProc[p.Name]
		slices.SortFunc(have, func(x, y Unit) int { return unitNumber(x.Name) - unitNumber(y.Name) })
		if len(have) > p.NumInstances {
			have = have[:p.NumInstances]
		}
		for _, u := range have {
			taken[unitNumber(u.Name)] = true
		}
		units = append(units, have...)
		missing[p.Name] = p.NumInstances - len(have)
	}
	next := 0
	for _, p := range a.Procs {
		for ; missing[p.Name] > 0; missing[p.Name]-- {
			for taken[next] {
				next++
			}
			taken[next] = true
			units = append(units, Unit{Name: fmt.Sprintf("%s/%d", a.Name, next), Proc: p.Name, State: UnitStarted, IP: unitIP(a.IP, next)})
		}
	}
	slices.SortFunc(units, func(x, y Unit) int { return unitNumber(x.Name) - unitNumber(y.Name) })
	a.Units = units
}

// unitNumber is N in a unit's name app/N.
func unitNumber(name string) int { return UnitNumber(name) }

// RefreshUnitIPs derives the placeholder address of every unit that is a
// record only (no runtime runs it) again from the app's, after the app's
// address changed (a swap). A unit a runtime runs keeps its real address.
func (a *App) RefreshUnitIPs() {
	for i := range a.Units {
		if a.Units[i].Address == "" {
			a.Units[i].IP = unitIP(a.IP, unitNumber(a.Units[i].Name))
		}
	}
}

func unitIP(appIP string, n int) string {
	if appIP == "" {
		return ""
	}
	return fmt.Sprintf("%s#%d", appIP, n)
}

// HasTeam reports whether team has access to the app.
func (a *App) HasTeam(team string) bool { return slices.Contains(a.Teams, team) }

// Proc returns the deployed proc called name, or nil.
func (a *App) Proc(name string) *Proc {
	for i := range a.Procs {
		if a.Procs[i].Name == name {
			return &a.Procs[i]
		}
	}
	return nil
}

// EnvVar is one config var of an app. Instance and Service are set when a
// service binding exported it; users cannot overwrite such a var.
type EnvVar struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Public   bool   `json:"public"`
	Instance string `json:"instance,omitempty"`
	Service  string `json:"service,omitempty"`
}

// Maintainer roles (lain).
const (
	RoleOwner      = "owner"
	RoleMaintainer = "maintainer"
)

// Maintainer is a user with a role on an app (lain).
type Maintainer struct {
	Username string `json:"username"`
	Role     string `json:"role"`
}

// Rollout states of a release: whether the runtime got its units running.
const (
	RolloutQueued    = "queued"
	RolloutSucceeded = "succeeded"
	RolloutFailed    = "failed"
)

// Release is one immutable version of an app: what runs (image or
// meta_version) and the config it runs with. Rollout says whether the
// runtime got it running (set by the reconciler; empty without a runtime).
type Release struct {
	ID          string `json:"id"`
	AppID       string `json:"app_id"`
	AppName     string `json:"app_name"`
	Version     int    `json:"version"`
	Image       string `json:"image,omitempty"`
	MetaVersion string `json:"meta_version,omitempty"`
	Description string `json:"description,omitempty"`
	// Config is the app's env at the time of the release.
	Config        map[string]EnvVar `json:"config,omitempty"`
	ConfigVersion int               `json:"config_version"`
	// PromotionID is set on a release made by a pipeline promotion.
	PromotionID    string          `json:"promotion_id,omitempty"`
	Rollout        string          `json:"rollout,omitempty"`
	RolloutMessage string          `json:"rollout_message,omitempty"`
	Statuses       []ReleaseStatus `json:"statuses,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// Release status states (Akkeris).
const (
	StatusPending = "pending"
	StatusSuccess = "success"
	StatusFailure = "failure"
	StatusError   = "error"
)

// ReleaseStatus is a check result CI posts on a release.
type ReleaseStatus struct {
	ID          string    `json:"id"`
	Context     string    `json:"context"`
	Name        string    `json:"name"`
	State       string    `json:"state"`
	Description string    `json:"description,omitempty"`
	TargetURL   string    `json:"target_url,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Clone is a deep copy of a: changing one never changes the other.
func (a *App) Clone() *App {
	c := *a
	c.Teams = slices.Clone(a.Teams)
	c.CNames = slices.Clone(a.CNames)
	if a.Meta != nil {
		m := *a.Meta
		m.Procs = slices.Clone(a.Meta.Procs)
		for i := range m.Procs {
			m.Procs[i].Command = slices.Clone(m.Procs[i].Command)
		}
		m.UseResources = slices.Clone(a.Meta.UseResources)
		c.Meta = &m
	}
	c.Procs = slices.Clone(a.Procs)
	for i := range c.Procs {
		c.Procs[i].Command = slices.Clone(c.Procs[i].Command)
	}
	c.Units = slices.Clone(a.Units)
	c.Env = maps.Clone(a.Env)
	c.Maintainers = slices.Clone(a.Maintainers)
	c.Bindings = slices.Clone(a.Bindings)
	return &c
}
