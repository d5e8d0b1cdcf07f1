package bundle

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Manifest is a folder's manifest.yaml: the templates it renders and how.
type Manifest struct{ Templates []Template }

// Template is one entry of infrastructure.templates.
type Template struct {
	Files            []string // resolved: "*" expands to every file but manifest.yaml, sorted; a list stays as given
	RenderingEngine  string   // jinja | hcl | codebuild
	TemplateLanguage string   // cloudformation | terraform | "" for codebuild
	CodeBuild        *CodeBuildSettings
}

// CodeBuildSettings are a codebuild template's settings (the older `codebuild:` key too).
type CodeBuildSettings struct {
	Image    string
	Runtimes map[string]string // YAML may give numbers (nodejs: 16); kept as their text
	// Env is env: as written, every scalar kept as its text: environment variables are
	// strings, and TF_VERSION: 1.10 must not become 1.1.
	Env               map[string]any
	Provision         []string
	Deprovision       []string
	ProjectProperties map[string]any
}

type rawManifest struct {
	Infrastructure struct {
		Templates []rawTemplate `yaml:"templates"`
	} `yaml:"infrastructure"`
}

// rawTemplate is decoded leniently: keys Proton ignored are ignored here too.
type rawTemplate struct {
	File             yaml.Node     `yaml:"file"`
	Files            []string      `yaml:"files"`
	RenderingEngine  string        `yaml:"rendering_engine"`
	TemplateLanguage string        `yaml:"template_language"`
	Settings         *rawCodeBuild `yaml:"settings"`
	CodeBuild        *rawCodeBuild `yaml:"codebuild"`
}

type rawCodeBuild struct {
	Image             string               `yaml:"image"`
	Runtimes          map[string]yaml.Node `yaml:"runtimes"`
	Env               yaml.Node            `yaml:"env"`
	Provision         []string             `yaml:"provision"`
	Deprovision       []string             `yaml:"deprovision"`
	ProjectProperties map[string]any       `yaml:"project_properties"`
}

const validEngines = "jinja with cloudformation, hcl with terraform, or codebuild"

func parseManifest(dir string, data []byte, files map[string][]byte) (*Manifest, error) {
	where := dir + "/manifest.yaml"
	var raw rawManifest
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, bad("%s: %s", where, yamlMessage(err))
	}
	if len(raw.Infrastructure.Templates) == 0 {
		return nil, bad("%s: infrastructure.templates lists no template", where)
	}
	m := &Manifest{}
	for i, rt := range raw.Infrastructure.Templates {
		at := fmt.Sprintf("%s: infrastructure.templates[%d]", where, i)
		t, err := parseTemplate(rt, files)
		if err != nil {
			return nil, bad("%s: %s", at, err)
		}
		m.Templates = append(m.Templates, *t)
	}
	return m, nil
}

func parseTemplate(rt rawTemplate, files map[string][]byte) (*Template, error) {
	t := &Template{RenderingEngine: rt.RenderingEngine, TemplateLanguage: rt.TemplateLanguage}
	var err error
	switch {
	case rt.RenderingEngine == "jinja" && rt.TemplateLanguage == "cloudformation":
		if t.Files, err = fileNames(rt, files); err != nil {
			return nil, err
		}
		if len(t.Files) != 1 {
			return nil, fmt.Errorf("a CloudFormation template is exactly one file, not %d (%s)", len(t.Files), strings.Join(t.Files, ", "))
		}
	case rt.RenderingEngine == "hcl" && rt.TemplateLanguage == "terraform":
		if t.Files, err = fileNames(rt, files); err != nil {
			return nil, err
		}
	case rt.RenderingEngine == "codebuild":
		if t.CodeBuild, err = codeBuild(rt); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("rendering_engine %q with template_language %q is not supported; use %s",
			rt.RenderingEngine, rt.TemplateLanguage, validEngines)
	}
	return t, nil
}

func codeBuild(rt rawTemplate) (*CodeBuildSettings, error) {
	cb := rt.Settings
	if cb == nil {
		cb = rt.CodeBuild
	}
	if cb == nil {
		return nil, fmt.Errorf("a codebuild template needs settings: (image, provision, deprovision…)")
	}
	if len(cb.Provision) == 0 {
		return nil, fmt.Errorf("settings.provision lists no command")
	}
	out := &CodeBuildSettings{Image: cb.Image, Provision: cb.Provision, Deprovision: cb.Deprovision,
		ProjectProperties: cb.ProjectProperties, Runtimes: map[string]string{}}
	for k, v := range cb.Runtimes {
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("settings.runtimes.%s: line %d: a runtime's version is a single value", k, v.Line)
		}
		out.Runtimes[k] = v.Value
	}
	if cb.Env.Kind != 0 {
		budget := nodeBudget
		v, err := textValue(&cb.Env, &budget)
		if err != nil {
			return nil, fmt.Errorf("settings.env: %w", err)
		}
		env, ok := v.(map[string]any)
		if v != nil && !ok {
			return nil, fmt.Errorf("settings.env: line %d: env is a mapping (variables, secrets_manager…)", cb.Env.Line)
		}
		out.Env = env
	}
	return out, nil
}

// fileNames resolves a template's files: `file: "*"` is every file of the folder but the
// manifest; `file: name`, `file: [a, b]` or `files: [a, b]` name them, in the order given.
func fileNames(rt rawTemplate, files map[string][]byte) ([]string, error) {
	var names []string
	kind := rt.File.Kind
	if kind == yaml.ScalarNode && rt.File.Tag == "!!null" {
		kind = 0 // `file:` with nothing after it
	}
	switch kind {
	case yaml.ScalarNode:
		if rt.File.Value == "*" {
			for n := range files {
				if n != "manifest.yaml" {
					names = append(names, n)
				}
			}
			if len(names) == 0 {
				return nil, fmt.Errorf(`file "*" matches no file: the folder holds only manifest.yaml`)
			}
			sort.Strings(names)
			return names, nil
		}
		names = []string{rt.File.Value}
	case yaml.SequenceNode:
		if err := rt.File.Decode(&names); err != nil {
			return nil, fmt.Errorf("file: %s", yamlMessage(err))
		}
	case 0:
		names = rt.Files
	default:
		return nil, fmt.Errorf(`file must be a file name, a list of names or "*"`)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("names no template file (file:)")
	}
	seen := map[string]bool{}
	for i, n := range names {
		// Files are keyed by cleaned path; "./main.tf" names "main.tf".
		clean := path.Clean(n)
		if _, ok := files[clean]; !ok || n == "" {
			return nil, fmt.Errorf("template file %q is not in the folder", n)
		}
		if seen[clean] {
			return nil, fmt.Errorf("template file %q is named twice", n)
		}
		seen[clean] = true
		names[i] = clean
	}
	return names, nil
}
