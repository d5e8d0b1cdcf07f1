package gitsync

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openproton/openproton/internal/bundle"
)

const (
	envSchema = `schema:
  format:
    openapi: "3.0.0"
  environment_input_type: "Input"
  types:
    Input:
      type: object
      properties:
        name:
          type: string
          default: x
`
	cfnManifest = "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n"
	cfn         = "Resources: {}\n"
)

var svcSchema = strings.Replace(envSchema, "environment_input_type", "service_input_type", 1)

// envMajor is an environment template's v<N> folder at dir.
func envMajor(dir, marker string) map[string]string {
	return map[string]string{
		dir + "/schema/schema.yaml":                 envSchema,
		dir + "/infrastructure/manifest.yaml":       cfnManifest,
		dir + "/infrastructure/cloudformation.yaml": cfn + "# " + marker + "\n",
	}
}

// svcMajor is a service template's v<N> folder at dir, with its registration.
func svcMajor(dir, registration string) map[string]string {
	return map[string]string{
		dir + "/schema/schema.yaml":                          svcSchema,
		dir + "/instance_infrastructure/manifest.yaml":       cfnManifest,
		dir + "/instance_infrastructure/cloudformation.yaml": cfn,
		dir + "/" + RegistrationFile:                         registration,
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func majorsOf(t *testing.T, s *Snapshot, kind bundle.Kind, sub, name string) []Major {
	t.Helper()
	ms, err := TemplateMajors(s, kind, sub, name)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func numbers(ms []Major) []int {
	out := []int{}
	for _, m := range ms {
		out = append(out, m.Major)
	}
	return out
}

func TestEnvironmentTemplateMajors(t *testing.T) {
	r := newRepo(t)
	r.commit(merge(
		envMajor("templates/my-env/v1", "one"),
		envMajor("templates/my-env/v2", "two"),
		envMajor("templates/my-env/v01", "leading zero"),
		envMajor("templates/my-env/v0", "zero"),
		envMajor("templates/my-env/V3", "capital"),
		envMajor("templates/my-env/vx", "not a number"),
		envMajor("templates/other/v1", "other template"),
		map[string]string{
			"templates/my-env/README.md":                    "about\n",
			"templates/my-env/v4":                           "a file, not a folder\n",
			"templates/my-env/v1/" + RegistrationFile:       "stray: file\n", // not a service template: ignored
			"templates/my-env/v2/README.md":                 "part of the bundle\n",
			"templates/my-env/v2/schema/.DS_Store":          "finder\n",
			"templates/my-env/v2/._README.md":               "finder\n",
			"code/service.go":                               "package main\n",
			"docs/my-env/notes.md":                          "no majors here\n",
			"templates/other/v1/infrastructure/my-env/v9/x": "deeper than templates/my-env\n",
		}))
	s := r.fetch()

	ms := majorsOf(t, s, bundle.Environment, "templates", "my-env")
	if diff := cmp.Diff([]int{1, 2}, numbers(ms)); diff != "" {
		t.Fatalf("majors (-want +got):\n%s", diff)
	}
	for _, m := range ms {
		if m.Err != nil || m.Registration != nil {
			t.Errorf("v%d: err %v, registration %+v", m.Major, m.Err, m.Registration)
		}
		if want := "templates/my-env/v" + itoa(m.Major); m.Dir != want {
			t.Errorf("v%d: Dir = %q; want %q", m.Major, m.Dir, want)
		}
		b, err := bundle.Load(m.Bundle, bundle.Environment, bundle.Options{})
		if err != nil {
			t.Fatalf("v%d: bundle.Load: %v", m.Major, err)
		}
		if b.Digest != m.Digest {
			t.Errorf("v%d: Digest %s; bundle.Load's is %s", m.Major, m.Digest, b.Digest)
		}
		files := tarFiles(t, m.Bundle)
		if _, ok := files["v"+itoa(m.Major)+"/"+RegistrationFile]; ok {
			t.Errorf("v%d: the registration file is in the bundle", m.Major)
		}
	}
	if got := tarFiles(t, ms[1].Bundle); string(got["v2/README.md"]) != "part of the bundle\n" || len(got) != 4 {
		t.Errorf("v2's bundle holds %v", keys(got))
	}

	// However the subdirectory is written, and when the template's folder is searched
	// for, the same folder is found.
	for _, sub := range []string{"/templates/", "templates/", "./templates", "", "/", "templates/my-env", "/templates/my-env/"} {
		got := majorsOf(t, s, bundle.Environment, sub, "my-env")
		if len(got) != 2 || got[0].Dir != "templates/my-env/v1" || got[0].Digest != ms[0].Digest || !bytes.Equal(got[1].Bundle, ms[1].Bundle) {
			t.Errorf("subdirectory %q: %v at %v", sub, numbers(got), dirs(got))
		}
	}
	// Nothing to sync is not an error.
	for _, tc := range []struct{ sub, name string }{{"code", "my-env"}, {"missing", "my-env"}, {"", "absent"}, {"docs", "my-env"}} {
		if got := majorsOf(t, s, bundle.Environment, tc.sub, tc.name); len(got) != 0 {
			t.Errorf("%s in %q: majors %v", tc.name, tc.sub, dirs(got))
		}
	}
	// The search stays inside the subdirectory: templates/other holds a deeper my-env.
	if got := majorsOf(t, s, bundle.Environment, "templates/other", "my-env"); len(got) != 1 || got[0].Dir != "templates/other/v1/infrastructure/my-env/v9" {
		t.Errorf("my-env under templates/other: %v", dirs(got))
	}
	for _, tc := range []struct{ sub, name, want string }{
		{"../templates", "my-env", "subdirectory"},
		{"templates", "my env", "not a template name"},
		{"templates", "", "not a template name"},
	} {
		if _, err := TemplateMajors(s, bundle.Environment, tc.sub, tc.name); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("TemplateMajors(%q, %q): err = %v; want %q", tc.sub, tc.name, err, tc.want)
		}
	}

	// Bundles are the same bytes every time.
	again := majorsOf(t, r.fetch(), bundle.Environment, "templates", "my-env")
	if !bytes.Equal(again[0].Bundle, ms[0].Bundle) {
		t.Error("the same folder packed into different bytes")
	}
	checkTarHeaders(t, ms[0].Bundle, "v1/")

	// A commit that leaves a major alone leaves its digest alone; a change to one file of
	// a major changes that major's digest only.
	r.commit(map[string]string{"templates/my-env/README.md": "more\n", "templates/other/v1/schema/schema.yaml": "changed\n",
		"templates/my-env/v1/" + RegistrationFile: "compatible_environments: [x:1]\n"})
	later := majorsOf(t, r.fetch(), bundle.Environment, "templates", "my-env")
	if later[0].Digest != ms[0].Digest || later[1].Digest != ms[1].Digest || !bytes.Equal(later[0].Bundle, ms[0].Bundle) {
		t.Error("a commit outside the bundles changed a digest")
	}
	r.commit(map[string]string{"templates/my-env/v2/infrastructure/cloudformation.yaml": cfn + "# changed\n"})
	changed := majorsOf(t, r.fetch(), bundle.Environment, "templates", "my-env")
	if changed[0].Digest != ms[0].Digest || changed[1].Digest == ms[1].Digest {
		t.Errorf("after changing v2: v1 digest same %v, v2 digest same %v", changed[0].Digest == ms[0].Digest, changed[1].Digest == ms[1].Digest)
	}
	// A renamed file is a change too.
	r.commit(map[string]string{"templates/my-env/v2/README.md": gone, "templates/my-env/v2/README.txt": "part of the bundle\n"})
	if renamed := majorsOf(t, r.fetch(), bundle.Environment, "templates", "my-env"); renamed[1].Digest == changed[1].Digest {
		t.Error("renaming a file left the digest alone")
	}
}

func TestServiceTemplateMajors(t *testing.T) {
	const reg = "compatible_environments:\n  - my-env:1\n  - my-env:2\nsupported_component_sources:\n  - DIRECTLY_DEFINED\n"
	noRegistration := svcMajor("my-svc/v4", "")
	delete(noRegistration, "my-svc/v4/"+RegistrationFile)
	r := newRepo(t)
	r.commit(merge(
		svcMajor("my-svc/v1", reg),
		svcMajor("my-svc/v2", "compatible_environments: [my-env:1]\n"),
		svcMajor("my-svc/v3", "compatible_environments:\n  - my-env\n"),
		noRegistration,
		map[string]string{
			"my-svc/v5/schema/schema.yaml":    svcSchema,
			"my-svc/v5/" + CompatibleEnvsFile: "my-env:2\n\n  other-env:1  \n",
		},
	))
	ms := majorsOf(t, r.fetch(), bundle.Service, "", "my-svc")
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5}, numbers(ms)); diff != "" {
		t.Fatalf("majors (-want +got):\n%s", diff)
	}
	v1 := ms[0]
	if v1.Err != nil {
		t.Fatal(v1.Err)
	}
	want := &Registration{
		CompatibleEnvironments:    []CompatibleEnvironment{{"my-env", "1"}, {"my-env", "2"}},
		SupportedComponentSources: []string{DirectlyDefined},
	}
	if diff := cmp.Diff(want, v1.Registration); diff != "" {
		t.Errorf("v1 registration (-want +got):\n%s", diff)
	}
	b, err := bundle.Load(v1.Bundle, bundle.Service, bundle.Options{})
	if err != nil {
		t.Fatalf("bundle.Load: %v", err)
	}
	if b.Infrastructure == nil || b.Schema.ServiceInputType != "Input" {
		t.Errorf("service bundle: %+v", b)
	}
	if _, ok := tarFiles(t, v1.Bundle)["v1/"+RegistrationFile]; ok {
		t.Error("the registration file is in the bundle")
	}
	// The digest covers the registration, so it differs from the bundle's own.
	if v1.Digest == b.Digest {
		t.Error("the registration is not part of the digest")
	}

	// A broken major does not stop the others; its error names the file and the line.
	for i, want := range []string{
		"",
		"my-svc/v3/.template-registration.yaml: line 2: compatible_environments item 1",
		"my-svc/v4 has no .template-registration.yaml",
		"",
	} {
		m := ms[i+1]
		switch {
		case want == "" && m.Err != nil:
			t.Errorf("v%d: %v", m.Major, m.Err)
		case want != "" && (m.Err == nil || !strings.Contains(m.Err.Error(), want)):
			t.Errorf("v%d: err = %v; want %q", m.Major, m.Err, want)
		case want != "" && (m.Bundle != nil || m.Digest != "" || m.Registration != nil):
			t.Errorf("v%d failed but has a bundle, digest or registration", m.Major)
		}
	}
	if got := ms[4].Registration; got == nil || !cmp.Equal(got.CompatibleEnvironments, []CompatibleEnvironment{{"my-env", "2"}, {"other-env", "1"}}) {
		t.Errorf("v5 from .compatible-envs: %+v", got)
	}

	// Changing only the registration changes the digest, not the bundle.
	r.commit(map[string]string{"my-svc/v1/" + RegistrationFile: reg + "  # another line\n", "my-svc/v2/" + RegistrationFile: "compatible_environments: [my-env:1, my-env:3]\n"})
	edited := majorsOf(t, r.fetch(), bundle.Service, "", "my-svc")
	if edited[0].Digest != v1.Digest {
		t.Error("a comment in the registration changed the digest")
	}
	if edited[1].Digest == ms[1].Digest || !bytes.Equal(edited[1].Bundle, ms[1].Bundle) {
		t.Errorf("a new compatible environment: digest changed %v, bundle unchanged %v",
			edited[1].Digest != ms[1].Digest, bytes.Equal(edited[1].Bundle, ms[1].Bundle))
	}
	// The same registration in another order, or in the legacy file, is the same digest.
	r.commit(map[string]string{"my-svc/v2/" + RegistrationFile: "compatible_environments:\n- my-env:3\n- my-env:1\n- my-env:3\n"})
	if got := majorsOf(t, r.fetch(), bundle.Service, "", "my-svc"); got[1].Digest != edited[1].Digest {
		t.Error("reordering compatible environments changed the digest")
	}
	r.commit(map[string]string{"my-svc/v2/" + RegistrationFile: gone, "my-svc/v2/" + CompatibleEnvsFile: "my-env:1\nmy-env:3\n"})
	legacy := majorsOf(t, r.fetch(), bundle.Service, "", "my-svc")
	if legacy[1].Digest != edited[1].Digest {
		t.Error("moving to .compatible-envs changed the digest")
	}
	// With both files, .template-registration.yaml wins.
	r.commit(map[string]string{"my-svc/v2/" + RegistrationFile: "compatible_environments: [my-env:9]\n"})
	both := majorsOf(t, r.fetch(), bundle.Service, "", "my-svc")
	if got := both[1].Registration; got == nil || !cmp.Equal(got.CompatibleEnvironments, []CompatibleEnvironment{{"my-env", "9"}}) {
		t.Errorf("with both files: %+v", got)
	}
	// Removing the component sources is a change.
	r.commit(map[string]string{"my-svc/v1/" + RegistrationFile: "compatible_environments: [my-env:2, my-env:1]\n"})
	if got := majorsOf(t, r.fetch(), bundle.Service, "", "my-svc"); got[0].Digest == v1.Digest {
		t.Error("dropping supported_component_sources left the digest alone")
	}
}

// A symbolic link keeps its major from syncing; the other majors sync.
func TestLinkInMajor(t *testing.T) {
	r := newRepo(t)
	r.commit(merge(envMajor("t/v1", "one"), envMajor("t/v2", "two"), map[string]string{
		"t/v2/infrastructure/extra.yaml": link + "../../v1/infrastructure/cloudformation.yaml",
		"t/v3":                           link + "v1", // a link named like a major is not a folder
	}))
	ms := majorsOf(t, r.fetch(), bundle.Environment, "", "t")
	if len(ms) != 2 {
		t.Fatalf("majors %v", dirs(ms))
	}
	if ms[0].Err != nil {
		t.Errorf("v1: %v", ms[0].Err)
	}
	if err := ms[1].Err; err == nil || !strings.Contains(err.Error(), "t/v2/infrastructure/extra.yaml is a symbolic link") {
		t.Errorf("v2: err = %v", err)
	}
}

// samplesDir holds the real Proton sample bundles, beside the project.
var samplesDir = filepath.Join("..", "..", "..", "shared", "samples")

// The real sample templates, pushed in the layout template sync expects, come out as
// bundles that load, with the registrations they carry.
func TestSampleTemplates(t *testing.T) {
	if _, err := os.Stat(samplesDir); err != nil {
		t.Skipf("no sample bundles: %v", err)
	}
	samples := []struct {
		dir  string
		kind bundle.Kind
		envs []CompatibleEnvironment
	}{
		{"cloudformation/environment-templates/vpc-env", bundle.Environment, nil},
		{"cloudformation/service-templates/apigw-lambda-svc", bundle.Service, []CompatibleEnvironment{{"vpc-env", "1"}}},
		{"terraform/service-templates/apprunner-svc", bundle.Service, []CompatibleEnvironment{{"vpc-env", "1"}}},
		{"codebuild/cdk/service-templates/cdk-ecs-fargate-service-ci-pipeline", bundle.Service, []CompatibleEnvironment{{"cdk-vpc-ecs-cluster", "1"}}},
	}
	files := map[string]string{}
	for _, sm := range samples {
		root := filepath.Join(samplesDir, filepath.FromSlash(sm.dir), "v1")
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			files["templates/"+path.Base(sm.dir)+"/v1/"+filepath.ToSlash(rel)] = string(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r := newRepo(t)
	r.commit(files)
	s := r.fetch()
	for _, sm := range samples {
		name := path.Base(sm.dir)
		t.Run(name, func(t *testing.T) {
			ms := majorsOf(t, s, sm.kind, "templates", name)
			if len(ms) != 1 || ms[0].Err != nil {
				t.Fatalf("majors %v, err %v", dirs(ms), firstErr(ms))
			}
			m := ms[0]
			b, err := bundle.Load(m.Bundle, sm.kind, bundle.Options{})
			if err != nil {
				t.Fatalf("bundle.Load: %v", err)
			}
			want, err := bundle.LoadDir(filepath.Join(samplesDir, filepath.FromSlash(sm.dir), "v1"), sm.kind, bundle.Options{})
			if err != nil {
				t.Fatalf("bundle.LoadDir: %v", err)
			}
			if b.SchemaText != want.SchemaText || !cmp.Equal(b.Infrastructure.Files, want.Infrastructure.Files) {
				t.Error("the synced bundle differs from the sample folder")
			}
			if sm.kind == bundle.Environment && m.Digest != want.Digest {
				t.Errorf("digest %s; the sample folder's is %s", m.Digest, want.Digest)
			}
			var got []CompatibleEnvironment
			if m.Registration != nil {
				got = m.Registration.CompatibleEnvironments
			}
			if diff := cmp.Diff(sm.envs, got); diff != "" {
				t.Errorf("compatible environments (-want +got):\n%s", diff)
			}
		})
	}
}

func firstErr(ms []Major) error {
	for _, m := range ms {
		if m.Err != nil {
			return m.Err
		}
	}
	return nil
}

// tarFiles unpacks a bundle.
func tarFiles(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = body
	}
}

// checkTarHeaders checks that every entry is a sorted regular file under top with the
// fixed mode, time and owner, and that the gzip header carries no name or time.
func checkTarHeaders(t *testing.T, data []byte, top string) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("gzip header: name %q, time %v", gz.Name, gz.ModTime)
	}
	tr := tar.NewReader(gz)
	prev := ""
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg || !strings.HasPrefix(hdr.Name, top) || hdr.Name <= prev ||
			hdr.Mode != 0o644 || hdr.ModTime.Unix() != 0 || hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("entry %+v", hdr)
		}
		prev = hdr.Name
	}
}

func dirs(ms []Major) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Dir)
	}
	return out
}

func keys(m map[string][]byte) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
