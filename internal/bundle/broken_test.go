package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
)

// zeros is a gzipped tar whose entries are the given sizes of zero bytes: it weighs
// little and unpacks to a lot. Written in chunks so the test does not hold it unpacked.
func zeros(t *testing.T, sizes map[string]int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	chunk := make([]byte, 1<<20)
	for name, size := range sizes {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		for left := size; left > 0; left -= int64(len(chunk)) {
			if _, err := tw.Write(chunk[:min(left, int64(len(chunk)))]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBrokenBundles(t *testing.T) {
	// 6 MB of random data in template-sized files: a well-formed bundle, only too big.
	big := good()
	for i := 0; i < 30; i++ {
		data := make([]byte, 200<<10)
		_, _ = rand.Read(data)
		big = append(big, entry{Name: fmt.Sprintf("t/infrastructure/blob%02d.bin", i), Body: string(data)})
	}
	// A gzip bomb declaring one huge file, and one of many files each under the per-file
	// limit that together pass the unpacked limit.
	oneHuge := zeros(t, map[string]int64{"t/schema/schema.yaml": 1000, "t/infrastructure/huge.yaml": 60 << 20})
	many := map[string]int64{}
	for i := range 300 {
		many[fmt.Sprintf("t/infrastructure/f%03d.tf", i)] = 200 << 10
	}
	manyFiles := zeros(t, many)
	// Skipped entries are read through too: a huge macOS resource fork is still bounded.
	hidden := zeros(t, map[string]int64{"t/._huge": 60 << 20})

	eleven := []entry{{Name: "t/schema/schema.yaml", Body: schema}, {Name: "t/infrastructure/manifest.yaml", Body: tfManifest}}
	for i := range 11 {
		eleven = append(eleven, entry{Name: fmt.Sprintf("t/infrastructure/f%02d.tf", i), Body: "# tf\n"})
	}
	// 6 instance files and 5 pipeline files: the quota is per bundle.
	split := []entry{{Name: "s/schema/schema.yaml", Body: serviceSchema(true)},
		{Name: "s/instance_infrastructure/manifest.yaml", Body: tfManifest}, {Name: "s/pipeline_infrastructure/manifest.yaml", Body: tfManifest}}
	for i := range 11 {
		dir := "instance_infrastructure"
		if i >= 6 {
			dir = "pipeline_infrastructure"
		}
		split = append(split, entry{Name: fmt.Sprintf("s/%s/f%02d.tf", dir, i), Body: "# tf\n"})
	}
	var gzText bytes.Buffer
	gz := gzip.NewWriter(&gzText)
	_, _ = gz.Write([]byte("just some text, not a tar archive, long enough to fill a header block. " + strings.Repeat("x", 600)))
	_ = gz.Close()
	valid := archive(t, good())

	for _, tc := range []struct {
		name string
		raw  []byte
		kind Kind
		opts Options
		want string
	}{
		// The archive itself.
		{"not gzip", []byte("hello"), Environment, Options{}, "the bundle is not a gzip-compressed tar archive"},
		{"gzip but not tar", gzText.Bytes(), Environment, Options{}, "not a valid gzip-compressed tar archive"},
		{"truncated", valid[:len(valid)/2], Environment, Options{}, "not a valid gzip-compressed tar archive"},
		{"empty archive", archive(t, nil), Environment, Options{}, "holds no files"},
		{"traversal", archive(t, with(entry{Name: "t/../../x", Body: "x"})), Environment, Options{}, "t/../../x leaves the bundle (..)"},
		{"traversal folder", archive(t, with(entry{Name: "../up/", Type: tar.TypeDir})), Environment, Options{}, "../up/ leaves the bundle"},
		{"absolute", archive(t, with(entry{Name: "/etc/x", Body: "x"})), Environment, Options{}, "/etc/x is an absolute path"},
		{"symlink", archive(t, with(entry{Name: "t/infrastructure/l", Type: tar.TypeSymlink, Link: "/etc/passwd"})), Environment, Options{}, "t/infrastructure/l is a link (to /etc/passwd)"},
		{"hardlink", archive(t, with(entry{Name: "t/infrastructure/h", Type: tar.TypeLink, Link: "t/schema/schema.yaml"})), Environment, Options{}, "t/infrastructure/h is a link"},
		{"device", archive(t, with(entry{Name: "t/dev", Type: tar.TypeChar})), Environment, Options{}, "t/dev is not a regular file (a character device)"},
		{"fifo", archive(t, with(entry{Name: "t/pipe", Type: tar.TypeFifo})), Environment, Options{}, "t/pipe is not a regular file (a named pipe)"},
		{"duplicate", archive(t, with(entry{Name: "./t/schema/schema.yaml", Body: schema})), Environment, Options{}, "t/schema/schema.yaml appears twice"},
		{"file and folder", archive(t, with(entry{Name: "t/infrastructure/x", Body: "a"}, entry{Name: "t/infrastructure/x/y", Body: "b"})), Environment, Options{}, "t/infrastructure/x is both a file and a folder"},
		{"two top folders", archive(t, with(entry{Name: "other/schema/schema.yaml", Body: schema})), Environment, Options{}, "the archive has 2 top-level folders (other/, t/) and no schema/ at its top"},

		// Quotas.
		{"6 MB", archive(t, big), Environment, Options{}, "; the limit is 5242880 bytes (5 MB)"},
		{"300 KB file", archive(t, with(entry{Name: "t/infrastructure/big.yaml", Body: strings.Repeat("x", 300<<10)})), Environment, Options{}, "t/infrastructure/big.yaml is 307200 bytes; the limit for a file is 204800 bytes (200 KB)"},
		{"60 KB manifest", archive(t, replace("t/infrastructure/manifest.yaml", cfnManifest+"#"+strings.Repeat("x", 60<<10)+"\n")), Environment, Options{}, fmt.Sprintf("infrastructure/manifest.yaml is %d bytes; the limit for a manifest is 51200 bytes (50 KB)", len(cfnManifest)+2+60<<10)},
		{"60 KB schema", archive(t, replace("t/schema/schema.yaml", schema+"#"+strings.Repeat("x", 60<<10)+"\n")), Environment, Options{}, fmt.Sprintf("schema/schema.yaml is %d bytes; the limit for the schema is 51200 bytes (50 KB)", len(schema)+2+60<<10)},
		{"11 template files", archive(t, eleven), Environment, Options{}, "the bundle's manifests name 11 template files; the limit is 10"},
		{"11 template files in two folders", archive(t, split), Service, Options{}, "name 11 template files; the limit is 10"},
		{"bomb: one huge file", oneHuge, Environment, Options{}, "t/infrastructure/huge.yaml is 62914560 bytes; the limit for a file is 204800 bytes"},
		{"bomb: many files", manyFiles, Environment, Options{}, "the bundle unpacks to more than 52428800 bytes (50 MB)"},
		{"bomb: skipped entry", hidden, Environment, Options{}, "the bundle unpacks to more than 52428800 bytes"},

		// Folders and files the kind needs.
		{"missing schema", archive(t, without(good(), "t/schema")), Environment, Options{}, "the bundle has no schema/schema.yaml (its top level holds infrastructure/)"},
		{"missing manifest", archive(t, without(good(), "t/infrastructure/manifest.yaml")), Environment, Options{}, "infrastructure/ has no manifest.yaml"},
		{"missing infrastructure", archive(t, without(good(), "t/infrastructure")), Environment, Options{}, "the bundle has no infrastructure/ folder"},
		{"service bundle as environment", archive(t, replaceIn(service(false), "s/schema/schema.yaml", schema)), Environment, Options{}, "no infrastructure/ folder (it has instance_infrastructure/: is this a service template bundle?)"},
		{"service schema as environment", archive(t, service(false)), Environment, Options{}, "needs environment_input_type (it has service_input_type: is this a service template bundle?)"},
		{"environment bundle as service", valid, Service, Options{}, "needs service_input_type (it has environment_input_type: is this an environment template bundle?)"},
		{"customer managed with infrastructure", valid, Environment, Options{CustomerManaged: true}, "a CUSTOMER_MANAGED environment template's bundle holds only schema/; remove infrastructure/"},
		{"pipeline type without pipeline folder", archive(t, replaceIn(service(false), "s/schema/schema.yaml", serviceSchema(true))), Service, Options{}, "schema/schema.yaml: the schema has pipeline_input_type but the bundle has no pipeline_infrastructure/ folder"},
		{"pipeline folder without pipeline type", archive(t, replaceIn(service(true), "s/schema/schema.yaml", serviceSchema(false))), Service, Options{}, "the bundle has pipeline_infrastructure/ but the schema has no pipeline_input_type"},
		{"pipeline folder without manifest", archive(t, without(service(true), "s/pipeline_infrastructure/manifest.yaml")), Service, Options{}, "pipeline_infrastructure/ has no manifest.yaml"},

		// Manifests.
		{"bad manifest yaml", archive(t, replace("t/infrastructure/manifest.yaml", "infrastructure:\n  templates:\n    - file: a: b\n")), Environment, Options{}, "infrastructure/manifest.yaml: line 3: mapping values are not allowed in this context"},
		{"manifest of the wrong shape", archive(t, replace("t/infrastructure/manifest.yaml", "infrastructure:\n  templates: cloudformation.yaml\n")), Environment, Options{}, "infrastructure/manifest.yaml: line 2: found a string `cloudfo...` where a list is expected"},
		{"no templates", archive(t, replace("t/infrastructure/manifest.yaml", "infrastructure: {}\n")), Environment, Options{}, "infrastructure/manifest.yaml: infrastructure.templates lists no template"},
		{"missing template file", archive(t, without(good(), "t/infrastructure/cloudformation.yaml")), Environment, Options{}, `infrastructure/manifest.yaml: infrastructure.templates[0]: template file "cloudformation.yaml" is not in the folder`},
		{"template file outside the folder", archive(t, replace("t/infrastructure/manifest.yaml", strings.Replace(cfnManifest, "cloudformation.yaml", "../schema/schema.yaml", 1))), Environment, Options{}, `template file "../schema/schema.yaml" is not in the folder`},
		{"two cloudformation files", archive(t, append(replace("t/infrastructure/manifest.yaml", strings.Replace(cfnManifest, "file: cloudformation.yaml", "files: [cloudformation.yaml, more.yaml]", 1)), entry{Name: "t/infrastructure/more.yaml", Body: "x"})), Environment, Options{}, "a CloudFormation template is exactly one file, not 2"},
		{"unknown engine", archive(t, replace("t/infrastructure/manifest.yaml", "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: mustache\n")), Environment, Options{}, `rendering_engine "mustache" with template_language "" is not supported; use jinja with cloudformation, hcl with terraform, or codebuild`},
		{"jinja with terraform", archive(t, replace("t/infrastructure/manifest.yaml", strings.Replace(cfnManifest, "template_language: cloudformation", "template_language: terraform", 1))), Environment, Options{}, `rendering_engine "jinja" with template_language "terraform" is not supported`},
		{"codebuild without settings", archive(t, replace("t/infrastructure/manifest.yaml", "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n")), Environment, Options{}, "a codebuild template needs settings:"},
		{"codebuild without provision", archive(t, replace("t/infrastructure/manifest.yaml", "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n      settings:\n        image: x\n")), Environment, Options{}, "settings.provision lists no command"},

		// Schemas.
		{"bad schema yaml", archive(t, replace("t/schema/schema.yaml", "schema:\n  format:\n    openapi: \"3.0.0\"\n  types: [\n")), Environment, Options{}, "schema/schema.yaml: line 4: did not find expected node content"},
		{"no schema key", archive(t, replace("t/schema/schema.yaml", "types: {}\n")), Environment, Options{}, "schema/schema.yaml: the file has no top-level schema: key"},
		{"not openapi 3", archive(t, replace("t/schema/schema.yaml", strings.Replace(schema, `openapi: "3.0.0"`, `swagger: "2.0"`, 1))), Environment, Options{}, `schema/schema.yaml: schema.format.openapi must be "3.0.0", not ""`},
		{"no properties", archive(t, replace("t/schema/schema.yaml", "schema:\n  format:\n    openapi: \"3.0.0\"\n  environment_input_type: I\n  types:\n    I:\n      type: object\n")), Environment, Options{}, "schema/schema.yaml: line 6: types.I: input type I needs at least one property"},
		{"input type not under types", archive(t, replace("t/schema/schema.yaml", strings.Replace(schema, `environment_input_type: "Input"`, `environment_input_type: "Missing"`, 1))), Environment, Options{}, `environment_input_type names type "Missing", which is not under types`},
		{"input type not an object", archive(t, replace("t/schema/schema.yaml", strings.Replace(schema, "      type: object\n", "      type: string\n", 1))), Environment, Options{}, "types.Input is an input type, so it must be type: object, not string"},
		{"required input not a property", archive(t, replace("t/schema/schema.yaml", strings.Replace(schema, "required: [name]", "required: [name, nope]", 1))), Environment, Options{}, `types.Input: required input "nope" is not under properties`},
		{"bad keyword value", archive(t, replace("t/schema/schema.yaml", strings.Replace(schema, "minimum: 1", "minimum: one", 1))), Environment, Options{}, "schema/schema.yaml: line 17: types.Input.properties.count: minimum: found string where a number is expected"},
		{"unknown type", archive(t, replace("t/schema/schema.yaml", strings.Replace(schema, "          type: string\n          pattern", "          type: text\n          pattern", 1))), Environment, Options{}, `schema/schema.yaml: line 10: types.Input.properties.name: unsupported 'type' value "text"`},
		{"default of the wrong type", archive(t, replace("t/schema/schema.yaml", strings.Replace(schema, "default: small", "default: 3", 1))), Environment, Options{}, "line 13: types.Input.properties.size: invalid default: value is not one of the allowed values"},
		{"bad pattern", archive(t, replace("t/schema/schema.yaml", strings.Replace(schema, `pattern: "^[a-z]+$"`, `pattern: "^(?!x)"`, 1))), Environment, Options{}, "line 10: types.Input.properties.name: "},
		{"$ref", archive(t, replace("t/schema/schema.yaml", strings.Replace(schema, "          type: string\n          pattern: \"^[a-z]+$\"\n", "          $ref: '#/types/Name'\n", 1))), Environment, Options{}, "schema/schema.yaml: line 11: types.Input.properties.name: $ref is not supported"},
		{"property without schema", archive(t, replace("t/schema/schema.yaml", strings.Replace(schema, "        size:\n          type: string\n          enum: [small, large]\n          default: small\n", "        size:\n", 1))), Environment, Options{}, "types.Input.properties.size: a schema is a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.raw, tc.kind, tc.opts)
			wantError(t, err, tc.want)
			t.Log(err) // read them with -v: these are what users see
		})
	}
}
