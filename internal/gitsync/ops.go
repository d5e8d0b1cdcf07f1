package gitsync

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"go.yaml.in/yaml/v3"
)

// OpsFile is a proton-ops file's sync block: for each service and each of its
// instances, where the instance's spec lives.
type OpsFile struct {
	Services map[string]map[string]OpsInstance // service → instance → entry
}

// OpsInstance is one instance's entry: the branch to watch and the spec file on it.
type OpsInstance struct {
	Branch string
	Spec   string // repository path, cleaned: "./a/b.yaml" is "a/b.yaml"
}

// ParseOpsFile reads a proton-ops file:
//
//	sync:
//	  services:
//	    frontend-svc:
//	      alpha:
//	        branch: dev
//	        spec: ./frontend-svc/test/frontend-spec.yaml
//
// Keys beside sync are ignored (the file may hold more than sync); inside it, unknown keys
// are refused so that a misspelt one is not silently skipped. Errors give the line and
// the entry, e.g. "line 6: sync.services.frontend-svc.alpha: spec is missing".
func ParseOpsFile(data []byte) (*OpsFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, errors.New("the file is empty; it needs a sync: block with services")
	}
	top, err := mappingPairs(doc.Content[0], "the file")
	if err != nil {
		return nil, err
	}
	sync := find(top, "sync")
	if sync == nil {
		return nil, errors.New("the file has no sync: block")
	}
	syncPairs, err := mappingPairs(sync.value, "sync")
	if err != nil {
		return nil, err
	}
	var services *pair
	for i, p := range syncPairs {
		if p.key != "services" {
			return nil, fmt.Errorf("line %d: sync: unknown key %q; sync holds services", p.line, p.key)
		}
		services = &syncPairs[i]
	}
	if services == nil {
		return nil, fmt.Errorf("line %d: sync has no services", sync.line)
	}
	out := &OpsFile{Services: map[string]map[string]OpsInstance{}}
	if n := services.value; n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return out, nil // "services:" with nothing under it syncs nothing
	}
	svcPairs, err := mappingPairs(services.value, "sync.services")
	if err != nil {
		return nil, err
	}
	for _, svc := range svcPairs {
		where := "sync.services." + svc.key
		if !validName(svc.key) {
			return nil, fmt.Errorf("line %d: %s: %q is not a service name (letters, digits, - and _, at most 100)", svc.line, where, svc.key)
		}
		if n := svc.value; n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil, fmt.Errorf("line %d: %s lists no instances", svc.line, where)
		}
		instPairs, err := mappingPairs(svc.value, where)
		if err != nil {
			return nil, err
		}
		if len(instPairs) == 0 {
			return nil, fmt.Errorf("line %d: %s lists no instances", svc.line, where)
		}
		instances := map[string]OpsInstance{}
		for _, inst := range instPairs {
			where := where + "." + inst.key
			if !validName(inst.key) {
				return nil, fmt.Errorf("line %d: %s: %q is not a service instance name (letters, digits, - and _, at most 100)", inst.line, where, inst.key)
			}
			e, err := opsInstance(inst, where)
			if err != nil {
				return nil, err
			}
			instances[inst.key] = e
		}
		out.Services[svc.key] = instances
	}
	return out, nil
}

func opsInstance(inst pair, where string) (OpsInstance, error) {
	var e OpsInstance
	if n := inst.value; n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return e, fmt.Errorf("line %d: %s needs a branch and a spec", inst.line, where)
	}
	fields, err := mappingPairs(inst.value, where)
	if err != nil {
		return e, err
	}
	for _, f := range fields {
		switch f.key {
		case "branch":
			if e.Branch, err = scalarString(f.value, where+".branch"); err != nil {
				return e, err
			}
			if e.Branch == "" || plumbing.NewBranchReferenceName(e.Branch).Validate() != nil {
				return e, fmt.Errorf("line %d: %s: branch %q is not a valid branch name", f.line, where, e.Branch)
			}
		case "spec":
			raw, err := scalarString(f.value, where+".spec")
			if err != nil {
				return e, err
			}
			if e.Spec, err = specPath(raw); err != nil {
				return e, fmt.Errorf("line %d: %s: %w", f.line, where, err)
			}
		default:
			return e, fmt.Errorf("line %d: %s: unknown key %q; an instance has branch and spec", f.line, where, f.key)
		}
	}
	switch {
	case e.Branch == "":
		return e, fmt.Errorf("line %d: %s: branch is missing", inst.line, where)
	case e.Spec == "":
		return e, fmt.Errorf("line %d: %s: spec is missing", inst.line, where)
	}
	return e, nil
}

// specPath cleans a spec's repository path. A spec is a file in the repository, named
// from its root: an absolute path or one that climbs (..) is a mistake, not a location.
func specPath(p string) (string, error) {
	switch {
	case p == "":
		return "", errors.New("spec is empty")
	case strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`):
		return "", fmt.Errorf("spec %q is an absolute path; write it from the repository's root, e.g. ./%s", p, strings.TrimLeft(p, `/\`))
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("spec %q climbs out of the repository (..); write it from the repository's root", p)
		}
	}
	c := path.Clean(p)
	if c == "." || strings.HasSuffix(p, "/") {
		return "", fmt.Errorf("spec %q names a folder, not a file", p)
	}
	return c, nil
}

func find(pairs []pair, key string) *pair {
	for i := range pairs {
		if pairs[i].key == key {
			return &pairs[i]
		}
	}
	return nil
}
