package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"time"
)

// Archives shaped the ways real tools make them all load as the same bundle.
func TestArchiveLayouts(t *testing.T) {
	want, err := Load(archive(t, good()), Environment, Options{})
	if err != nil {
		t.Fatal(err)
	}
	top := without(good(), "t/schema", "t/infrastructure")
	for _, e := range good() {
		e.Name = e.Name[len("t/"):]
		top = append(top, e)
	}
	dotted := good()
	for i := range dotted {
		dotted[i].Name = "./" + dotted[i].Name
	}
	for _, tc := range []struct {
		name    string
		entries []entry
	}{
		{"folders at the top", top},
		{"./ prefixes", dotted},
		{"folder entries", append([]entry{{Name: "t/", Type: tar.TypeDir}, {Name: "t/schema/", Type: tar.TypeDir}, {Name: "t/infrastructure/", Type: tar.TypeDir}}, good()...)},
		{"macOS leftovers", with(entry{Name: "t/._schema", Body: "\x00\x05\x16\x07"}, entry{Name: "t/infrastructure/.DS_Store", Body: "junk"}, entry{Name: "._t", Body: "x"})},
		{"loose file beside the folder", with(entry{Name: "README.md", Body: "not part of the bundle"})},
		{"other folder name", rename(good(), "t/", "my-template-v2/")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Load(archive(t, tc.entries), Environment, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if b.Digest != want.Digest {
				t.Errorf("digest differs from the plain archive's")
			}
			if got := b.Infrastructure.Files["cloudformation.yaml"]; string(got) != "Resources: {}\n" {
				t.Errorf("cloudformation.yaml = %q", got)
			}
		})
	}

	// Timestamps and modes are not content; nor is the pax global header `git archive`
	// starts with.
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "0123abcd"}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range good() {
		_ = tw.WriteHeader(&tar.Header{Name: e.Name, Mode: 0o755, Size: int64(len(e.Body)), Typeflag: tar.TypeReg,
			ModTime: time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC), Uname: "someone"})
		_, _ = tw.Write([]byte(e.Body))
	}
	_ = tw.Close()
	_ = gz.Close()
	if b, err := Load(buf.Bytes(), Environment, Options{}); err != nil || b.Digest != want.Digest {
		t.Errorf("other timestamps and modes, pax header: err %v, same digest %v", err, err == nil && b.Digest == want.Digest)
	}

	// A file that moves is a different bundle.
	moved := append(without(good(), "t/infrastructure/cloudformation.yaml"), entry{Name: "t/infrastructure/cfn.yaml", Body: "Resources: {}\n"})
	moved = replaceIn(moved, "t/infrastructure/manifest.yaml", strings.Replace(cfnManifest, "file: cloudformation.yaml", "file: cfn.yaml", 1))
	if b, err := Load(archive(t, moved), Environment, Options{}); err != nil || b.Digest == want.Digest {
		t.Errorf("renamed file: err %v, digest unchanged %v", err, err == nil && b.Digest == want.Digest)
	}
}

func rename(entries []entry, from, to string) []entry {
	for i := range entries {
		entries[i].Name = to + entries[i].Name[len(from):]
	}
	return entries
}

func TestCustomerManagedSchemaOnly(t *testing.T) {
	b, err := Load(archive(t, []entry{{Name: "t/schema/schema.yaml", Body: schema}}), Environment, Options{CustomerManaged: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.Infrastructure != nil || b.Pipeline != nil || b.Schema.EnvironmentInputType != "Input" {
		t.Errorf("schema-only bundle: %+v", b)
	}
	// Without the option the same bundle lacks its infrastructure.
	_, err = Load(archive(t, []entry{{Name: "t/schema/schema.yaml", Body: schema}}), Environment, Options{})
	wantError(t, err, "the bundle has no infrastructure/ folder")
}

func TestServiceBundles(t *testing.T) {
	b, err := Load(archive(t, service(true)), Service, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Pipeline == nil || b.Infrastructure == nil || b.Schema.PipelineInputType != "Input" || b.Schema.ServiceInputType != "Input" {
		t.Errorf("with pipeline: %+v", b)
	}
	b, err = Load(archive(t, service(false)), Service, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Pipeline != nil || b.Schema.PipelineInputType != "" {
		t.Errorf("without pipeline: %+v", b)
	}
}
