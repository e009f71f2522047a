package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNextStage(t *testing.T) {
	for from, want := range map[Stage]Stage{StageReview: StageDevelopment, StageDevelopment: StageStaging, StageStaging: StageProduction} {
		if got, ok := NextStage(from); !ok || got != want {
			t.Errorf("after %s: %q %v, want %s", from, got, ok, want)
		}
	}
	for _, s := range []Stage{StageProduction, "qa", ""} {
		if got, ok := NextStage(s); ok {
			t.Errorf("after %q: %q", s, got)
		}
	}
}

func TestPipelineValidators(t *testing.T) {
	ok := []error{
		ValidatePipelineName("abc"),
		ValidatePipelineName("my-test-pipeline"),
		ValidatePipelineName("a" + strings.Repeat("b", 22)),
		ValidateStatusContext("ci/circleci"),
		ValidateStatusContext(`licenses\mit+v1.0`),
		ValidateStatusContext(strings.Repeat("x", 31)),
		ValidateReleaseInput("registry/web:1", "", ""),
		ValidateReleaseInput("", "1435893486-ead17cc", "notes\nwith lines"),
	}
	for i, err := range ok {
		if err != nil {
			t.Errorf("valid input %d refused: %v", i, err)
		}
	}
	bad := []error{
		ValidatePipelineName("ab"),
		ValidatePipelineName("a" + strings.Repeat("b", 23)),
		ValidatePipelineName("0abc"),
		ValidatePipelineName("abc_d"),
		ValidateStatusContext("ci/ok"),
		ValidateStatusContext(strings.Repeat("x", 32)),
		ValidateStatusContext("ci/with space"),
		ValidateReleaseInput("", "", ""),
		ValidateReleaseInput("a", "b", ""),
		ValidateReleaseInput("a b", "", ""),
		ValidateReleaseInput("a", "", strings.Repeat("x", 4097)),
	}
	for i, err := range bad {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("invalid input %d: %v", i, err)
		}
	}
	if _, err := CheckRequiredStatusChecks(StageReview, []string{"ci/circleci"}); !errors.Is(err, ErrUnprocessable) {
		t.Errorf("checks on review: %v", err)
	}
	if got, err := CheckRequiredStatusChecks(StageReview, nil); err != nil || len(got) != 0 {
		t.Errorf("no checks on review: %v %v", got, err)
	}
}

func TestCombinedState(t *testing.T) {
	r := &Release{}
	if r.CombinedState() != StatusSuccess {
		t.Errorf("no statuses: %s", r.CombinedState())
	}
	r.Statuses = []ReleaseStatus{{Context: "a/aaaaa", State: StatusSuccess}, {Context: "b/bbbbb", State: StatusPending}}
	if r.CombinedState() != StatusPending {
		t.Errorf("with a pending status: %s", r.CombinedState())
	}
	r.Statuses = append(r.Statuses, ReleaseStatus{Context: "c/ccccc", State: StatusError})
	if r.CombinedState() != StatusFailure {
		t.Errorf("with an error: %s", r.CombinedState())
	}
	unmet := r.UnmetStatusChecks([]string{"a/aaaaa", "b/bbbbb", "d/ddddd"})
	if len(unmet) != 2 || !strings.Contains(unmet[0], "b/bbbbb") || !strings.Contains(unmet[1], "missing") {
		t.Errorf("unmet: %q", unmet)
	}
}

func TestSettle(t *testing.T) {
	now := time.Now()
	p := &Promotion{Status: PromotionPending, Targets: []PromotionTarget{{Status: PromotionSuccessful}, {Status: PromotionPending}}}
	if p.Settle(now) || p.Status != PromotionPending || p.NextPendingTarget() != 1 {
		t.Fatalf("settled with a target pending: %+v", p)
	}
	p.Targets[1].Status = PromotionSuccessful
	if !p.Settle(now) || p.Status != PromotionSuccessful {
		t.Fatalf("all targets successful: %+v", p)
	}
	p = &Promotion{Status: PromotionPending, Targets: []PromotionTarget{{Status: PromotionFailed}, {Status: PromotionSuccessful}}}
	if !p.Settle(now) || p.Status != PromotionFailed {
		t.Fatalf("one target failed: %+v", p)
	}
	if p.Settle(now) {
		t.Fatal("an ended promotion settled again")
	}
}

func TestSafePromotionDifferences(t *testing.T) {
	src := &App{Name: "a", Env: map[string]EnvVar{"X": {Value: "1"}, "Y": {}}, Bindings: []Binding{{Service: "redis"}}}
	dst := &App{Name: "b", Env: map[string]EnvVar{
		"X":            {Value: "2"},
		"PG_URL":       {Value: "pg://", Instance: "pg-b", Service: "pg"},
		ServicesEnvVar: {Value: `{"pg":[]}`},
	}, Bindings: []Binding{{Service: "redis"}, {Service: "pg"}}}
	got := SafePromotionDifferences(src, dst)
	want := []string{`config var "Y" is set on a but not on b`, `service "pg" is bound to b but not to a`}
	if !slices.Equal(got, want) {
		t.Fatalf("differences: %q, want %q", got, want)
	}
	if d := SafePromotionDifferences(src, src); len(d) != 0 {
		t.Fatalf("an app differs from itself: %q", d)
	}
}
