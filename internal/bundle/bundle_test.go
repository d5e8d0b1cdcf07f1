package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/openproton/openproton/internal/bundle/bundletest"
)

// samples is the shared folder of real Proton sample bundles (see its README.md).
const samples = "../../../shared/samples"

type entry = bundletest.File

func archive(t testing.TB, entries []entry) []byte { return bundletest.Tarball(t, entries) }

// sampleDirs lists every sample bundle (…/<template>/v1), skipping the test when the
// shared samples are not on this machine.
func sampleDirs(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(samples); err != nil {
		t.Skipf("samples not available: %v", err)
	}
	var dirs []string
	for _, pattern := range []string{
		"*/environment-templates/*/v1", "*/service-templates/*/v1",
		"codebuild/*/environment-templates/*/v1", "codebuild/*/service-templates/*/v1",
	} {
		m, err := filepath.Glob(filepath.Join(samples, pattern))
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, m...)
	}
	if len(dirs) < 9 {
		t.Fatalf("found only %d sample bundles under %s", len(dirs), samples)
	}
	return dirs
}

func sampleKind(dir string) Kind {
	if strings.Contains(dir, "/service-templates/") {
		return Service
	}
	return Environment
}

// sampleEngine is what each sample family's manifests say (see the samples' README).
func sampleEngine(t *testing.T, dir string) (engine, language string) {
	switch rel, _ := filepath.Rel(samples, dir); strings.Split(rel, string(filepath.Separator))[0] {
	case "cloudformation":
		return "jinja", "cloudformation"
	case "terraform":
		return "hcl", "terraform"
	case "codebuild":
		return "codebuild", ""
	}
	t.Fatalf("no expectation for %s", dir)
	return "", ""
}

// folderFiles reads one folder of a sample bundle the way Section.Files keys it.
func folderFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range bundletest.Dir(t, dir) {
		out[f.Name] = []byte(f.Body)
	}
	return out
}

func TestSamplesLoad(t *testing.T) {
	for _, dir := range sampleDirs(t) {
		template := filepath.Base(filepath.Dir(dir))
		rel, _ := filepath.Rel(samples, dir)
		t.Run(rel, func(t *testing.T) {
			kind := sampleKind(dir)
			files := bundletest.Dir(t, dir)
			b, err := Load(archive(t, bundletest.Under(template, files)), kind, Options{})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if b.Kind != kind {
				t.Errorf("Kind = %v, want %v", b.Kind, kind)
			}
			schemaText, err := os.ReadFile(filepath.Join(dir, "schema", "schema.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if b.SchemaText != string(schemaText) {
				t.Errorf("SchemaText differs from schema/schema.yaml")
			}

			infraDir, inputType := "infrastructure", b.Schema.EnvironmentInputType
			if kind == Service {
				infraDir, inputType = "instance_infrastructure", b.Schema.ServiceInputType
			}
			if len(b.Schema.Properties(inputType)) == 0 {
				t.Errorf("input type %q has no properties", inputType)
			}
			if b.Infrastructure == nil {
				t.Fatalf("no %s section", infraDir)
			}
			checkSection(t, b.Infrastructure, filepath.Join(dir, infraDir))

			pipelineDir := filepath.Join(dir, "pipeline_infrastructure")
			_, statErr := os.Stat(pipelineDir)
			switch hasFolder := statErr == nil; {
			case kind == Environment && b.Pipeline != nil:
				t.Errorf("environment bundle with a pipeline section")
			case hasFolder != (b.Pipeline != nil):
				t.Errorf("pipeline section present=%v, folder present=%v", b.Pipeline != nil, hasFolder)
			case hasFolder:
				checkSection(t, b.Pipeline, pipelineDir)
				if len(b.Schema.Properties(b.Schema.PipelineInputType)) == 0 {
					t.Errorf("pipeline input type %q has no properties", b.Schema.PipelineInputType)
				}
			}

			// The digest ignores entry order and the wrapping folder, wrapped or not.
			reversed := slices.Clone(files)
			slices.Reverse(reversed)
			dotted := make([]entry, len(files))
			for i, f := range files {
				dotted[i], dotted[i].Name = f, "./"+f.Name
			}
			for name, entries := range map[string][]entry{
				"reversed, other folder": bundletest.Under("other-name", reversed),
				"no wrapping folder":     files,
				"./ prefixes":            dotted,
			} {
				again, err := Load(archive(t, entries), kind, Options{})
				if err != nil {
					t.Errorf("%s: %v", name, err)
				} else if again.Digest != b.Digest {
					t.Errorf("%s: digest %s, want %s", name, again.Digest, b.Digest)
				}
			}
			changed := slices.Clone(files)
			changed[0].Body += " "
			if again, err := Load(archive(t, changed), kind, Options{}); err == nil && again.Digest == b.Digest {
				t.Errorf("digest unchanged after %s changed", changed[0].Name)
			}
		})
	}
}

// checkSection compares a loaded section with its folder on disk.
func checkSection(t *testing.T, s *Section, dir string) {
	t.Helper()
	want := folderFiles(t, dir)
	if len(s.Files) != len(want) {
		t.Errorf("%s: %d files, want %d", dir, len(s.Files), len(want))
	}
	for name, body := range want {
		if string(s.Files[name]) != string(body) {
			t.Errorf("%s: file %s differs or is missing", dir, name)
		}
	}
	engine, language := sampleEngine(t, dir)
	if len(s.Manifest.Templates) != 1 {
		t.Fatalf("%s: %d templates, want 1", dir, len(s.Manifest.Templates))
	}
	tpl := s.Manifest.Templates[0]
	if tpl.RenderingEngine != engine || tpl.TemplateLanguage != language {
		t.Errorf("%s: engine %q language %q, want %q %q", dir, tpl.RenderingEngine, tpl.TemplateLanguage, engine, language)
	}
	switch engine {
	case "jinja":
		if !slices.Equal(tpl.Files, []string{"cloudformation.yaml"}) {
			t.Errorf("%s: files %v", dir, tpl.Files)
		}
	case "hcl": // file: "*"
		var all []string
		for name := range want {
			if name != "manifest.yaml" {
				all = append(all, name)
			}
		}
		sort.Strings(all)
		if !slices.Equal(tpl.Files, all) {
			t.Errorf("%s: files %v, want %v", dir, tpl.Files, all)
		}
	case "codebuild":
		cb := tpl.CodeBuild
		if cb == nil || cb.Image == "" || len(cb.Provision) == 0 || len(cb.Deprovision) == 0 || len(cb.Runtimes) == 0 {
			t.Errorf("%s: codebuild settings incomplete: %+v", dir, cb)
		}
		if len(tpl.Files) != 0 {
			t.Errorf("%s: codebuild template with files %v", dir, tpl.Files)
		}
	}
}

// TestSampleSpecsValidate runs each sample's example spec through its own schema: real
// inputs, real defaults.
func TestSampleSpecsValidate(t *testing.T) {
	for _, dir := range sampleDirs(t) {
		specPath := filepath.Join(filepath.Dir(dir), "spec", "spec.yaml")
		text, err := os.ReadFile(specPath)
		if err != nil {
			continue // the codebuild samples carry proton-inputs.json instead
		}
		rel, _ := filepath.Rel(samples, specPath)
		t.Run(rel, func(t *testing.T) {
			b, err := Load(archive(t, bundletest.Dir(t, dir)), sampleKind(dir), Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := b.Schema
			if sampleKind(dir) == Environment {
				spec, err := ParseEnvironmentSpec(string(text))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Inputs(s.EnvironmentInputType, spec.Inputs, nil); err != nil {
					t.Error(err)
				}
				return
			}
			spec, err := ParseServiceSpec(string(text))
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range spec.Instances {
				if _, err := s.Inputs(s.ServiceInputType, in.Inputs, nil); err != nil {
					t.Errorf("instance %s: %v", in.Name, err)
				}
			}
			if s.PipelineInputType != "" {
				if _, err := s.Inputs(s.PipelineInputType, spec.Pipeline, nil); err != nil {
					t.Errorf("pipeline: %v", err)
				}
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(archive(f, good()), false)
	f.Add(archive(f, with(entry{Name: "t/../x", Body: "x"})), true)
	f.Add(archive(f, service(true)), false)
	f.Add(archive(f, []entry{{Name: "t/schema/schema.yaml", Body: schema}, {Name: "t/infrastructure/manifest.yaml", Body: codebuildManifest}}), false)
	f.Add([]byte{0x1f, 0x8b, 8, 0}, false)
	f.Fuzz(func(t *testing.T, data []byte, customer bool) {
		for _, kind := range []Kind{Environment, Service} {
			b, err := Load(data, kind, Options{CustomerManaged: customer})
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error of type %T, not *Error: %v", err, err)
				}
				continue
			}
			if b.Schema == nil || len(b.Digest) != 64 || b.Kind != kind {
				t.Fatalf("incomplete bundle: %+v", b)
			}
			if (b.Infrastructure == nil) != (kind == Environment && customer) {
				t.Fatalf("infrastructure section present=%v for kind %v, customer managed %v", b.Infrastructure != nil, kind, customer)
			}
		}
	})
}

// BenchmarkLoad loads the largest sample bundle (Terraform service: instance and pipeline).
func BenchmarkLoad(b *testing.B) {
	dir := filepath.Join(samples, "terraform", "service-templates", "apprunner-svc", "v1")
	if _, err := os.Stat(dir); err != nil {
		b.Skip("samples not available")
	}
	raw := archive(b, bundletest.Under("svc", bundletest.Dir(b, dir)))
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(raw, Service, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// wantError asserts err is an *Error (not wrapped: callers type-switch on it) whose
// message holds want.
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	e, ok := err.(*Error)
	switch {
	case err == nil:
		t.Errorf("no error; want one containing %q", want)
	case !ok:
		var inner *Error
		t.Errorf("error %T (*Error inside: %v): %v; want an *Error containing %q", err, errors.As(err, &inner), err, want)
	case !strings.Contains(e.Message, want):
		t.Errorf("error %q\n  does not contain %q", e.Message, want)
	}
}

// FuzzSchema goes straight at the schema parser, which FuzzLoad seldom reaches through
// gzip: no panics, only *Error, and every schema that loads is compatible with itself.
func FuzzSchema(f *testing.F) {
	f.Add(schema)
	f.Add(serviceSchema(true))
	f.Add(strings.Replace(schema, "        size:\n          type: string\n          enum: [small, large]\n          default: small\n", "        size:\n", 1))
	f.Add(strings.Replace(schema, "          type: string\n", "          type: array\n          items:\n            allOf: [~]\n", 1))
	if paths, _ := filepath.Glob(filepath.Join(samples, "*", "*-templates", "*", "v1", "schema", "schema.yaml")); len(paths) > 0 {
		for _, p := range paths {
			text, _ := os.ReadFile(p)
			f.Add(string(text))
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := parseSchema([]byte(text))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T, not *Error: %v", err, err)
			}
			return
		}
		for _, typ := range []string{s.EnvironmentInputType, s.ServiceInputType, s.PipelineInputType} {
			if typ == "" {
				continue
			}
			defaults := map[string]any{}
			for _, p := range s.Properties(typ) {
				if p.HasDefault {
					defaults[p.Name] = p.Default
				}
			}
			_ = s.ValidateInputs(typ, defaults)
		}
		if err := CheckCompatible(s, s); err != nil {
			t.Fatalf("schema incompatible with itself: %v", err)
		}
	})
}
