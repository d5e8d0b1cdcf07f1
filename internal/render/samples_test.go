package render

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// samplesDir is ../shared/samples next to the repository (see its README);
// tests skip the samples when it is absent.
var samplesDir = filepath.Join("..", "..", "..", "shared", "samples")

var outputRefRe = regexp.MustCompile(`outputs\.([A-Za-z0-9_]+)`)

// sampleCases builds one case per Jinja template of the shared samples (one
// per spec instance for service instance templates), with a context made from
// the sample's spec over its schema defaults and invented outputs for every
// `outputs.X` the template references.
func sampleCases(t *testing.T) []renderCase {
	t.Helper()
	if _, err := os.Stat(samplesDir); err != nil {
		t.Logf("no samples at %s: skipping them", samplesDir)
		return nil
	}
	var manifests []string
	err := filepath.WalkDir(samplesDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "manifest.yaml" {
			manifests = append(manifests, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(manifests)

	var cases []renderCase
	for _, manifest := range manifests {
		var m struct {
			Infrastructure struct {
				Templates []struct {
					File            string `yaml:"file"`
					RenderingEngine string `yaml:"rendering_engine"`
				} `yaml:"templates"`
			} `yaml:"infrastructure"`
		}
		readYAML(t, manifest, &m)
		for _, tpl := range m.Infrastructure.Templates {
			if tpl.RenderingEngine != "jinja" {
				continue
			}
			path := filepath.Join(filepath.Dir(manifest), tpl.File)
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(samplesDir, path)
			for i, ctx := range sampleContexts(t, path, string(text)) {
				data, err := json.Marshal(ctx)
				if err != nil {
					t.Fatal(err)
				}
				name := rel
				if i > 0 {
					name += "#" + string(rune('0'+i))
				}
				cases = append(cases, renderCase{Name: "samples/" + name, Template: string(text), Context: string(data)})
			}
		}
	}
	return cases
}

// sampleContexts returns the Proton namespaces the template at path is
// rendered with, by the kind of its folder.
func sampleContexts(t *testing.T, path, text string) []map[string]any {
	t.Helper()
	infraDir := filepath.Dir(path)
	versionDir := filepath.Dir(infraDir)
	templateDir := filepath.Dir(versionDir)
	templateName := filepath.Base(templateDir)

	var schema struct {
		Schema struct {
			EnvironmentInputType string `yaml:"environment_input_type"`
			ServiceInputType     string `yaml:"service_input_type"`
			PipelineInputType    string `yaml:"pipeline_input_type"`
			Types                map[string]struct {
				Properties map[string]struct {
					Default any `yaml:"default"`
				} `yaml:"properties"`
			} `yaml:"types"`
		} `yaml:"schema"`
	}
	readYAML(t, filepath.Join(versionDir, "schema", "schema.yaml"), &schema)
	inputs := func(typ string, spec map[string]any) map[string]any {
		out := map[string]any{}
		for name, prop := range schema.Schema.Types[typ].Properties {
			if prop.Default != nil {
				out[name] = prop.Default
			}
		}
		for k, v := range spec {
			out[k] = v
		}
		return out
	}

	var spec struct {
		Spec      map[string]any `yaml:"spec"`
		Pipeline  map[string]any `yaml:"pipeline"`
		Instances []struct {
			Name        string         `yaml:"name"`
			Environment string         `yaml:"environment"`
			Spec        map[string]any `yaml:"spec"`
		} `yaml:"instances"`
	}
	specFiles, _ := filepath.Glob(filepath.Join(templateDir, "spec", "*.yaml"))
	for _, f := range specFiles {
		readYAML(t, f, &spec)
	}

	service := map[string]any{
		"name":                      templateName,
		"branch_name":               "main",
		"repository_connection_arn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/0a1b2c3d",
		"repository_id":             "example-org/" + templateName,
	}
	outputsFor := func(in map[string]any) map[string]any {
		outs := map[string]any{}
		for _, m := range outputRefRe.FindAllStringSubmatch(text, -1) {
			outs[m[1]] = inventedOutput(m[1], in)
		}
		return outs
	}
	envOf := func(name string) map[string]any {
		return map[string]any{"name": name, "account_id": "123456789012", "outputs": outputsFor(nil)}
	}

	switch filepath.Base(infraDir) {
	case "infrastructure":
		return []map[string]any{{
			"environment": map[string]any{
				"name":   templateName + "-prod",
				"inputs": inputs(schema.Schema.EnvironmentInputType, spec.Spec),
			},
		}}
	case "instance_infrastructure":
		var ctxs []map[string]any
		for _, inst := range spec.Instances {
			ctxs = append(ctxs, map[string]any{
				"environment": envOf(inst.Environment),
				"service":     service,
				"service_instance": map[string]any{
					"name":   inst.Name,
					"inputs": inputs(schema.Schema.ServiceInputType, inst.Spec),
				},
			})
		}
		return ctxs
	case "pipeline_infrastructure":
		var instances []any
		for _, inst := range spec.Instances {
			in := inputs(schema.Schema.ServiceInputType, inst.Spec)
			instances = append(instances, map[string]any{
				"name":        inst.Name,
				"inputs":      in,
				"outputs":     outputsFor(in),
				"environment": envOf(inst.Environment),
			})
		}
		return []map[string]any{{
			"pipeline":          map[string]any{"inputs": inputs(schema.Schema.PipelineInputType, spec.Pipeline)},
			"service":           service,
			"service_instances": instances,
		}}
	}
	t.Fatalf("%s: unknown template folder %s", path, filepath.Base(infraDir))
	return nil
}

// inventedOutput makes up a value for output name. An output named after an
// input (LambdaRuntime for lambda_runtime) echoes it, as the samples' own
// stacks do; anything else gets a recognisable placeholder.
func inventedOutput(name string, inputs map[string]any) any {
	for k, v := range inputs {
		if strings.EqualFold(strings.ReplaceAll(k, "_", ""), name) {
			return v
		}
	}
	return name + "-value"
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestSamplesRender renders every Jinja sample with Render alone, so the
// samples are exercised even where Python Jinja2 is not installed.
func TestSamplesRender(t *testing.T) {
	cases := sampleCases(t)
	if len(cases) == 0 {
		t.Skip("no Jinja samples found at " + samplesDir)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			out, err := renderCaseWithGo(c)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, "{{") || strings.Contains(out, "{%") {
				t.Errorf("template syntax left in the output:\n%s", out)
			}
			if !strings.Contains(out, "Resources:") {
				t.Errorf("output has no Resources section:\n%s", out)
			}
		})
	}
}
