package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"sync"

	"go.yaml.in/yaml/v3"
)

// The OpenAPI description is kept as YAML fragments, one per dialect area,
// under openapi/. base.yaml carries info, security schemes and shared
// components; every other fragment adds paths and schemas. They are merged
// into one document, which is the single source the server serves and the
// tests validate every response against.
//
//go:embed openapi/*.yaml
var openapiFS embed.FS

var (
	openapiOnce sync.Once
	openapiDoc  []byte
	openapiErr  error
)

// OpenAPIJSON returns the merged OpenAPI document as JSON.
func OpenAPIJSON() ([]byte, error) {
	openapiOnce.Do(func() { openapiDoc, openapiErr = mergeOpenAPI(openapiFS) })
	return openapiDoc, openapiErr
}

func mergeOpenAPI(fsys fs.FS) ([]byte, error) {
	names, err := fs.Glob(fsys, "openapi/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var doc map[string]any
	if err := readYAML(fsys, "openapi/base.yaml", &doc); err != nil {
		return nil, err
	}
	paths := ensureMap(doc, "paths")
	components := ensureMap(doc, "components")
	for _, name := range names {
		if name == "openapi/base.yaml" {
			continue
		}
		var frag map[string]any
		if err := readYAML(fsys, name, &frag); err != nil {
			return nil, err
		}
		for key := range frag {
			if key != "paths" && key != "components" {
				return nil, fmt.Errorf("%s: only paths and components belong in a fragment, found %q", name, key)
			}
		}
		if err := mergeInto(paths, asMap(frag["paths"]), name, "paths"); err != nil {
			return nil, err
		}
		for section, v := range asMap(frag["components"]) {
			if err := mergeInto(ensureMap(components, section), asMap(v), name, "components."+section); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(doc)
}

func readYAML(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// mergeInto adds src's entries to dst. A path may be split across fragments
// by method, but no method, schema or other entry may be defined twice.
func mergeInto(dst, src map[string]any, file, where string) error {
	for k, v := range src {
		existing, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		if where != "paths" {
			return fmt.Errorf("%s: %s.%s is already defined by another fragment", file, where, k)
		}
		if err := mergeInto(asMap(existing), asMap(v), file, where+"."+k); err != nil {
			return err
		}
	}
	return nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

func ensureMap(parent map[string]any, key string) map[string]any {
	m, ok := parent[key].(map[string]any)
	if !ok {
		m = map[string]any{}
		parent[key] = m
	}
	return m
}
