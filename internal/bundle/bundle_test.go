package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openproton/openproton/internal/bundle/bundletest"
)

const samples = "../../../shared/samples"

type entry = bundletest.File

func archive(t testing.TB, entries []entry) []byte { return bundletest.Tarball(t, entries) }

// sampleEntries reads a sample bundle folder under one wrapping folder, optionally in
// reverse order.
func sampleEntries(t *testing.T, dir, top string, reverse bool) []entry {
	out := bundletest.Under(top, bundletest.Dir(t, dir))
	if reverse {
		slices.Reverse(out)
	}
	return out
}

func TestSamplesLoad(t *testing.T) {
	if _, err := os.Stat(samples); err != nil {
		t.Skipf("samples not available: %v", err)
	}
	dirs, _ := filepath.Glob(filepath.Join(samples, "*", "*-templates", "*", "v1"))
	more, _ := filepath.Glob(filepath.Join(samples, "codebuild", "*", "*-templates", "*", "v1"))
	dirs = append(dirs, more...)
	if len(dirs) < 8 {
		t.Fatalf("found only %d sample bundles", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(strings.TrimPrefix(dir, samples+"/"), func(t *testing.T) {
			kind := Environment
			if strings.Contains(dir, "service-templates") {
				kind = Service
			}
			b, err := Load(archive(t, sampleEntries(t, dir, "tpl", false)), kind, Options{})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			schema, _ := os.ReadFile(filepath.Join(dir, "schema", "schema.yaml"))
			if b.SchemaText != string(schema) {
				t.Errorf("SchemaText differs from the file")
			}
			manifest, _ := os.ReadFile(filepath.Join(dir, map[Kind]string{Environment: "infrastructure", Service: "instance_infrastructure"}[kind], "manifest.yaml"))
			engine := b.Infrastructure.Manifest.Templates[0].RenderingEngine
			if !strings.Contains(string(manifest), "rendering_engine: "+engine) {
				t.Errorf("engine %q not what the manifest says", engine)
			}
			_, hasPipeline := os.Stat(filepath.Join(dir, "pipeline_infrastructure"))
			if (hasPipeline == nil) != (b.Pipeline != nil) {
				t.Errorf("pipeline section present=%v, folder present=%v", b.Pipeline != nil, hasPipeline == nil)
			}
			if engine == "codebuild" && len(b.Infrastructure.Manifest.Templates[0].CodeBuild.Provision) == 0 {
				t.Errorf("codebuild provision commands missing")
			}
			// The digest ignores entry order and the wrapping folder's name.
			again, err := Load(archive(t, sampleEntries(t, dir, "other-name", true)), kind, Options{})
			if err != nil || again.Digest != b.Digest {
				t.Errorf("digest differs for the same files: %v", err)
			}
		})
	}
}

const schema = `schema:
  format:
    openapi: "3.0.0"
  environment_input_type: "Input"
  types:
    Input:
      type: object
      required: [name]
      properties:
        name:
          type: string
          pattern: "^[a-z]+$"
        size:
          type: string
          enum: [small, large]
          default: small
        count:
          type: number
          minimum: 1
          maximum: 10
          default: 1
`

const cfnManifest = "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n"

func good() []entry {
	return []entry{{Name: "t/schema/schema.yaml", Body: schema}, {Name: "t/infrastructure/manifest.yaml", Body: cfnManifest},
		{Name: "t/infrastructure/cloudformation.yaml", Body: "Resources: {}\n"}}
}

func with(extra ...entry) []entry { return append(good(), extra...) }

func replace(name, body string) []entry {
	out := good()
	for i := range out {
		if out[i].Name == name {
			out[i].Body = body
		}
	}
	return out
}

func without(name string) []entry {
	var out []entry
	for _, e := range good() {
		if e.Name != name {
			out = append(out, e)
		}
	}
	return out
}

func TestBrokenBundles(t *testing.T) {
	big := make([]byte, 6<<20)
	_, _ = rand.Read(big)
	var bomb bytes.Buffer
	gz := gzip.NewWriter(&bomb)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: "t/infrastructure/huge.yaml", Mode: 0o644, Size: 60 << 20, Typeflag: tar.TypeReg})
	_, _ = tw.Write(make([]byte, 60<<20))
	tw.Close()
	gz.Close()
	var eleven []entry
	files := "infrastructure:\n  templates:\n    - file: \"*\"\n      rendering_engine: hcl\n      template_language: terraform\n"
	eleven = append(eleven, entry{Name: "t/schema/schema.yaml", Body: schema}, entry{Name: "t/infrastructure/manifest.yaml", Body: files})
	for i := range 11 {
		eleven = append(eleven, entry{Name: fmt.Sprintf("t/infrastructure/f%d.tf", i), Body: "# tf\n"})
	}
	for _, tc := range []struct {
		name string
		raw  []byte
		opts Options
		want string
	}{
		{"not gzip", []byte("hello"), Options{}, "gzip"},
		{"bad schema yaml", archive(t, replace("t/schema/schema.yaml", "schema:\n  format: [\n")), Options{}, "schema/schema.yaml: line"},
		{"bad manifest yaml", archive(t, replace("t/infrastructure/manifest.yaml", "infrastructure: {templates: [")), Options{}, "infrastructure/manifest.yaml"},
		{"missing manifest", archive(t, without("t/infrastructure/manifest.yaml")), Options{}, "has no manifest.yaml"},
		{"missing schema", archive(t, without("t/schema/schema.yaml")), Options{}, "no schema/schema.yaml"},
		{"traversal", archive(t, with(entry{Name: "t/../../x", Body: "x"})), Options{}, "leaves the bundle"},
		{"absolute", archive(t, with(entry{Name: "/etc/x", Body: "x"})), Options{}, "absolute path"},
		{"symlink", archive(t, with(entry{Name: "t/infrastructure/l", Type: tar.TypeSymlink, Link: "/etc/passwd"})), Options{}, "is a link"},
		{"hardlink", archive(t, with(entry{Name: "t/infrastructure/h", Type: tar.TypeLink, Link: "t/schema/schema.yaml"})), Options{}, "is a link"},
		{"device", archive(t, with(entry{Name: "t/dev", Type: tar.TypeChar})), Options{}, "not a regular file"},
		{"6 MB", big, Options{}, "5 MB"},
		{"300 KB file", archive(t, with(entry{Name: "t/infrastructure/big.yaml", Body: strings.Repeat("x", 300<<10)})), Options{}, "big.yaml is 307200 bytes"},
		{"11 template files", archive(t, eleven), Options{}, "11 template files"},
		{"bomb", bomb.Bytes(), Options{}, "huge.yaml is 62914560 bytes"},
		{"missing template file", archive(t, without("t/infrastructure/cloudformation.yaml")), Options{}, `"cloudformation.yaml" is not in the folder`},
		{"no properties", archive(t, replace("t/schema/schema.yaml", "schema:\n  format:\n    openapi: \"3.0.0\"\n  environment_input_type: I\n  types:\n    I:\n      type: object\n")), Options{}, "at least one property"},
		{"unknown engine", archive(t, replace("t/infrastructure/manifest.yaml", "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: mustache\n")), Options{}, "not supported"},
		{"customer managed with infrastructure", archive(t, good()), Options{CustomerManaged: true}, "only schema/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.raw, Environment, tc.opts)
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(e.Message, tc.want) {
				t.Errorf("err = %v; want *Error containing %q", err, tc.want)
			}
		})
	}
	pipelineSchema := strings.Replace(strings.Replace(schema, "environment_input_type", "service_input_type", 1), "  types:", "  pipeline_input_type: \"Input\"\n  types:", 1)
	svc := []entry{{Name: "s/schema/schema.yaml", Body: pipelineSchema}, {Name: "s/instance_infrastructure/manifest.yaml", Body: cfnManifest},
		{Name: "s/instance_infrastructure/cloudformation.yaml", Body: "x"}}
	if _, err := Load(archive(t, svc), Service, Options{}); err == nil || !strings.Contains(err.Error(), "no pipeline_infrastructure/") {
		t.Errorf("pipeline_input_type without pipeline folder: %v", err)
	}
}

func TestCustomerManagedSchemaOnly(t *testing.T) {
	b, err := Load(archive(t, []entry{{Name: "t/schema/schema.yaml", Body: schema}}), Environment, Options{CustomerManaged: true})
	if err != nil || b.Infrastructure != nil {
		t.Fatalf("schema-only bundle: %v", err)
	}
}

func load(t *testing.T, s string) *Schema {
	t.Helper()
	sc, err := parseSchema([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestCheckCompatible(t *testing.T) {
	prev := load(t, schema)
	for _, tc := range []struct {
		name, from, to string
		ok             bool
	}{
		{"removed input", "        count:\n          type: number\n          minimum: 1\n          maximum: 10\n          default: 1\n", "", false},
		{"newly required", "required: [name]", "required: [name, size]\n      x-note: size has a default", true},
		{"newly required without default", "required: [name]", "required: [name, count2]\n      x-n: 1", false},
		{"type changed", "          type: number\n          minimum: 1", "          type: integer\n          minimum: 1", false},
		{"enum narrowed", "enum: [small, large]", "enum: [small]", false},
		{"enum widened", "enum: [small, large]", "enum: [small, large, huge]", true},
		{"maximum lowered", "maximum: 10", "maximum: 5", false},
		{"optional input added", "        size:\n", "        extra:\n          type: string\n        size:\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(schema, tc.from, tc.to, 1)
			if tc.name == "newly required without default" {
				text = strings.Replace(text, "        size:\n", "        count2:\n          type: string\n        size:\n", 1)
			}
			err := CheckCompatible(prev, load(t, text))
			if (err == nil) != tc.ok {
				t.Errorf("compatible=%v, err %v", err == nil, err)
			}
		})
	}
}

func TestValidateInputs(t *testing.T) {
	s := load(t, schema)
	for _, tc := range []struct {
		inputs map[string]any
		want   string
	}{
		{map[string]any{"name": "abc"}, ""},
		{map[string]any{"name": "abc", "count": 3, "size": "large"}, ""},
		{map[string]any{}, `input "name" is required`},
		{map[string]any{"name": "ABC"}, `input "name"`},
		{map[string]any{"name": "abc", "size": "medium"}, `input "size"`},
		{map[string]any{"name": "abc", "count": 11}, `input "count"`},
		{map[string]any{"name": "abc", "other": 1}, `input "other" is not defined`},
	} {
		err := s.ValidateInputs("Input", tc.inputs)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: err %v, want %q", tc.inputs, err, tc.want)
		}
	}
	props := s.Properties("Input")
	if len(props) != 3 || props[0].Name != "count" || !props[0].HasDefault || props[1].Name != "name" || !props[1].Required {
		t.Errorf("properties = %+v", props)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(archive(f, good()), false)
	f.Add(archive(f, with(entry{Name: "t/../x", Body: "x"})), true)
	f.Add([]byte{0x1f, 0x8b, 8, 0}, false)
	f.Fuzz(func(t *testing.T, data []byte, customer bool) {
		b, err := Load(data, Environment, Options{CustomerManaged: customer})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("non-bundle error %T: %v", err, err)
			}
			return
		}
		if b.Schema == nil || b.Digest == "" {
			t.Fatalf("bundle without schema or digest")
		}
	})
}

// BenchmarkLoad checks the largest sample bundle (Terraform service: instance and pipeline).
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
