package bundle

import (
	"strings"
	"testing"
)

// Small hand-written bundles the tests bend out of shape.

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

const tfManifest = "infrastructure:\n  templates:\n    - file: \"*\"\n      rendering_engine: hcl\n      template_language: terraform\n"

const codebuildManifest = `infrastructure:
  templates:
    - rendering_engine: codebuild
      settings:
        image: aws/codebuild/standard:6.0
        runtimes:
          nodejs: 16
          golang: 1.20
        env:
          variables:
            TF_VERSION: 1.10
            DEBUG: true
          secrets_manager:
            TOKEN: "proton/token:Secret"
        provision:
          - ./deploy.sh
        deprovision:
          - ./destroy.sh
        project_properties:
          BuildTimeout: 60
`

// serviceSchema has service_input_type and, with a pipeline, pipeline_input_type.
func serviceSchema(pipeline bool) string {
	s := strings.Replace(schema, "environment_input_type", "service_input_type", 1)
	if pipeline {
		s = strings.Replace(s, "  types:", "  pipeline_input_type: \"Input\"\n  types:", 1)
	}
	return s
}

// good is a valid environment bundle wrapped in folder t/.
func good() []entry {
	return []entry{{Name: "t/schema/schema.yaml", Body: schema}, {Name: "t/infrastructure/manifest.yaml", Body: cfnManifest},
		{Name: "t/infrastructure/cloudformation.yaml", Body: "Resources: {}\n"}}
}

// service is a valid service bundle wrapped in folder s/.
func service(pipeline bool) []entry {
	out := []entry{{Name: "s/schema/schema.yaml", Body: serviceSchema(pipeline)},
		{Name: "s/instance_infrastructure/manifest.yaml", Body: cfnManifest},
		{Name: "s/instance_infrastructure/cloudformation.yaml", Body: "Resources: {}\n"}}
	if pipeline {
		out = append(out, entry{Name: "s/pipeline_infrastructure/manifest.yaml", Body: cfnManifest},
			entry{Name: "s/pipeline_infrastructure/cloudformation.yaml", Body: "Resources: {}\n"})
	}
	return out
}

func with(extra ...entry) []entry { return append(good(), extra...) }

// replace gives good() with one file's content replaced.
func replace(name, body string) []entry { return replaceIn(good(), name, body) }

func replaceIn(entries []entry, name, body string) []entry {
	found := false
	for i := range entries {
		if entries[i].Name == name {
			entries[i].Body, found = body, true
		}
	}
	if !found {
		panic("replace: no entry " + name)
	}
	return entries
}

// without gives entries with the named ones (and anything under them) left out.
func without(entries []entry, names ...string) []entry {
	var out []entry
next:
	for _, e := range entries {
		for _, n := range names {
			if e.Name == n || strings.HasPrefix(e.Name, n+"/") {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

// schemaWith gives the test schema with one piece of text replaced (it must be there).
func schemaWith(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(schema, old) {
		t.Fatalf("schema has no %q", old)
	}
	return strings.Replace(schema, old, new, 1)
}

func load(t *testing.T, s string) *Schema {
	t.Helper()
	sc, err := parseSchema([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
