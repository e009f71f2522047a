package domain

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Stage is the place of an app in a pipeline (Akkeris).
type Stage string

const (
	StageReview      Stage = "review"
	StageDevelopment Stage = "development"
	StageStaging     Stage = "staging"
	StageProduction  Stage = "production"
)

// Stages lists the pipeline stages in promotion order: code moves from each
// stage to the next one only.
var Stages = []Stage{StageReview, StageDevelopment, StageStaging, StageProduction}

// ValidStage reports whether s is one of the four stages.
func ValidStage(s Stage) bool { return slices.Contains(Stages, s) }

// NextStage returns the stage a promotion from s goes to; false for the last
// stage (and for anything that is not a stage).
func NextStage(s Stage) (Stage, bool) {
	i := slices.Index(Stages, s)
	if i < 0 || i == len(Stages)-1 {
		return "", false
	}
	return Stages[i+1], true
}

// StageRank is the position of s in Stages, for ordering.
func StageRank(s Stage) int { return slices.Index(Stages, s) }

// Pipeline groups apps that promote code from one stage to the next. Team
// owns it (MayPipeline): its members see and change it, its couplings and
// their gates, and its promotions.
type Pipeline struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Team      string    `json:"team"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ValidatePipelineName checks a pipeline name. The spec says "alphanumeric,
// less than 24 characters", but its own example has hyphens; berth accepts
// what the example shows. No UUID matches, so a name never reads as an id.
func ValidatePipelineName(name string) error {
	if !pipelineNameRe.MatchString(name) {
		return Invalid("invalid pipeline name %q: it must start with a lowercase letter and contain only lowercase letters, digits and hyphens, 3 to 23 characters", name)
	}
	return nil
}

// Coupling puts an app in a pipeline at a stage. RequiredStatusChecks are
// the release status contexts that must be successful on a release before
// it may be promoted to this app.
type Coupling struct {
	ID                   string    `json:"id"`
	PipelineID           string    `json:"pipeline_id"`
	PipelineName         string    `json:"pipeline_name"`
	AppID                string    `json:"app_id"`
	AppName              string    `json:"app_name"`
	Stage                Stage     `json:"stage"`
	RequiredStatusChecks []string  `json:"required_status_checks"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// CheckRequiredStatusChecks validates the contexts a coupling requires and
// returns them without duplicates, in the order given.
func CheckRequiredStatusChecks(stage Stage, contexts []string) ([]string, error) {
	out := make([]string, 0, len(contexts))
	for _, c := range contexts {
		if err := ValidateStatusContext(c); err != nil {
			return nil, err
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if stage == StageReview && len(out) > 0 {
		return nil, Unprocessable("status checks are not allowed on the review stage")
	}
	return out, nil
}

// ValidateStatusContext checks a release status context, as Akkeris does:
// 6 to 31 letters, digits and the characters . / \ + -.
func ValidateStatusContext(c string) error {
	if !statusContextRe.MatchString(c) {
		return Invalid("invalid status context %q: it must be 6 to 31 letters, digits or the characters ./\\+-", c)
	}
	return nil
}

const (
	maxStatusName      = 255
	maxDescription     = 4096
	maxStatusTargetURL = 2048
	maxReleaseSource   = 512
)

// ValidateReleaseInput checks what a release is made of: exactly one of an
// image or a meta_version (lain's version string), and its description.
func ValidateReleaseInput(image, metaVersion, description string) error {
	switch {
	case image == "" && metaVersion == "":
		return Invalid("a release needs an image or a meta_version")
	case image != "" && metaVersion != "":
		return Invalid("a release has an image or a meta_version, not both")
	}
	for _, f := range []struct{ name, v string }{{"image", image}, {"meta_version", metaVersion}} {
		if err := CheckLabel(f.name, f.v, maxReleaseSource); err != nil {
			return err
		}
		if strings.ContainsFunc(f.v, unicode.IsSpace) {
			return Invalid("%s must not contain spaces", f.name)
		}
	}
	return CheckDescription(description)
}

// CheckDescription checks a description of a release, a status or an app.
func CheckDescription(d string) error { return CheckProse("description", d, maxDescription) }

// ReleaseStatusInput is what CI sends to create or change a release status.
// Nil fields are left as they are on a change.
type ReleaseStatusInput struct {
	Context     string
	Name        *string
	State       *string
	Description *string
	TargetURL   *string
}

// Validate checks the fields that are set.
func (in ReleaseStatusInput) Validate() error {
	if in.State != nil && !ValidStatusState(*in.State) {
		return Invalid("invalid state %q: must be pending, success, failure or error", *in.State)
	}
	// Status names end up in store keys, where NUL separates components.
	if in.Name != nil {
		if err := CheckLabel("name", *in.Name, maxStatusName); err != nil {
			return err
		}
	}
	if in.Description != nil {
		if err := CheckDescription(*in.Description); err != nil {
			return err
		}
	}
	if in.TargetURL != nil && *in.TargetURL != "" {
		if err := CheckHTTPURL("target_url", *in.TargetURL, maxStatusTargetURL); err != nil {
			return err
		}
	}
	return nil
}

// ValidStatusState reports whether s is a release status state.
func ValidStatusState(s string) bool {
	switch s {
	case StatusPending, StatusSuccess, StatusFailure, StatusError:
		return true
	}
	return false
}

// Status returns the release's status with that context, or nil.
func (r *Release) Status(context string) *ReleaseStatus {
	for i := range r.Statuses {
		if r.Statuses[i].Context == context {
			return &r.Statuses[i]
		}
	}
	return nil
}

// StatusByID returns the release's status with that id, or nil.
func (r *Release) StatusByID(id string) *ReleaseStatus {
	for i := range r.Statuses {
		if r.Statuses[i].ID == id {
			return &r.Statuses[i]
		}
	}
	return nil
}

// CombinedState sums up the release's statuses as Akkeris does: failure
// when any failed or errored, pending when any is pending, else success
// (also when there are none).
func (r *Release) CombinedState() string {
	state := StatusSuccess
	for _, st := range r.Statuses {
		switch st.State {
		case StatusFailure, StatusError:
			return StatusFailure
		case StatusPending:
			state = StatusPending
		}
	}
	return state
}

// UnmetStatusChecks returns one line per required context that is missing
// from the release or not in state success.
func (r *Release) UnmetStatusChecks(required []string) []string {
	var out []string
	for _, c := range required {
		st := r.Status(c)
		switch {
		case st == nil:
			out = append(out, fmt.Sprintf("required status check %q is missing on release v%d of %s", c, r.Version, r.AppName))
		case st.State != StatusSuccess:
			out = append(out, fmt.Sprintf("required status check %q is %s on release v%d of %s", c, st.State, r.Version, r.AppName))
		}
	}
	return out
}

// Promotion and promotion target states.
const (
	PromotionPending    = "pending"
	PromotionSuccessful = "successful"
	PromotionFailed     = "failed"
)

// Promotion copies one release of a source app to the apps of the next
// stage of a pipeline. It is created pending and carried out target by
// target; each target records its own outcome.
type Promotion struct {
	ID           string `json:"id"`
	PipelineID   string `json:"pipeline_id"`
	PipelineName string `json:"pipeline_name"`
	// Team is the pipeline's team when the promotion was made: it keeps
	// owning the promotion after the pipeline is deleted.
	Team            string            `json:"team"`
	SourceAppID     string            `json:"source_app_id"`
	SourceAppName   string            `json:"source_app_name"`
	SourceReleaseID string            `json:"source_release_id"`
	SourceVersion   int               `json:"source_version"`
	Safe            bool              `json:"safe"`
	Status          string            `json:"status"`
	Targets         []PromotionTarget `json:"targets"`
	CreatedBy       string            `json:"created_by"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

// PromotionTarget is the outcome of a promotion on one target app.
// ReleaseID is the release the promotion made there, once it has.
type PromotionTarget struct {
	ID           string    `json:"id"`
	AppID        string    `json:"app_id"`
	AppName      string    `json:"app_name"`
	ReleaseID    string    `json:"release_id,omitempty"`
	Status       string    `json:"status"`
	ErrorMessage string    `json:"error_message,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// NextPendingTarget returns the index of the first target not yet carried
// out, or -1.
func (p *Promotion) NextPendingTarget() int {
	for i, t := range p.Targets {
		if t.Status == PromotionPending {
			return i
		}
	}
	return -1
}

// Settle ends the promotion once no target is pending: successful when
// every target was, else failed. It reports whether the promotion ended.
func (p *Promotion) Settle(now time.Time) bool {
	if p.Status != PromotionPending || p.NextPendingTarget() >= 0 {
		return false
	}
	p.Status = PromotionSuccessful
	for _, t := range p.Targets {
		if t.Status != PromotionSuccessful {
			p.Status = PromotionFailed
		}
	}
	p.UpdatedAt = now
	return true
}

// SafePromotionDifferences compares what a safe promotion requires to be
// alike on source and target: the names of their config vars and the
// services bound to them, both ways. Values are not compared, and the vars a
// binding exported count as the service, not as config. It returns one line
// per difference, in a stable order.
func SafePromotionDifferences(source, target *App) []string {
	var out []string
	srcVars, dstVars := envNames(source), envNames(target)
	out = append(out, missingFrom("config var %q is set on %s but not on %s", srcVars, dstVars, source.Name, target.Name)...)
	out = append(out, missingFrom("config var %q is set on %s but not on %s", dstVars, srcVars, target.Name, source.Name)...)
	srcSvcs, dstSvcs := boundServices(source), boundServices(target)
	out = append(out, missingFrom("service %q is bound to %s but not to %s", srcSvcs, dstSvcs, source.Name, target.Name)...)
	out = append(out, missingFrom("service %q is bound to %s but not to %s", dstSvcs, srcSvcs, target.Name, source.Name)...)
	return out
}

func envNames(a *App) map[string]bool {
	m := make(map[string]bool, len(a.Env))
	for name, v := range a.Env {
		if v.Instance != "" || name == ServicesEnvVar {
			continue
		}
		m[name] = true
	}
	return m
}

func boundServices(a *App) map[string]bool {
	m := make(map[string]bool, len(a.Bindings))
	for _, b := range a.Bindings {
		m[b.Service] = true
	}
	return m
}

// missingFrom describes, with format, each entry of have that want lacks.
func missingFrom(format string, have, want map[string]bool, haveApp, wantApp string) []string {
	var names []string
	for n := range have {
		if !want[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf(format, n, haveApp, wantApp)
	}
	return out
}

// StatusContext is a context and name seen on release statuses; a pipeline
// lists those of its apps so that users can pick required status checks.
type StatusContext struct {
	Context string `json:"context"`
	Name    string `json:"name"`
}
