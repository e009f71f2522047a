package domain

import (
	"errors"
	"testing"
	"time"
)

func TestParseMemory(t *testing.T) {
	good := map[string]int64{
		"64M":     64 << 20,
		"64m":     64 << 20,
		"64MB":    64 << 20,
		"64MiB":   64 << 20,
		"64 M":    64 << 20,
		"1G":      1 << 30,
		"1.5G":    3 << 29,
		"2K":      2 << 10,
		"1T":      1 << 40,
		"1048576": 1 << 20,
		"100b":    100,
	}
	for in, want := range good {
		if got, err := ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "64X", "-1M", "64iB", "1e3", "64  M", " 64M", "1.G", "99999999999999999999T"} {
		if _, err := ParseMemory(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseMemory(%q): %v, want an invalid-input error", in, err)
		}
	}
}

func TestValidateMemoryBounds(t *testing.T) {
	for in, ok := range map[string]bool{"4M": true, "64G": true, "4095K": false, "64.001G": false, "3M": false} {
		if err := ValidateMemory(in); (err == nil) != ok {
			t.Errorf("ValidateMemory(%q) = %v", in, err)
		}
	}
}

func TestValidateMetaVersion(t *testing.T) {
	if err := ValidateMetaVersion("1435893486-ead17ccee6d904f8e01f339e9e96c00812c70756"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"", "1435893486", "-ead17ccee6d904f8e01f339e9e96c00812c70756", "1-EAD17CCEE6D904F8E01F339E9E96C00812C70756", "1-ead17cc", "1-ead17ccee6d904f8e01f339e9e96c00812c70756\n"} {
		if err := ValidateMetaVersion(v); err == nil {
			t.Errorf("meta_version %q accepted", v)
		}
	}
}

func TestProcScaleValidate(t *testing.T) {
	n, cpu, mem := 3, 2, "64M"
	cases := []struct {
		name  string
		scale ProcScale
		ok    bool
	}{
		{"instances", ProcScale{NumInstances: &n}, true},
		{"cpu", ProcScale{CPU: &cpu}, true},
		{"memory", ProcScale{Memory: &mem}, true},
		{"cpu and memory", ProcScale{CPU: &cpu, Memory: &mem}, true},
		{"nothing", ProcScale{}, false},
		{"instances and cpu", ProcScale{NumInstances: &n, CPU: &cpu}, false},
		{"instances and memory", ProcScale{NumInstances: &n, Memory: &mem}, false},
	}
	for _, c := range cases {
		if err := c.scale.Validate(); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestDeployDeclaredProcs(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &App{Name: "web", Type: AppTypeApp, Meta: &AppMeta{Procs: []ProcSpec{
		{Name: "web", NumInstances: 2, CPU: 1, Memory: "64M"},
		{Name: "worker", NumInstances: 1, CPU: 1, Memory: "64M"},
	}}}
	a.DeployDeclaredProcs(t0)
	if len(a.Procs) != 2 || len(a.Units) != 3 || a.Units[2].Proc != "worker" {
		t.Fatalf("procs %+v units %+v", a.Procs, a.Units)
	}
	// An unchanged proc keeps its time; a changed one gets the new one;
	// an undeclared one stops.
	t1 := t0.Add(time.Hour)
	a.Meta.Procs = []ProcSpec{{Name: "web", NumInstances: 2, CPU: 1, Memory: "64M"}, {Name: "cron", NumInstances: 1, CPU: 1, Memory: "32M"}}
	a.ApplyScale("web", ProcScale{NumInstances: new(int)}, t1)
	if a.Proc("web").NumInstances != 0 || a.Proc("web").UpdatedAt != t1 || a.DeclaredProc("web").NumInstances != 0 {
		t.Fatalf("scaled: %+v", a.Procs)
	}
	a.DeployDeclaredProcs(t1.Add(time.Hour))
	if a.Proc("worker") != nil || a.Proc("web").UpdatedAt != t1 || a.Proc("cron") == nil || len(a.Units) != 1 {
		t.Fatalf("redeployed: %+v %+v", a.Procs, a.Units)
	}
	// A resource runs nothing itself.
	a.Type = AppTypeResource
	a.DeployDeclaredProcs(t1)
	if len(a.Procs) != 0 || len(a.Units) != 0 {
		t.Fatalf("resource runs %+v", a.Procs)
	}
}

func TestResourceInstanceNames(t *testing.T) {
	name := ResourceInstanceName("redis", "web")
	if name != "resource.redis.web" || ValidateAppName(name) == nil {
		t.Fatalf("%q must be a name no user can choose", name)
	}
	a := &App{Name: "web", Meta: &AppMeta{UseResources: []string{"redis", "mysql"}}}
	if got := a.ResourceInstances(); got != nil {
		t.Fatalf("undeployed app runs instances %v", got)
	}
	a.Deployed = true
	if got := a.ResourceInstances(); len(got) != 2 || got[1] != "resource.mysql.web" {
		t.Fatalf("instances %v", got)
	}
}
