package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Kind is the kind of template a bundle is for.
type Kind int

const (
	Environment Kind = iota // schema/ + infrastructure/
	Service                 // schema/ + instance_infrastructure/ + optional pipeline_infrastructure/
)

// Error is a problem with the bundle's content; its message says what is wrong and where.
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

func bad(format string, a ...any) *Error { return &Error{Message: fmt.Sprintf(format, a...)} }

// Options are template settings that change what a bundle must hold.
type Options struct {
	// CustomerManaged: an environment template with provisioning CUSTOMER_MANAGED, whose
	// bundle carries only schema/ (an infrastructure/ folder is an error).
	CustomerManaged bool
}

// Bundle is a checked bundle.
type Bundle struct {
	Kind           Kind
	SchemaText     string // schema/schema.yaml exactly as uploaded
	Schema         *Schema
	Infrastructure *Section // infrastructure/ or instance_infrastructure/; nil when CustomerManaged
	Pipeline       *Section // pipeline_infrastructure/, nil when absent
	// Digest is a hex sha256 over the files' paths and contents, independent of tar order,
	// timestamps and the wrapping folder's name: equal bundles, equal digests.
	Digest string
}

// Section is one infrastructure folder.
type Section struct {
	Manifest Manifest
	Files    map[string][]byte // every file of the folder by path relative to it
}

// Load reads and checks a gzipped tar bundle. Every problem with the content is an *Error.
func Load(data []byte, kind Kind, opts Options) (*Bundle, error) {
	files, err := readArchive(data)
	if err != nil {
		return nil, err
	}
	return check(files, kind, opts)
}

// LoadDir reads and checks a bundle from a directory holding schema/ and the
// infrastructure folders (a template's version folder, as in a template repository).
// Only regular files are read; the archive limits apply.
func LoadDir(dir string, kind Kind, opts Options) (*Bundle, error) {
	files := map[string][]byte{}
	total := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != dir {
				return filepath.SkipDir // .git, editor folders
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if total += len(data); total > maxBundleBytes {
			return bad("%s holds more than %d bytes; a bundle is at most 5 MB", dir, maxBundleBytes)
		}
		files[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		return nil, err
	}
	return check(files, kind, opts)
}

// check checks a bundle's files (paths relative to the bundle's top).
func check(files map[string][]byte, kind Kind, opts Options) (*Bundle, error) {
	var err error
	b := &Bundle{Kind: kind, Digest: digest(files)}
	folders := split(files)

	schemaText, ok := folders["schema"]["schema.yaml"]
	if !ok {
		return nil, bad("the bundle has no schema/schema.yaml (its top level holds %s)", topLevel(files))
	}
	if len(schemaText) > maxSchemaBytes {
		return nil, bad("%s is %d bytes; the limit for the schema is %d bytes (50 KB)", schemaFile, len(schemaText), maxSchemaBytes)
	}
	b.SchemaText = string(schemaText)
	if b.Schema, err = parseSchema(schemaText); err != nil {
		return nil, err
	}

	switch kind {
	case Environment:
		if b.Schema.EnvironmentInputType == "" {
			return nil, bad("%s: an environment template's schema needs environment_input_type%s", schemaFile,
				hint(b.Schema.ServiceInputType != "", " (it has service_input_type: is this a service template bundle?)"))
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
			return nil, bad("%s: a service template's schema needs service_input_type%s", schemaFile,
				hint(b.Schema.EnvironmentInputType != "", " (it has environment_input_type: is this an environment template bundle?)"))
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
			return nil, bad("%s: the bundle has pipeline_infrastructure/ but the schema has no pipeline_input_type", schemaFile)
		case b.Pipeline == nil && b.Schema.PipelineInputType != "":
			return nil, bad("%s: the schema has pipeline_input_type but the bundle has no pipeline_infrastructure/ folder", schemaFile)
		}
	default:
		return nil, fmt.Errorf("bundle: unknown kind %d", kind)
	}
	if n := b.templateFiles(); n > maxTemplateFiles {
		return nil, bad("the bundle's manifests name %d template files; the limit is %d", n, maxTemplateFiles)
	}
	return b, nil
}

func hint(cond bool, text string) string {
	if cond {
		return text
	}
	return ""
}

// templateFiles counts the files the manifests name: the files Proton's quota counts.
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
			continue // loose files at the top (README and the like) belong to no folder
		}
		if out[dir] == nil {
			out[dir] = map[string][]byte{}
		}
		out[dir][rest] = body
	}
	return out
}

// topLevel lists what the bundle's top holds, for the message about a missing schema.
func topLevel(files map[string][]byte) string {
	seen := map[string]bool{}
	for name := range files {
		if dir, _, ok := strings.Cut(name, "/"); ok {
			seen[dir+"/"] = true
		} else {
			seen[name] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, show(n))
	}
	sort.Strings(names)
	if len(names) > 8 {
		names = append(names[:8], fmt.Sprintf("and %d more", len(names)-8))
	}
	return strings.Join(names, ", ")
}

func loadSection(dir string, folders map[string]map[string][]byte) (*Section, error) {
	files, ok := folders[dir]
	if !ok {
		other := ""
		switch {
		case dir == "infrastructure" && folders["instance_infrastructure"] != nil:
			other = " (it has instance_infrastructure/: is this a service template bundle?)"
		case dir == "instance_infrastructure" && folders["infrastructure"] != nil:
			other = " (it has infrastructure/: is this an environment template bundle?)"
		}
		return nil, bad("the bundle has no %s/ folder%s", dir, other)
	}
	manifest, ok := files["manifest.yaml"]
	if !ok {
		return nil, bad("%s/ has no manifest.yaml", dir)
	}
	if len(manifest) > maxManifestBytes {
		return nil, bad("%s/manifest.yaml is %d bytes; the limit for a manifest is %d bytes (50 KB)", dir, len(manifest), maxManifestBytes)
	}
	m, err := parseManifest(dir, manifest, files)
	if err != nil {
		return nil, err
	}
	return &Section{Manifest: *m, Files: files}, nil
}

// digest fingerprints the files independently of tar order, timestamps and the wrapping
// folder's name. Paths cannot hold NUL, and the length ends each file's content.
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
