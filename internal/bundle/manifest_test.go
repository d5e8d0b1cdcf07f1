package bundle

import (
	"reflect"
	"slices"
	"testing"
)

func TestManifestFiles(t *testing.T) {
	folder := map[string][]byte{"manifest.yaml": nil, "main.tf": nil, "outputs.tf": nil, "modules/vpc.tf": nil, "cloudformation.yaml": nil}
	for _, tc := range []struct {
		name, manifest string
		want           []string
	}{
		{"star expands sorted, manifest left out", tfManifest, []string{"cloudformation.yaml", "main.tf", "modules/vpc.tf", "outputs.tf"}},
		{"file list keeps its order", "infrastructure:\n  templates:\n    - file: [outputs.tf, main.tf]\n      rendering_engine: hcl\n      template_language: terraform\n", []string{"outputs.tf", "main.tf"}},
		{"files: list", "infrastructure:\n  templates:\n    - files: [outputs.tf, modules/vpc.tf]\n      rendering_engine: hcl\n      template_language: terraform\n", []string{"outputs.tf", "modules/vpc.tf"}},
		{"./ names the same file", "infrastructure:\n  templates:\n    - file: ./cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n", []string{"cloudformation.yaml"}},
		{"unknown keys ignored", "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n      input_type: JSON\n      shiny: true\n  other: 1\n", []string{"cloudformation.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseManifest("infrastructure", []byte(tc.manifest), folder)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Templates[0].Files; !slices.Equal(got, tc.want) {
				t.Errorf("files %v, want %v", got, tc.want)
			}
		})
	}
	_, err := parseManifest("infrastructure", []byte("infrastructure:\n  templates:\n    - file: [main.tf, ./main.tf]\n      rendering_engine: hcl\n      template_language: terraform\n"), folder)
	wantError(t, err, `template file "./main.tf" is named twice`)
}

func TestManifestCodeBuild(t *testing.T) {
	m, err := parseManifest("infrastructure", []byte(codebuildManifest), map[string][]byte{"manifest.yaml": nil})
	if err != nil {
		t.Fatal(err)
	}
	tpl := m.Templates[0]
	if tpl.RenderingEngine != "codebuild" || tpl.TemplateLanguage != "" || tpl.Files != nil {
		t.Errorf("template %+v", tpl)
	}
	want := &CodeBuildSettings{
		Image:    "aws/codebuild/standard:6.0",
		Runtimes: map[string]string{"nodejs": "16", "golang": "1.20"}, // as written, not 1.2
		Env: map[string]any{
			"variables":       map[string]any{"TF_VERSION": "1.10", "DEBUG": "true"},
			"secrets_manager": map[string]any{"TOKEN": "proton/token:Secret"},
		},
		Provision:         []string{"./deploy.sh"},
		Deprovision:       []string{"./destroy.sh"},
		ProjectProperties: map[string]any{"BuildTimeout": 60},
	}
	if !reflect.DeepEqual(tpl.CodeBuild, want) {
		t.Errorf("settings\n got %#v\nwant %#v", tpl.CodeBuild, want)
	}

	// The older `codebuild:` key means the same.
	older := []byte("infrastructure:\n  templates:\n    - rendering_engine: codebuild\n      codebuild:\n        image: img\n        provision: [make]\n")
	m, err = parseManifest("infrastructure", older, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cb := m.Templates[0].CodeBuild; cb == nil || cb.Image != "img" || !slices.Equal(cb.Provision, []string{"make"}) {
		t.Errorf("codebuild: key: %+v", cb)
	}

	// An alias bomb in env must not expand without bound.
	bomb := "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n      settings:\n        provision: [x]\n        env:\n          a: &a [x, x, x, x, x, x, x, x, x, x]\n" +
		"          b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n          c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"          d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n          e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n" +
		"          f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	_, err = parseManifest("infrastructure", []byte(bomb), nil)
	wantError(t, err, "settings.env: the document expands to too many values")
}

func TestManifestSeveralTemplates(t *testing.T) {
	two := "infrastructure:\n  templates:\n    - file: a.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n" +
		"    - file: \"*\"\n      rendering_engine: hcl\n      template_language: terraform\n"
	m, err := parseManifest("infrastructure", []byte(two), map[string][]byte{"manifest.yaml": nil, "a.yaml": nil, "b.tf": nil})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Templates) != 2 || !slices.Equal(m.Templates[1].Files, []string{"a.yaml", "b.tf"}) {
		t.Errorf("templates %+v", m.Templates)
	}
}
