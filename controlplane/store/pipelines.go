package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
	"github.com/berthdev/terraform-provider-berth/controlplane/persist"
)

const (
	nsPipeline           = "pipeline"               // name -> Pipeline
	nsPipelineByID       = "idx-pipeline-id"        // id -> name
	nsPipelineByTeam     = "idx-pipeline-team"      // team, name -> ""
	nsCoupling           = "coupling"               // id -> Coupling
	nsCouplingByApp      = "idx-coupling-app"       // app id -> coupling id
	nsCouplingByPipeline = "idx-coupling-pipeline"  // pipeline id, "<stage rank>-<coupling id>" -> ""
	nsStatusContextByApp = "idx-status-context-app" // app id, context, name -> ""
)

// Pipeline returns the pipeline called name.
func (tx *Tx) Pipeline(name string) (*domain.Pipeline, error) {
	var p domain.Pipeline
	if err := tx.get(key(nsPipeline, name), &p); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("pipeline %q not found", name)
		}
		return nil, err
	}
	return &p, nil
}

// PipelineByID returns the pipeline with that UUID.
func (tx *Tx) PipelineByID(id string) (*domain.Pipeline, error) {
	name, err := tx.getRaw(key(nsPipelineByID, id))
	if errors.Is(err, errNoKey) {
		return nil, domain.NotFound("pipeline %q not found", id)
	}
	if err != nil {
		return nil, err
	}
	return tx.Pipeline(string(name))
}

// PipelineExists reports whether a pipeline is called name.
func (tx *Tx) PipelineExists(name string) (bool, error) { return tx.exists(key(nsPipeline, name)) }

// PutPipeline creates or replaces a pipeline and keeps its indexes in step.
func (tx *Tx) PutPipeline(p *domain.Pipeline) error {
	var old domain.Pipeline
	switch err := tx.get(key(nsPipeline, p.Name), &old); {
	case errors.Is(err, errNoKey):
	case err != nil:
		return err
	case old.Team != p.Team && old.Team != "":
		if err := tx.delete(key(nsPipelineByTeam, old.Team, p.Name)); err != nil {
			return err
		}
	}
	if p.Team != "" {
		if err := tx.putRaw(key(nsPipelineByTeam, p.Team, p.Name), nil); err != nil {
			return err
		}
	}
	if err := tx.putRaw(key(nsPipelineByID, p.ID), []byte(p.Name)); err != nil {
		return err
	}
	return tx.put(key(nsPipeline, p.Name), p)
}

// DeletePipeline removes a pipeline. Its couplings are the caller's to
// remove first.
func (tx *Tx) DeletePipeline(p *domain.Pipeline) error {
	if err := tx.delete(key(nsPipelineByTeam, p.Team, p.Name)); err != nil {
		return err
	}
	if err := tx.delete(key(nsPipelineByID, p.ID)); err != nil {
		return err
	}
	return tx.delete(key(nsPipeline, p.Name))
}

// ListPipelines returns one page of the pipelines f selects, ordered by
// name.
func (tx *Tx) ListPipelines(f persist.PipelineFilter, p Page) ([]domain.Pipeline, string, error) {
	if f.All {
		return scanPage[domain.Pipeline](tx, prefix(nsPipeline), p)
	}
	pfxs := make([][]byte, 0, len(f.Teams))
	for _, t := range f.Teams {
		pfxs = append(pfxs, prefix(nsPipelineByTeam, t))
	}
	names, err := tx.mergeIndexNames(pfxs, p.After, p.Limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]domain.Pipeline, 0, len(names))
	for _, n := range names {
		pl, err := tx.Pipeline(n)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *pl)
	}
	if p.Limit > 0 && len(out) == p.Limit {
		return out, names[len(names)-1], nil
	}
	return out, "", nil
}

// Coupling returns the coupling with that id.
func (tx *Tx) Coupling(id string) (*domain.Coupling, error) {
	var c domain.Coupling
	if err := tx.get(key(nsCoupling, id), &c); err != nil {
		if errors.Is(err, errNoKey) {
			return nil, domain.NotFound("pipeline coupling %q not found", id)
		}
		return nil, err
	}
	return &c, nil
}

// CouplingOfApp returns the coupling of an app; an app is in at most one
// pipeline.
func (tx *Tx) CouplingOfApp(appID string) (*domain.Coupling, error) {
	id, err := tx.getRaw(key(nsCouplingByApp, appID))
	if errors.Is(err, errNoKey) {
		return nil, domain.NotFound("app %q is not coupled to a pipeline", appID)
	}
	if err != nil {
		return nil, err
	}
	return tx.Coupling(string(id))
}

// couplingPipelineKey orders a pipeline's couplings by stage, then id.
func couplingPipelineKey(c *domain.Coupling) []byte {
	return key(nsCouplingByPipeline, c.PipelineID, fmt.Sprintf("%d-%s", domain.StageRank(c.Stage), c.ID))
}

// PutCoupling creates or replaces a coupling. The app and stage of a
// coupling never change.
func (tx *Tx) PutCoupling(c *domain.Coupling) error {
	if err := tx.putRaw(key(nsCouplingByApp, c.AppID), []byte(c.ID)); err != nil {
		return err
	}
	if err := tx.putRaw(couplingPipelineKey(c), nil); err != nil {
		return err
	}
	return tx.put(key(nsCoupling, c.ID), c)
}

// DeleteCoupling removes a coupling and its index entries.
func (tx *Tx) DeleteCoupling(c *domain.Coupling) error {
	if err := tx.delete(key(nsCouplingByApp, c.AppID)); err != nil {
		return err
	}
	if err := tx.delete(couplingPipelineKey(c)); err != nil {
		return err
	}
	return tx.delete(key(nsCoupling, c.ID))
}

// ListCouplings returns one page of the couplings f selects, ordered by
// id.
func (tx *Tx) ListCouplings(f persist.CouplingFilter, p Page) ([]domain.Coupling, string, error) {
	if f.All {
		return scanPage[domain.Coupling](tx, prefix(nsCoupling), p)
	}
	// A pipeline has a coupling per app at most, so the selected
	// pipelines' couplings are read whole, then paged by id as the scan of
	// every coupling pages.
	var out []domain.Coupling
	for _, id := range f.PipelineIDs {
		cs, _, err := tx.PipelineCouplings(id, Page{})
		if err != nil {
			return nil, "", err
		}
		for _, c := range cs {
			if c.ID > p.After {
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b domain.Coupling) int { return strings.Compare(a.ID, b.ID) })
	if p.Limit > 0 && len(out) > p.Limit {
		out = out[:p.Limit]
		return out, out[len(out)-1].ID, nil
	}
	return out, "", nil
}

// PipelineCouplings returns one page of a pipeline's couplings ordered by
// stage (review first), then id.
func (tx *Tx) PipelineCouplings(pipelineID string, p Page) ([]domain.Coupling, string, error) {
	var ids []string
	var last string
	err := tx.scan(prefix(nsCouplingByPipeline, pipelineID), p.After, p.Limit, true, func(k, _ []byte) error {
		last = lastPart(k)
		_, id, _ := strings.Cut(last, "-")
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]domain.Coupling, 0, len(ids))
	for _, id := range ids {
		c, err := tx.Coupling(id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *c)
	}
	if p.Limit > 0 && len(out) == p.Limit {
		return out, last, nil
	}
	return out, "", nil
}

// AddStatusContext records that a release of app carried a status with
// that context and name.
func (tx *Tx) AddStatusContext(appID string, sc domain.StatusContext) error {
	return tx.putRaw(key(nsStatusContextByApp, appID, sc.Context, sc.Name), nil)
}

// StatusContexts returns the contexts and names seen on an app's releases,
// ordered by context, then name.
func (tx *Tx) StatusContexts(appID string) ([]domain.StatusContext, error) {
	pfx := prefix(nsStatusContextByApp, appID)
	var out []domain.StatusContext
	err := tx.scan(pfx, "", 0, true, func(k, _ []byte) error {
		context, name, _ := strings.Cut(string(k[len(pfx):]), string(rune(sep)))
		out = append(out, domain.StatusContext{Context: context, Name: name})
		return nil
	})
	return out, err
}

// DeleteStatusContexts forgets the status contexts of an app.
func (tx *Tx) DeleteStatusContexts(appID string) error {
	var keys [][]byte
	err := tx.scan(prefix(nsStatusContextByApp, appID), "", 0, true, func(k, _ []byte) error {
		keys = append(keys, append([]byte{}, k...))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.delete(k); err != nil {
			return err
		}
	}
	return nil
}
