// Package bundle loads and checks Proton template bundles: a gzipped tar holding schema/
// and the infrastructure folders, each with a manifest.yaml naming its template files.
// Every problem with a bundle's content is an *Error whose message is meant for the person
// who uploaded it (it becomes the version's statusMessage).
package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Kind is the kind of template a bundle is for.
type Kind int

const (
	Environment Kind = iota // schema/ + infrastructure/
	Service                 // schema/ + instance_infrastructure/ + optional pipeline_infrastructure/
)

// Error is a problem with the bundle's content.
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

func bad(format string, a ...any) *Error { return &Error{Message: fmt.Sprintf(format, a...)} }

// Options are template settings that change what a bundle must hold.
type Options struct {
	// CustomerManaged: an environment template with provisioning CUSTOMER_MANAGED, whose
	// bundle carries only schema/.
	CustomerManaged bool
}

// Bundle is a checked bundle.
type Bundle struct {
	Kind           Kind
	SchemaText     string // schema/schema.yaml as uploaded
	Schema         *Schema
	Infrastructure *Section // infrastructure/ or instance_infrastructure/; nil when CustomerManaged
	Pipeline       *Section // pipeline_infrastructure/, nil when absent
	Digest         string   // sha256 over paths and contents: equal bundles, equal digests
}

// Section is one infrastructure folder.
type Section struct {
	Manifest Manifest
	Files    map[string][]byte // every file of the folder by path relative to it
}

// Load reads and checks a gzipped tar bundle.
func Load(data []byte, kind Kind, opts Options) (*Bundle, error) {
	files, err := readArchive(data)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Kind: kind, Digest: digest(files)}
	folders := split(files)

	schemaText, ok := folders["schema"]["schema.yaml"]
	if !ok {
		return nil, bad("the bundle has no schema/schema.yaml")
	}
	b.SchemaText = string(schemaText)
	if b.Schema, err = parseSchema(schemaText); err != nil {
		return nil, err
	}

	switch kind {
	case Environment:
		if b.Schema.EnvironmentInputType == "" {
			return nil, bad("schema/schema.yaml: an environment template's schema needs environment_input_type")
		}
		if opts.CustomerManaged {
			if _, ok := folders["infrastructure"]; ok {
				return nil, bad("a CUSTOMER_MANAGED environment template's bundle holds only schema/; remove infrastructure/")
			}
			break
		}
		if b.Infrastructure, err = loadSection("infrastructure", folders); err != nil {
			return nil, err
		}
	case Service:
		if b.Schema.ServiceInputType == "" {
			return nil, bad("schema/schema.yaml: a service template's schema needs service_input_type")
		}
		if b.Infrastructure, err = loadSection("instance_infrastructure", folders); err != nil {
			return nil, err
		}
		if _, ok := folders["pipeline_infrastructure"]; ok {
			if b.Pipeline, err = loadSection("pipeline_infrastructure", folders); err != nil {
				return nil, err
			}
		}
		switch {
		case b.Pipeline != nil && b.Schema.PipelineInputType == "":
			return nil, bad("schema/schema.yaml: the bundle has pipeline_infrastructure/ but the schema has no pipeline_input_type")
		case b.Pipeline == nil && b.Schema.PipelineInputType != "":
			return nil, bad("schema/schema.yaml: the schema has pipeline_input_type but the bundle has no pipeline_infrastructure/")
		}
	}
	if n := b.templateFiles(); n > maxTemplateFiles {
		return nil, bad("the bundle has %d template files; the limit is %d", n, maxTemplateFiles)
	}
	return b, nil
}

func (b *Bundle) templateFiles() int {
	n := 0
	for _, s := range []*Section{b.Infrastructure, b.Pipeline} {
		if s == nil {
			continue
		}
		for _, t := range s.Manifest.Templates {
			n += len(t.Files)
		}
	}
	return n
}

// split groups files by their first folder: "schema/schema.yaml" → folders["schema"]["schema.yaml"].
func split(files map[string][]byte) map[string]map[string][]byte {
	out := map[string]map[string][]byte{}
	for name, body := range files {
		dir, rest, ok := strings.Cut(name, "/")
		if !ok {
			continue // loose files at the top (README and the like) are not part of any folder
		}
		if out[dir] == nil {
			out[dir] = map[string][]byte{}
		}
		out[dir][rest] = body
	}
	return out
}

func loadSection(dir string, folders map[string]map[string][]byte) (*Section, error) {
	files, ok := folders[dir]
	if !ok {
		return nil, bad("the bundle has no %s/ folder", dir)
	}
	manifest, ok := files["manifest.yaml"]
	if !ok {
		return nil, bad("%s/ has no manifest.yaml", dir)
	}
	m, err := parseManifest(dir, manifest, files)
	if err != nil {
		return nil, err
	}
	return &Section{Manifest: *m, Files: files}, nil
}

// digest fingerprints the files independently of tar order, timestamps and the wrapping
// folder's name.
func digest(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}
