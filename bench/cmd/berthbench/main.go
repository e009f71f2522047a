// Command berthbench measures berthd under load and writes the results,
// each figure beside a baseline measured in the same run, to a Markdown
// report (bench/RESULTS.md by `make bench`).
//
// It builds berthd and the Terraform provider from the module it runs in,
// starts berthd as a child process on a data directory in a temporary
// directory (Badger with SyncWrites on, as always) and drives it over
// loopback HTTP exactly as users do; every app, user and stack is made
// through the API. Phases:
//
//	reads      GET /apps/{app} at 32 connections vs. a bare net/http server
//	           answering the same bytes
//	leases     POST /stacks/request + /stacks/release cycles from 64
//	           clients, checking that no stack is ever held twice
//	logins     other users' GET /apps/{app} while 64 clients send bad
//	           passwords and reset tokens, vs. the same on an idle berthd
//	scale      get/list/lease latency with 100 and with 100,000 apps and
//	           stacks, and berthd's memory
//	terraform  terraform apply of 100 berth_app vs. 100 terraform_data
//
// Usage:
//
//	go run ./bench/cmd/berthbench [-out bench/RESULTS.md] [-only reads,leases,logins,scale,terraform]
//
// bench/README.md describes the method and the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		if err := runBaseline(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "berthbench baseline:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "berthbench:", err)
		}
		os.Exit(1)
	}
}

var phases = []string{"reads", "leases", "logins", "scale", "terraform"}

type config struct {
	out       string
	only      []string
	window    time.Duration
	scaleApps int
	keep      bool
	profile   bool
	timeout   time.Duration
	terraform string
	provider  string
}

// bench is one run: its configuration, working directory and findings.
type bench struct {
	cfg      config
	root     string // module root
	dir      string // temporary working directory
	berthd   string // berthd binary
	provider string // provider binary
	// noopProvider serves a resource that does nothing: the plugin floor.
	noopProvider string
	report       *report
	log          io.Writer
}

func run(args []string, stdout io.Writer) error {
	cfg := config{}
	fs := flag.NewFlagSet("berthbench", flag.ContinueOnError)
	fs.StringVar(&cfg.out, "out", "", `write the report here ("-": standard output only) (default: the module's bench/RESULTS.md)`)
	only := fs.String("only", strings.Join(phases, ","), "comma-separated phases to run: "+strings.Join(phases, ", "))
	fs.DurationVar(&cfg.window, "window", 4*time.Second, "measured time of each throughput run (after a 1s warm-up)")
	fs.IntVar(&cfg.scaleApps, "scale", 100_000, "apps and stacks of the large case of the scale phase")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the working directory (data, logs, profiles)")
	fs.BoolVar(&cfg.profile, "profile", false, "save a CPU profile of berthd during each load run (implies -keep)")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.StringVar(&cfg.terraform, "terraform", "", "terraform CLI (default: terraform on PATH)")
	fs.StringVar(&cfg.provider, "provider", "", "use this terraform-provider-berth binary instead of building one from the module")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.only = strings.Split(*only, ",")
	for _, p := range cfg.only {
		if !slices.Contains(phases, p) {
			return fmt.Errorf("unknown phase %q: want some of %s", p, strings.Join(phases, ", "))
		}
	}
	cfg.keep = cfg.keep || cfg.profile

	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	if cfg.out == "" {
		cfg.out = filepath.Join(root, "bench", "RESULTS.md")
	}
	dir, err := os.MkdirTemp("", "berthbench-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintln(stdout, "working directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{cfg: cfg, root: root, dir: dir, log: stdout}
	b.report = newReport(ctx, root, args)
	b.logf("building berthd and the provider")
	if b.berthd, b.provider, b.noopProvider, err = buildBinaries(ctx, root, filepath.Join(dir, "bin")); err != nil {
		return err
	}
	if cfg.provider != "" {
		if filepath.Base(cfg.provider) != "terraform-provider-berth" {
			return fmt.Errorf("-provider %s: Terraform's dev_overrides want a file called terraform-provider-berth", cfg.provider)
		}
		if b.provider, err = filepath.Abs(cfg.provider); err != nil {
			return err
		}
	}

	var failed []error
	for _, p := range phases {
		if !slices.Contains(cfg.only, p) {
			continue
		}
		b.logf("== %s", p)
		b.report.load("before " + p)
		var err error
		switch p {
		case "reads":
			err = b.reads(ctx)
		case "leases":
			err = b.leases(ctx)
		case "logins":
			err = b.logins(ctx)
		case "scale":
			err = b.scale(ctx)
		case "terraform":
			err = b.terraform(ctx)
		}
		if err != nil {
			b.logf("%s failed: %v", p, err)
			b.report.failure(p, err)
			failed = append(failed, fmt.Errorf("%s: %w", p, err))
		}
	}
	b.report.load("at the end")
	text := b.report.markdown()
	if cfg.out == "-" {
		fmt.Fprint(stdout, text)
	} else {
		if err := os.WriteFile(cfg.out, []byte(text), 0o644); err != nil {
			return err
		}
		fmt.Fprint(stdout, b.report.summary())
		fmt.Fprintln(stdout, "report written to", cfg.out)
	}
	return errors.Join(failed...)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// startBerthd starts a berthd on a new data directory called name.
func (b *bench) startBerthd(ctx context.Context, name string) (*server, error) {
	var extra []string
	if b.cfg.profile {
		extra = append(extra, "--pprof", "127.0.0.1:0")
	}
	return startBerthd(ctx, b.berthd, filepath.Join(b.dir, name), filepath.Join(b.dir, name+".log"), extra...)
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run berthbench inside the berth module")
	}
	return filepath.Dir(mod), nil
}
