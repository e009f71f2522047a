// Command client is a small example of the berth Go client, the way a CI
// job uses it: lease the test stack of the current git branch, print it,
// and release it.
//
//	BERTH_ENDPOINT=http://127.0.0.1:8080 BERTH_STACK_API_KEY=... go run ./examples/client
//
// A real job would deploy to the stack between the lease and the release
// (and record the commit it deployed with -commit).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/berthdev/terraform-provider-berth/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	endpoint := fs.String("endpoint", getenv("BERTH_ENDPOINT"), "berthd URL (env BERTH_ENDPOINT)")
	branch := fs.String("branch", "", "branch to lease a stack for (default: the current git branch)")
	commit := fs.String("commit", "", "record this commit as deployed on the stack before releasing it")
	ttl := fs.Duration("ttl", 15*time.Minute, "lease lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key := getenv("BERTH_STACK_API_KEY")
	if *endpoint == "" || key == "" {
		return errors.New("set BERTH_ENDPOINT (or -endpoint) and BERTH_STACK_API_KEY")
	}
	if *branch == "" {
		b, err := currentBranch(ctx)
		if err != nil {
			return err
		}
		*branch = b
	}

	c, err := client.New(*endpoint, client.WithProjectKey(key), client.WithUserAgent("berth-example-client"))
	if err != nil {
		return err
	}
	stack, _, err := c.Stacks.Request(ctx, client.StackRequest{Branch: *branch, TTL: *ttl})
	if err != nil {
		return fmt.Errorf("lease a stack for %s: %w", *branch, err)
	}
	// Whatever happens next, give the stack back: the next job needs it.
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, _, err := c.Stacks.Release(ctx, stack.StackName, stack.LeaseID); err != nil {
			fmt.Fprintf(os.Stderr, "release %s: %v\n", stack.StackName, err)
			return
		}
		fmt.Fprintf(out, "released %s\n", stack.StackName)
	}()

	if *commit != "" {
		if stack, _, err = c.Stacks.SetLastDeployedCommit(ctx, stack.StackName, *commit); err != nil {
			return fmt.Errorf("record commit: %w", err)
		}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(stack)
}

// currentBranch asks git, and falls back on the variables CI systems set
// when they check out a detached HEAD.
func currentBranch(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "git", "rev-parse", "--abbrev-ref", "HEAD").Output()
	if name := strings.TrimSpace(string(b)); err == nil && name != "HEAD" {
		return name, nil
	}
	for _, v := range []string{"GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BRANCH_NAME"} {
		if name := os.Getenv(v); name != "" {
			return name, nil
		}
	}
	return "", errors.New("cannot tell the current git branch: pass -branch")
}
