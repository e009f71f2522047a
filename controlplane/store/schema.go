package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/engine"
)

// SchemaVersion is the layout of the data this berthd writes. It is stored
// with the data: an older berthd refuses data of a newer layout, a newer
// berthd migrates older data when it opens it.
const SchemaVersion = 4

const metaSchemaVersion = "schema-version"

// migration moves data from version to-1 to version to. It runs in as many
// transactions as it needs and must be safe to run again after a crash
// half way: the version only moves once it is done.
type migration struct {
	to   int
	what string
	run  func(ctx context.Context, s *Store, now time.Time) error
}

var migrations = []migration{
	{to: 2, what: "expiry kept as data instead of Badger TTLs; stored promotion counters", run: func(ctx context.Context, s *Store, now time.Time) error {
		if err := migrateExpiryToData(ctx, s, now); err != nil {
			return err
		}
		return countPromotions(ctx, s, now)
	}},
	{to: 3, what: "pipelines and promotions owned by a team", run: migratePipelineTeams},
	{to: 4, what: "users get ids and are keyed by their address in lower case; app tokens carry their user's id", run: migrateUsers},
}

// ErrNewerSchema: the data was written by a newer berthd.
var ErrNewerSchema = errors.New("the data was written by a newer berthd")

func (s *Store) checkSchema(ctx context.Context, now func() time.Time) error {
	v, err := s.schemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case v == SchemaVersion:
		return nil
	case v > SchemaVersion:
		return fmt.Errorf("%w: its schema version is %d, this berthd understands up to %d; run a berthd at least as new as the one that wrote it", ErrNewerSchema, v, SchemaVersion)
	case v == 0:
		// A new, empty store.
		return s.setSchemaVersion(ctx, SchemaVersion)
	}
	for _, m := range migrations {
		if m.to <= v {
			continue
		}
		s.log.Info("migrating the store", "from", m.to-1, "to", m.to, "what", m.what)
		if err := m.run(ctx, s, now()); err != nil {
			return fmt.Errorf("migrate the store from schema %d to %d (%s): %w", m.to-1, m.to, m.what, err)
		}
		if err := s.setSchemaVersion(ctx, m.to); err != nil {
			return err
		}
	}
	return nil
}

// schemaVersion reads the stored version: 0 for an empty store, 1 for data
// written before versions were stored.
func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	v := 0
	err := s.View(ctx, func(tx *Tx) error {
		b, err := tx.getRaw(key(nsMeta, metaSchemaVersion))
		switch {
		case err == nil:
			if v, err = strconv.Atoi(string(b)); err != nil || v < 1 {
				return fmt.Errorf("the stored schema version %q is not a version", b)
			}
			return nil
		case !errors.Is(err, errNoKey):
			return err
		}
		// No version: data from before versions were stored, or nothing.
		return tx.r.Scan(engine.Range{Limit: 1, KeysOnly: true}, func(_, _ []byte) error {
			v = 1
			return nil
		})
	})
	return v, err
}

func (s *Store) setSchemaVersion(ctx context.Context, v int) error {
	return s.Update(ctx, func(tx *Tx) error {
		return tx.putRaw(key(nsMeta, metaSchemaVersion), []byte(strconv.Itoa(v)))
	})
}

// migrateBatch bounds the records one migration transaction rewrites.
const migrateBatch = 500

// rewriteAll calls change for every record under pfx, a batch per
// transaction; change returns the new value, or nil to leave it.
func (s *Store) rewriteAll(ctx context.Context, pfx []byte, change func(tx *Tx, k, v []byte) error) error {
	after := ""
	for {
		var keys, values [][]byte
		err := s.View(ctx, func(tx *Tx) error {
			return tx.scan(pfx, after, migrateBatch, false, func(k, v []byte) error {
				keys, values = append(keys, bytes.Clone(k)), append(values, bytes.Clone(v))
				return nil
			})
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		err = s.Update(ctx, func(tx *Tx) error {
			for i, k := range keys {
				if err := change(tx, k, values[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		after = string(keys[len(keys)-1][len(pfx):])
	}
}

// maxSessionLifetime bounds how long a session revoked under schema 1 can
// still be presented: the longest session berthd issues is 30 days.
const maxSessionLifetime = 31 * 24 * time.Hour

// migrateExpiryToData: schema 1 let Badger expire revoked session ids and
// lease replays (TTL entries); schema 2 keeps the expiry in the record. A
// record already in the new form (a migration that crashed half way) is
// left alone.
func migrateExpiryToData(ctx context.Context, s *Store, now time.Time) error {
	err := s.rewriteAll(ctx, prefix(nsRevokedJTI), func(tx *Tx, k, v []byte) error {
		if len(v) != 0 {
			return nil
		}
		return tx.putExpiring(k, nil, now.Add(maxSessionLifetime))
	})
	if err != nil {
		return err
	}
	return s.rewriteAll(ctx, prefix(nsLeaseReplay), func(tx *Tx, k, v []byte) error {
		if len(v) == 0 || v[0] != '{' {
			return nil
		}
		var r domain.LeaseReplay
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("lease replay at %q: %s", truncateKey(k), jsonErrorKind(err))
		}
		return tx.putExpiring(k, v, r.CreatedAt.Add(domain.LeaseReplayWindow+time.Hour))
	})
}

// migratePipelineTeams: schema 2 pipelines had no owner; schema 3 gives
// each the team that owns the first app coupled to it (the earliest
// stage first), or, when no coupled app has one, the admin team, so that
// until someone moves it only admins see it. A promotion gets its
// pipeline's team, or when the pipeline is gone the team of its source
// app, or the admin team. Records that have a team already (a migration
// that crashed half way) are left alone.
func migratePipelineTeams(ctx context.Context, s *Store, _ time.Time) error {
	err := s.rewriteAll(ctx, prefix(nsPipeline), func(tx *Tx, k, v []byte) error {
		var p domain.Pipeline
		if err := decode(k, v, &p); err != nil {
			return err
		}
		if p.Team != "" {
			return nil
		}
		cs, _, err := tx.PipelineCouplings(p.ID, Page{})
		if err != nil {
			return err
		}
		p.Team = domain.AdminTeam
		for _, c := range cs {
			if team, err := tx.appTeamOwner(c.AppID); err != nil {
				return err
			} else if team != "" {
				p.Team = team
				break
			}
		}
		return tx.PutPipeline(&p)
	})
	if err != nil {
		return err
	}
	return s.rewriteAll(ctx, prefix(nsPromotion), func(tx *Tx, k, v []byte) error {
		var p domain.Promotion
		if err := decode(k, v, &p); err != nil {
			return err
		}
		if p.Team != "" {
			return nil
		}
		switch pl, err := tx.PipelineByID(p.PipelineID); {
		case err == nil:
			p.Team = pl.Team
		case !errors.Is(err, domain.ErrNotFound):
			return err
		}
		if p.Team == "" {
			team, err := tx.appTeamOwner(p.SourceAppID)
			if err != nil {
				return err
			}
			p.Team = cmp.Or(team, domain.AdminTeam)
		}
		return tx.PutPromotion(&p)
	})
}

// appTeamOwner is the owning team of the app with that id, or "" when
// there is no such app.
func (tx *Tx) appTeamOwner(appID string) (string, error) {
	a, err := tx.AppByID(appID)
	if errors.Is(err, domain.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return a.TeamOwner, nil
}
