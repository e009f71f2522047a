package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

const (
	tfResources   = 100
	tfParallelism = 10
	tfRounds      = 3
)

// tfConfig is one Terraform configuration of the comparison.
type tfConfig struct {
	name    string
	dir     string
	applies []time.Duration
	// berthd's side of the applies: requests and their summed durations.
	requests   int
	serverTime time.Duration
	// CPU used by terraform with its provider processes, and by berthd.
	cliCPU, berthdCPU time.Duration
}

// terraform times `terraform apply` (the real CLI) of tfResources berth_app
// against as many built-in terraform_data resources, alternating, tfRounds
// times each, with a destroy after each apply. The provider is this
// module's, wired in by dev_overrides in a CLI configuration of the run.
func (b *bench) terraform(ctx context.Context) error {
	tf := b.cfg.terraform
	if tf == "" {
		var err error
		if tf, err = exec.LookPath("terraform"); err != nil {
			return fmt.Errorf("the terraform CLI is not on PATH (or pass -terraform): %w", err)
		}
	}
	srv, err := b.startBerthd(ctx, "terraform")
	logPath := filepath.Join(b.dir, "terraform.log")
	if err != nil {
		return err
	}
	defer srv.stop()
	f, err := newFixture(ctx, srv, 1, 1)
	if err != nil {
		return err
	}
	f.close()

	cliConfig := filepath.Join(b.dir, "terraformrc")
	err = os.WriteFile(cliConfig, fmt.Appendf(nil, `provider_installation {
  dev_overrides {
    "registry.terraform.io/berthdev/berth" = %q
    "registry.terraform.io/berthdev/noop"  = %q
  }
  direct {}
}
`, filepath.Dir(b.provider), filepath.Dir(b.noopProvider)), 0o644)
	if err != nil {
		return err
	}
	// berth_team, this provider's simplest resource (one POST, one GET),
	// tells what any resource of a plugin costs apart from berth_app's own
	// work.
	configs := []*tfConfig{
		{name: "terraform_data", dir: filepath.Join(b.dir, "tf-data")},
		{name: "berth_app", dir: filepath.Join(b.dir, "tf-app")},
		{name: "berth_team", dir: filepath.Join(b.dir, "tf-team")},
		// noop_thing does nothing at all (bench/noopprovider): the floor of
		// any terraform-plugin-framework resource on this machine.
		{name: "noop_thing", dir: filepath.Join(b.dir, "tf-noop")},
	}
	provider := fmt.Sprintf(`terraform {
  required_providers {
    berth = { source = "berthdev/berth" }
  }
}

provider "berth" {
  endpoint = %q
  token    = %q
}
`, srv.url, f.users[0].token)
	files := map[string]string{
		"terraform_data": fmt.Sprintf(`resource "terraform_data" "bench" {
  count = %d
  input = { name = "tf-app-${count.index}", team = %q, platform = "go" }
}
`, tfResources, benchTeam),
		"berth_app": provider + fmt.Sprintf(`
resource "berth_app" "bench" {
  count    = %d
  name     = "tf-app-${count.index}"
  team     = %q
  platform = "go"
}
`, tfResources, benchTeam),
		"noop_thing": fmt.Sprintf(`terraform {
  required_providers {
    noop = { source = "berthdev/noop" }
  }
}

resource "noop_thing" "bench" {
  count    = %d
  name     = "tf-app-${count.index}"
  team     = %q
  platform = "go"
}
`, tfResources, benchTeam),
		"berth_team": provider + fmt.Sprintf(`
resource "berth_team" "bench" {
  count = %d
  name  = "tf-team-${count.index}"
}
`, tfResources),
	}
	for _, c := range configs {
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(c.dir, "main.tf"), []byte(files[c.name]), 0o644); err != nil {
			return err
		}
	}
	var cliCPU time.Duration // of the last run
	terraform := func(c *tfConfig, args ...string) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, tf, args...)
		cmd.Dir = c.dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("terraform %s in %s: %v\n%s", strings.Join(args, " "), c.dir, err, tail(out, 2000))
		}
		// The rusage of a process waited for includes that of the
		// children it waited for: the provider's processes.
		cliCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return took, nil
	}
	flags := []string{"-auto-approve", "-input=false", "-no-color", fmt.Sprintf("-parallelism=%d", tfParallelism)}
	for round := range tfRounds {
		for _, c := range configs {
			b.logf("terraform: %s, round %d", c.name, round+1)
			logFrom, err := fileSize(logPath)
			if err != nil {
				return err
			}
			cpu0, err := srv.cpuTime()
			if err != nil {
				return err
			}
			took, err := terraform(c, append([]string{"apply"}, flags...)...)
			if err != nil {
				return err
			}
			cpu1, err := srv.cpuTime()
			if err != nil {
				return err
			}
			c.applies = append(c.applies, took)
			c.cliCPU += cliCPU
			c.berthdCPU += cpu1 - cpu0
			n, d, err := requestsLogged(logPath, logFrom)
			if err != nil {
				return err
			}
			c.requests += n
			c.serverTime += d
			if _, err := terraform(c, append([]string{"destroy"}, flags...)...); err != nil {
				return err
			}
		}
	}
	data, berth := median(configs[0].applies), median(configs[1].applies)
	r := float64(berth) / float64(data)
	b.report.add(row{
		figure:   fmt.Sprintf("terraform apply, %d resources, -parallelism=%d (median of %d)", tfResources, tfParallelism, tfRounds),
		berth:    ms(berth) + " (berth_app)",
		baseline: ms(data) + " (terraform_data)",
		ratio:    ratio(r),
		target:   "≤ 1.5x",
		met:      r <= 1.5,
	})
	floor := median(configs[3].applies)
	b.report.add(row{
		figure:   fmt.Sprintf("terraform apply, %d resources: the plugin floor (a framework resource that does nothing)", tfResources),
		berth:    ms(floor) + " (noop_thing)",
		baseline: ms(data) + " (terraform_data)",
		ratio:    ratio(float64(floor) / float64(data)),
	})
	b.report.add(row{
		figure:   fmt.Sprintf("terraform apply, %d resources: berth_app over the plugin floor", tfResources),
		berth:    ms(berth) + " (berth_app)",
		baseline: ms(floor) + " (noop_thing)",
		ratio:    ratio(float64(berth) / float64(floor)),
	})
	version, _ := exec.CommandContext(ctx, tf, "version").Output()
	team := median(configs[2].applies)
	lines := []string{
		fmt.Sprintf("`terraform apply -auto-approve -parallelism=%d` of %d `berth_app` (name, team, platform; the provider built from this module, wired in by `dev_overrides` in a `TF_CLI_CONFIG_FILE`) against %d built-in `terraform_data` holding the same attributes, in fresh working directories, alternating, %d rounds, each apply followed by a destroy (not timed). The time is the wall clock of the whole CLI run: plan, provider start and the %d creations. %s. For reference, %d `berth_team`, the provider's simplest resource, took %s (%s the baseline): what a resource served by a plugin costs whatever it does.", tfParallelism, tfResources, tfResources, tfRounds, tfResources, strings.TrimSpace(strings.SplitN(string(version), "\n", 2)[0]), tfResources, ms(team), ratio(float64(team)/float64(data))),
		"",
		"| configuration | applies (wall clock) | CPU of terraform and its provider per apply | CPU of berthd per apply | berthd requests per apply | their summed duration per apply |",
		"|---|---|---|---|---|---|",
	}
	for _, c := range configs {
		var ts []string
		for _, d := range c.applies {
			ts = append(ts, ms(d))
		}
		lines = append(lines, fmt.Sprintf("| %d %s | %s | %s | %s | %d | %s |", tfResources, c.name, strings.Join(ts, ", "), ms(c.cliCPU/tfRounds), ms(c.berthdCPU/tfRounds), c.requests/tfRounds, ms(c.serverTime/tfRounds)))
	}
	app := configs[1]
	lines = append(lines, "",
		fmt.Sprintf("CPU is user + system time: of the terraform process and the provider processes it ran (from their rusage), and of berthd (from /proc). The requests' durations come from berthd's access log; up to %d run at a time.", tfParallelism),
		"",
		fmt.Sprintf("`noop_thing` (bench/noopprovider) is a terraform-plugin-framework resource with berth_app's three attributes whose CRUD does nothing, served by its own plugin with the SDK's logs off as berth's: %d of them took %s, %s the built-in baseline. That is the floor of any framework resource on this machine (provider process starts, the plugin protocol, the framework), so the ≤ 1.5x target is below what a plugin can reach here; berth_app's own cost is the ratio over the floor.", tfResources, ms(floor), ratio(float64(floor)/float64(data))),
		"",
		fmt.Sprintf("berthd's share of the CPU of applying %d berth_app: %.0f%%. The rest is Terraform and the provider process (plugin protocol, framework, client), which a built-in resource does not pay.", tfResources, 100*float64(app.berthdCPU)/float64(app.berthdCPU+app.cliCPU)))
	b.report.section("Terraform", lines...)
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func fileSize(path string) (int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// requestsLogged counts the requests in berthd's access log past offset
// from and sums their durations.
func requestsLogged(path string, from int64) (int, time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	var n int
	var total time.Duration
	for line := range strings.Lines(string(b[min(from, int64(len(b))):])) {
		m := accessLogRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d, err := time.ParseDuration(m[1])
		if err != nil {
			return 0, 0, fmt.Errorf("access log line %q: %w", line, err)
		}
		n++
		total += d
	}
	return n, total, nil
}

var accessLogRe = regexp.MustCompile(`msg=request .* duration=(\S+)`)
