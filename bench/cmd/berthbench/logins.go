package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	loginAttackers = 64
	loginUsers     = 4
	loginRounds    = 2
)

// logins measures what a flood of bad credentials costs everyone else:
// loginUsers members of the bench team read their apps (GET /apps/{app}
// with a session, one closed-loop client each), first on an idle berthd,
// then while loginAttackers clients hammer the public routes that check a
// password or a reset token, each in a closed loop without waiting between
// attempts: a login with a wrong password and a reset with a wrong token
// for accounts that exist, in turn. berthd runs with its default bcrypt
// cost and its default attempt limits. The two alternate, loginRounds
// times each.
func (b *bench) logins(ctx context.Context) error {
	srv, err := b.startBerthd(ctx, "logins")
	if err != nil {
		return err
	}
	defer srv.stop()
	f, err := newFixture(ctx, srv, loginUsers, loginUsers)
	if err != nil {
		return err
	}
	defer f.close()
	if _, err := f.seedApps(ctx, 0, loginUsers); err != nil {
		return err
	}
	read := func(w int) (int, error) {
		_, err := f.http.call(ctx, http.MethodGet, "/apps/"+appName(w), bearer(f.users[w].token), nil, nil)
		return 0, err
	}

	attackers := newHTTPClient(srv.url, loginAttackers)
	defer attackers.close()
	var statuses sync.Map // status -> *atomic.Int64
	count := func(st int) {
		c, _ := statuses.LoadOrStore(st, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
	}
	attack := func(ctx context.Context, w int) error {
		for i := 0; ctx.Err() == nil; i++ {
			victim := f.users[(w+i)%len(f.users)].email
			path := "/users/" + victim + "/tokens"
			body := `{"password":"not-the-password"}`
			if i%2 == 1 {
				path, body = "/users/"+victim+"/password?token=not-the-token", ""
			}
			st, err := attackers.status(ctx, http.MethodPost, path, body)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			switch st {
			case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
				count(st)
			default:
				return fmt.Errorf("POST %s with a bad credential: %d", path, st)
			}
		}
		return nil
	}

	var idle, attacked []result
	var attackTime time.Duration
	for round := range loginRounds {
		b.logf("logins: idle, round %d", round+1)
		rs, err := closedLoop(ctx, loginUsers, 1, warmup, b.cfg.window, read)
		if err != nil {
			return err
		}
		idle = append(idle, rs[0])

		b.logf("logins: under attack, round %d", round+1)
		actx, stop := context.WithCancel(ctx)
		errs := make(chan error, loginAttackers)
		began := time.Now()
		for w := range loginAttackers {
			go func() { errs <- attack(actx, w) }()
		}
		rs, err = closedLoop(ctx, loginUsers, 1, warmup, b.cfg.window, read)
		stop()
		var attackErr error
		for range loginAttackers {
			attackErr = errors.Join(attackErr, <-errs)
		}
		attackTime += time.Since(began)
		if err != nil {
			return err
		}
		if attackErr != nil {
			return attackErr
		}
		attacked = append(attacked, rs[0])
	}

	idleR, attackedR := merge(idle...), merge(attacked...)
	r := float64(attackedR.p50()) / float64(idleR.p50())
	b.report.add(row{
		figure:   fmt.Sprintf("logins: p50 of GET /apps/{app} (%d users) while %d clients hammer login/reset with bad credentials", loginUsers, loginAttackers),
		berth:    ms(attackedR.p50()),
		baseline: ms(idleR.p50()) + " (idle)",
		ratio:    ratio(r),
		target:   "≤ 2x",
		met:      r <= 2,
	})
	var kinds []int
	var total int64
	statuses.Range(func(k, v any) bool {
		kinds = append(kinds, k.(int))
		total += v.(*atomic.Int64).Load()
		return true
	})
	slices.Sort(kinds)
	var answers []string
	for _, k := range kinds {
		c, _ := statuses.Load(k)
		answers = append(answers, fmt.Sprintf("%s %d", commas(c.(*atomic.Int64).Load()), k))
	}
	b.report.section("Logins under attack",
		fmt.Sprintf("%d users of the bench team each read their own app (`GET /apps/{app}`, session token), one closed-loop client each, for %s after %s of warm-up: on an idle berthd, then while %d other clients, each a keep-alive connection in a closed loop with no pause, send bad credentials for those users' accounts, alternating `POST /users/{email}/tokens` with a wrong password and `POST /users/{email}/password?token=` with a wrong reset token; %d alternating rounds of each. berthd runs with its defaults: bcrypt cost 10, at most half the cores hashing passwords at once, and login, sign-up and reset attempts limited per client address (30, then one a second) and per account (10, then one every 6 s), all clients here sharing 127.0.0.1; a refused attempt is answered 429 after a hold of 1 s, so a client that does not wait makes about one attempt a second per connection.", loginUsers, b.cfg.window, warmup, loginAttackers, loginRounds),
		"",
		"| | p50 | p99 | requests/s |",
		"|---|---|---|---|",
		fmt.Sprintf("| idle | %s | %s | %s |", ms(idleR.p50()), ms(idleR.p99()), perSec(idleR.perSecond())),
		fmt.Sprintf("| under attack | %s | %s | %s |", ms(attackedR.p50()), ms(attackedR.p99()), perSec(attackedR.perSecond())),
		"",
		fmt.Sprintf("The attackers' %s bad attempts (%s) were answered: %s. A wrong password (401) costs one bcrypt comparison; a wrong reset token (403) and a refused attempt (429, with Retry-After) cost none.", commas(total), perSec(float64(total)/attackTime.Seconds()), strings.Join(answers, ", ")),
	)
	return nil
}

// status sends a request with a JSON body (none when empty) and returns
// the answer's status, whatever it is.
func (c *httpClient) status(ctx context.Context, method, path, body string) (int, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
