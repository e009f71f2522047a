package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine/badger"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMigrateUsersToSchema4: data of schema 2 (users keyed by the address
// as given, no ids) comes out with an id for every user, users and the
// indexes that name them keyed by the address in lower case, app tokens
// carrying their user's id, and two accounts that differed only by case
// settled: the older keeps the address, the newer goes with its tokens,
// memberships and maintainer roles. A second run changes nothing.
func TestMigrateUsersToSchema4(t *testing.T) {
	e, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	older := domain.User{Email: "ana@example.com", PasswordHash: []byte("h-old"), CreatedAt: t0}
	newer := domain.User{Email: "Ana@Example.com", PasswordHash: []byte("h-new"), CreatedAt: t0.Add(time.Hour)}
	bo := domain.User{Email: "Bo@Example.com", PasswordHash: []byte("h-bo"), CreatedAt: t0, QuotaInUse: 1}
	tokenOf := func(id, email string) (domain.AppToken, []byte) {
		h := bytes.Repeat([]byte(id[:1]), 32)
		return domain.AppToken{ID: id, Hash: h, UserEmail: email, CreatedAt: t0}, h
	}
	tNewer, hNewer := tokenOf("n-token", newer.Email)
	tOlder, hOlder := tokenOf("o-token", older.Email)
	tBo, hBo := tokenOf("b-token", bo.Email)
	tGone, hGone := tokenOf("g-token", "gone@example.com")
	kv := map[string][]byte{
		string(key(nsMeta, metaSchemaVersion)): []byte("2"),
		string(key(nsUser, older.Email)):       mustJSON(t, older),
		string(key(nsUser, newer.Email)):       mustJSON(t, newer),
		string(key(nsUser, bo.Email)):          mustJSON(t, bo),
		// devs has all three; ops only the newer account, which goes.
		string(key(nsTeam, "devs")):                         mustJSON(t, domain.Team{Name: "devs", Members: []string{older.Email, newer.Email, bo.Email}}),
		string(key(nsTeam, "ops")):                          mustJSON(t, domain.Team{Name: "ops", Members: []string{newer.Email}}),
		string(key(nsTeamByMember, older.Email, "devs")):    nil,
		string(key(nsTeamByMember, newer.Email, "devs")):    nil,
		string(key(nsTeamByMember, bo.Email, "devs")):       nil,
		string(key(nsTeamByMember, newer.Email, "ops")):     nil,
		string(key(nsApp, "web")):                           mustJSON(t, domain.App{ID: "app-web", Name: "web", Maintainers: []domain.Maintainer{{Username: newer.Email, Role: domain.RoleOwner}, {Username: bo.Email, Role: domain.RoleMaintainer}}}),
		string(key(nsAppByMaint, newer.Email, "web")):       nil,
		string(key(nsAppByMaint, bo.Email, "web")):          nil,
		string(key(nsAppToken, hex.EncodeToString(hNewer))): mustJSON(t, tNewer),
		string(key(nsTokenByUser, newer.Email, tNewer.ID)):  []byte(hex.EncodeToString(hNewer)),
		string(key(nsAppToken, hex.EncodeToString(hOlder))): mustJSON(t, tOlder),
		string(key(nsTokenByUser, older.Email, tOlder.ID)):  []byte(hex.EncodeToString(hOlder)),
		string(key(nsAppToken, hex.EncodeToString(hBo))):    mustJSON(t, tBo),
		string(key(nsTokenByUser, bo.Email, tBo.ID)):        []byte(hex.EncodeToString(hBo)),
		string(key(nsAppToken, hex.EncodeToString(hGone))):  mustJSON(t, tGone),
		string(key(nsTokenByUser, "gone@example.com", "g")): []byte(hex.EncodeToString(hGone)),
	}
	rawPut(t, e, kv)
	var logged bytes.Buffer
	ctx := context.Background()
	s, err := New(ctx, e, Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.schemaVersion(ctx); v != SchemaVersion {
		t.Fatalf("schema after migration: %d", v)
	}
	if !strings.Contains(logged.String(), "kept=ana@example.com removed=Ana@Example.com") {
		t.Errorf("the log does not name the accounts that clashed:\n%s", logged.String())
	}

	ids := map[string]string{}
	check := func(run string) {
		err := s.View(ctx, func(tx *Tx) error {
			for _, who := range []string{"ANA@example.com", "ana@example.com", "Ana@Example.com"} {
				u, err := tx.User(who)
				if err != nil || u.Email != older.Email || string(u.PasswordHash) != "h-old" || u.ID == "" {
					t.Errorf("%s: User(%s) = %+v, %v; want the older account with an id", run, who, u, err)
				}
			}
			u, err := tx.User("bo@example.com")
			if err != nil || u.Email != bo.Email || u.ID == "" || u.QuotaInUse != 1 {
				t.Errorf("%s: User(bo@example.com) = %+v, %v; want Bo@Example.com as given, with an id", run, u, err)
			} else {
				if prev, ok := ids[u.Email]; ok && prev != u.ID {
					t.Errorf("%s: Bo's id changed: %s -> %s", run, prev, u.ID)
				}
				ids[u.Email] = u.ID
			}
			users, _, err := tx.ListUsers(Page{})
			if err != nil || len(users) != 2 {
				t.Errorf("%s: %d users, %v; want 2", run, len(users), err)
			}
			devs, err := tx.Team("devs")
			if err != nil || !slices.Equal(devs.Members, []string{older.Email, bo.Email}) {
				t.Errorf("%s: devs = %+v, %v", run, devs, err)
			}
			ops, err := tx.Team("ops")
			if err != nil || len(ops.Members) != 0 {
				t.Errorf("%s: ops = %+v, %v; want it kept without members", run, ops, err)
			}
			if teams, _ := tx.TeamsOf("ANA@EXAMPLE.COM"); !slices.Equal(teams, []string{"devs"}) {
				t.Errorf("%s: teams of ana: %v; want [devs] (ops was the removed account's)", run, teams)
			}
			if teams, _ := tx.TeamsOf("bo@example.com"); !slices.Equal(teams, []string{"devs"}) {
				t.Errorf("%s: teams of bo by the folded address: %v", run, teams)
			}
			web, err := tx.App("web")
			if err != nil || len(web.Maintainers) != 1 || web.Maintainers[0].Username != bo.Email {
				t.Errorf("%s: web's maintainers: %+v, %v; want Bo only", run, web, err)
			}
			apps, _, err := tx.ListApps(appFilterMaintainer("BO@example.com"), Page{})
			if err != nil || len(apps) != 1 {
				t.Errorf("%s: apps Bo maintains, by the folded index: %d, %v", run, len(apps), err)
			}
			if apps, _, _ := tx.ListApps(appFilterMaintainer("ana@example.com"), Page{}); len(apps) != 0 {
				t.Errorf("%s: the older account inherited the removed one's maintainer role", run)
			}
			if _, err := tx.AppToken(hNewer); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("%s: the removed account's token survived: %v", run, err)
			}
			if _, err := tx.AppToken(hGone); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("%s: a token of no user survived: %v", run, err)
			}
			for email, h := range map[string][]byte{"ana@example.com": hOlder, "bo@example.com": hBo} {
				tok, err := tx.AppToken(h)
				owner, _ := tx.User(email)
				if err != nil || owner == nil || tok.UserID != owner.ID {
					t.Errorf("%s: token of %s: %+v, %v; want its user's id", run, email, tok, err)
				}
				if list, _ := tx.AppTokensOf(strings.ToUpper(email)); len(list) != 1 {
					t.Errorf("%s: tokens of %s by the folded index: %d", run, email, len(list))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("after the migration")
	// A migration that crashed half way runs again: running it on migrated
	// data changes nothing.
	if err := migrateUsers(ctx, s, time.Now()); err != nil {
		t.Fatal(err)
	}
	check("after running it again")
}

func appFilterMaintainer(email string) persist.AppFilter {
	return persist.AppFilter{Scope: domain.AppScope{Maintainer: email}}
}
