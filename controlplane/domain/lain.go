package domain

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RoleAdmin is the lain role of an administrator who is not a listed
// maintainer of the app: an admin may do everything an owner may.
const RoleAdmin = "admin"

// ValidMaintainerRole reports whether a maintainer may be given role.
func ValidMaintainerRole(role string) bool { return role == RoleOwner || role == RoleMaintainer }

// States of a lain app and of a proc.
const (
	StateDeployed   = "deployed"
	StateUndeployed = "undeployed"
)

// Bounds and defaults of a proc's declaration (lain.yaml's defaults where
// they fit the bounds: lain's default cpu of 0 does not).
const (
	MinProcInstances = 0
	MaxProcInstances = 100
	MinProcCPU       = 1
	MaxProcCPU       = 32
	MinProcMemory    = 4 << 20  // 4M
	MaxProcMemory    = 64 << 30 // 64G

	DefaultProcInstances = 1
	DefaultProcCPU       = 1
	DefaultProcMemory    = "32M"
	DefaultProcPort      = 8080

	maxCommandArgs = 64
	maxCommandArg  = 4096
)

// ParseMemory reads a human memory size such as 64M or 1G. Units are powers
// of 1024, as in Docker's memory limits; a bare number is bytes.
func ParseMemory(s string) (int64, error) {
	m := memoryRe.FindStringSubmatch(s)
	if m == nil {
		return 0, Invalid("invalid memory %q: want a size such as 64M or 1G", s)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, Invalid("invalid memory %q: want a size such as 64M or 1G", s)
	}
	if m[2] != "" {
		n *= math.Pow(1024, float64(1+strings.Index("kmgt", strings.ToLower(m[2]))))
	}
	if n > math.MaxInt64/2 {
		return 0, Invalid("invalid memory %q: at most 64G", s)
	}
	return int64(n), nil
}

// ValidateMemory checks that s is a memory size within the proc bounds.
func ValidateMemory(s string) error {
	n, err := ParseMemory(s)
	if err != nil {
		return err
	}
	if n < MinProcMemory || n > MaxProcMemory {
		return Invalid("invalid memory %q: must be from 4M to 64G", s)
	}
	return nil
}

// ValidateProcInstances checks a proc's instance count.
func ValidateProcInstances(n int) error {
	if n < MinProcInstances || n > MaxProcInstances {
		return Invalid("invalid num_instances %d: must be from %d to %d", n, MinProcInstances, MaxProcInstances)
	}
	return nil
}

// ValidateProcCPU checks a proc's cpu count.
func ValidateProcCPU(n int) error {
	if n < MinProcCPU || n > MaxProcCPU {
		return Invalid("invalid cpu %d: must be an integer from %d to %d", n, MinProcCPU, MaxProcCPU)
	}
	return nil
}

// ValidateProcSpec checks one declared proc.
func ValidateProcSpec(p ProcSpec) error {
	if !procNameRe.MatchString(p.Name) {
		return Invalid("invalid proc name %q: it must start with a lowercase letter and contain only lowercase letters, digits and hyphens, at most 30 characters", p.Name)
	}
	if err := ValidateProcInstances(p.NumInstances); err != nil {
		return Invalid("proc %q: %v", p.Name, err)
	}
	if err := ValidateProcCPU(p.CPU); err != nil {
		return Invalid("proc %q: %v", p.Name, err)
	}
	if err := ValidateMemory(p.Memory); err != nil {
		return Invalid("proc %q: %v", p.Name, err)
	}
	if p.Port < 0 || p.Port > 65535 {
		return Invalid("proc %q: invalid port %d: must be from 1 to 65535 (0: %d)", p.Name, p.Port, DefaultProcPort)
	}
	if len(p.Command) > maxCommandArgs {
		return Invalid("proc %q: a command has at most %d arguments", p.Name, maxCommandArgs)
	}
	for _, arg := range p.Command {
		if len(arg) > maxCommandArg {
			return Invalid("proc %q: a command argument has at most %d bytes", p.Name, maxCommandArg)
		}
	}
	return nil
}

// ValidateMeta checks what a user declares for an app. The type must be
// app, service or resource (resource instances are made by berth); a
// resource app uses no resources itself.
func ValidateMeta(m *AppMeta) error {
	switch m.Type {
	case AppTypeApp, AppTypeService, AppTypeResource:
	default:
		return Invalid("invalid apptype %q: must be app, service or resource", m.Type)
	}
	seen := map[string]bool{}
	for _, p := range m.Procs {
		if err := ValidateProcSpec(p); err != nil {
			return err
		}
		if seen[p.Name] {
			return Invalid("proc %q is declared twice", p.Name)
		}
		seen[p.Name] = true
	}
	if m.Type == AppTypeResource && len(m.UseResources) > 0 {
		return Invalid("a resource app cannot use resources itself")
	}
	for i, r := range m.UseResources {
		if err := ValidateAppName(r); err != nil {
			return Invalid("use_resources: %v", err)
		}
		if slices.Contains(m.UseResources[:i], r) {
			return Invalid("use_resources: %q is listed twice", r)
		}
	}
	return nil
}

// ValidateMetaVersion checks a lain meta_version: a timestamp, a dash and a
// 40-digit commit hash.
func ValidateMetaVersion(v string) error {
	if !metaVersionRe.MatchString(v) {
		return Invalid("invalid meta_version %q: must match %s", v, metaVersionRe.String())
	}
	return nil
}

// ResourceInstanceName names the app that runs resource for client. No
// user-chosen name contains a dot, so these names never collide with one.
func ResourceInstanceName(resource, client string) string {
	return fmt.Sprintf("resource.%s.%s", resource, client)
}

// ResourceInstancePrefix is what the names of every instance of resource
// start with.
func ResourceInstancePrefix(resource string) string { return "resource." + resource + "." }

// WebProc is the proc an app runs when it gets an image without declaring
// any (a tsuru or Akkeris app, not a lain one): one unit, as Akkeris's
// default formation.
const WebProc = "web"

// DefaultWebProc is that proc at its default size.
func DefaultWebProc(now time.Time) Proc {
	return Proc{Name: WebProc, NumInstances: DefaultProcInstances, CPU: DefaultProcCPU, Memory: DefaultProcMemory, State: StateDeployed, UpdatedAt: now}
}

// ProcScale is a change to a deployed proc: the instance count alone, or
// cpu and/or memory. Nil fields are left as they are.
type ProcScale struct {
	NumInstances *int
	CPU          *int
	Memory       *string
}

// Validate checks the change on its own, before any proc is looked at.
func (s ProcScale) Validate() error {
	if s.NumInstances == nil && s.CPU == nil && s.Memory == nil {
		return Invalid("missing parameters: num_instances OR cpu OR memory")
	}
	if s.NumInstances != nil && (s.CPU != nil || s.Memory != nil) {
		return Invalid("scale num_instances should be a separate operation: change num_instances alone, or cpu and/or memory")
	}
	if s.NumInstances != nil {
		if err := ValidateProcInstances(*s.NumInstances); err != nil {
			return err
		}
	}
	if s.CPU != nil {
		if err := ValidateProcCPU(*s.CPU); err != nil {
			return err
		}
	}
	if s.Memory != nil {
		if err := ValidateMemory(*s.Memory); err != nil {
			return err
		}
	}
	return nil
}

// DeclaredProc returns the proc called name that the app's meta declares,
// or nil.
func (a *App) DeclaredProc(name string) *ProcSpec {
	if a.Meta == nil {
		return nil
	}
	for i := range a.Meta.Procs {
		if a.Meta.Procs[i].Name == name {
			return &a.Meta.Procs[i]
		}
	}
	return nil
}

// UsedResources returns the resources the app's meta declares.
func (a *App) UsedResources() []string {
	if a.Meta == nil {
		return nil
	}
	return a.Meta.UseResources
}

// ResourceInstances returns the names of the resource instances a deployed
// app runs with: one per used resource.
func (a *App) ResourceInstances() []string {
	if !a.Deployed {
		return nil
	}
	var names []string
	for _, r := range a.UsedResources() {
		names = append(names, ResourceInstanceName(r, a.Name))
	}
	return names
}

// DeployDeclaredProcs makes the deployed procs exactly the declared ones:
// every declared proc runs with its declared size, procs no longer declared
// stop. A resource app runs nothing: its procs run in its instances. Units
// follow.
func (a *App) DeployDeclaredProcs(now time.Time) {
	var procs []Proc
	if a.Meta != nil && a.Type != AppTypeResource {
		for _, spec := range a.Meta.Procs {
			procs = append(procs, a.procFrom(spec, now))
		}
	}
	a.Procs = procs
	a.SyncUnits()
}

// DeployProc starts one declared proc.
func (a *App) DeployProc(spec ProcSpec, now time.Time) {
	a.Procs = append(a.Procs, a.procFrom(spec, now))
	a.SyncUnits()
}

// UndeployProc stops the deployed proc called name.
func (a *App) UndeployProc(name string) {
	a.Procs = slices.DeleteFunc(a.Procs, func(p Proc) bool { return p.Name == name })
	a.SyncUnits()
}

// ApplyScale changes a declared proc and, when it runs, the deployed proc:
// the declaration is the desired state, so a later redeploy keeps the new
// size (lain patches a redeploy with the running instance count, too).
func (a *App) ApplyScale(name string, s ProcScale, now time.Time) {
	spec := a.DeclaredProc(name)
	if s.NumInstances != nil {
		spec.NumInstances = *s.NumInstances
	}
	if s.CPU != nil {
		spec.CPU = *s.CPU
	}
	if s.Memory != nil {
		spec.Memory = *s.Memory
	}
	if p := a.Proc(name); p != nil {
		*p = a.procFrom(*spec, now)
	}
	a.SyncUnits()
}

// procFrom is the deployed form of spec. A proc whose size is unchanged
// keeps its UpdatedAt.
func (a *App) procFrom(spec ProcSpec, now time.Time) Proc {
	p := Proc{Name: spec.Name, NumInstances: spec.NumInstances, CPU: spec.CPU, Memory: spec.Memory,
		Command: spec.Command, Port: spec.Port, State: StateDeployed, UpdatedAt: now}
	if old := a.Proc(spec.Name); old != nil && old.NumInstances == p.NumInstances && old.CPU == p.CPU && old.Memory == p.Memory &&
		slices.Equal(old.Command, p.Command) && old.Port == p.Port {
		p.UpdatedAt = old.UpdatedAt
	}
	return p
}
