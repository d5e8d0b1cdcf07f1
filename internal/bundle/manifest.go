package bundle

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Manifest is a folder's manifest.yaml: the templates it renders and how.
type Manifest struct{ Templates []Template }

// Template is one entry of infrastructure.templates.
type Template struct {
	Files            []string // resolved: "*" expands to every file but manifest.yaml, sorted
	RenderingEngine  string   // jinja | hcl | codebuild
	TemplateLanguage string   // cloudformation | terraform | "" for codebuild
	CodeBuild        *CodeBuildSettings
}

// CodeBuildSettings are a codebuild template's settings (the older `codebuild:` key too).
type CodeBuildSettings struct {
	Image             string
	Runtimes          map[string]string // YAML may give numbers (nodejs: 16); kept as their text
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

type rawTemplate struct {
	File             yaml.Node     `yaml:"file"`
	Files            []string      `yaml:"files"`
	RenderingEngine  string        `yaml:"rendering_engine"`
	TemplateLanguage string        `yaml:"template_language"`
	InputType        string        `yaml:"input_type"`
	Settings         *rawCodeBuild `yaml:"settings"`
	CodeBuild        *rawCodeBuild `yaml:"codebuild"`
}

type rawCodeBuild struct {
	Image             string               `yaml:"image"`
	Runtimes          map[string]yaml.Node `yaml:"runtimes"`
	Env               map[string]any       `yaml:"env"`
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
		t := Template{RenderingEngine: rt.RenderingEngine, TemplateLanguage: rt.TemplateLanguage}
		switch {
		case rt.RenderingEngine == "jinja" && rt.TemplateLanguage == "cloudformation":
			names, err := fileNames(rt, files)
			if err != nil {
				return nil, bad("%s: %s", at, err)
			}
			if len(names) != 1 {
				return nil, bad("%s: a CloudFormation template is exactly one file, not %d", at, len(names))
			}
			t.Files = names
		case rt.RenderingEngine == "hcl" && rt.TemplateLanguage == "terraform":
			names, err := fileNames(rt, files)
			if err != nil {
				return nil, bad("%s: %s", at, err)
			}
			t.Files = names
		case rt.RenderingEngine == "codebuild":
			cb := rt.Settings
			if cb == nil {
				cb = rt.CodeBuild
			}
			if cb == nil {
				return nil, bad("%s: a codebuild template needs settings (provision, deprovision, image…)", at)
			}
			if len(cb.Provision) == 0 {
				return nil, bad("%s: settings.provision lists no command", at)
			}
			t.CodeBuild = &CodeBuildSettings{Image: cb.Image, Env: cb.Env, Provision: cb.Provision,
				Deprovision: cb.Deprovision, ProjectProperties: cb.ProjectProperties, Runtimes: map[string]string{}}
			for k, v := range cb.Runtimes {
				t.CodeBuild.Runtimes[k] = v.Value
			}
		default:
			return nil, bad("%s: rendering_engine %q with template_language %q is not supported; use %s",
				at, rt.RenderingEngine, rt.TemplateLanguage, validEngines)
		}
		m.Templates = append(m.Templates, t)
	}
	return m, nil
}

// fileNames resolves a template's files: `file: "*"` is every file of the folder but the
// manifest; `file: name`, `file: [a, b]` or `files: [a, b]` name them.
func fileNames(rt rawTemplate, files map[string][]byte) ([]string, error) {
	var names []string
	switch rt.File.Kind {
	case yaml.ScalarNode:
		if rt.File.Value == "*" {
			for n := range files {
				if n != "manifest.yaml" {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			if len(names) == 0 {
				return nil, fmt.Errorf(`file "*" matches no file`)
			}
			return names, nil
		}
		names = []string{rt.File.Value}
	case yaml.SequenceNode:
		if err := rt.File.Decode(&names); err != nil {
			return nil, fmt.Errorf("file: %v", err)
		}
	case 0:
		names = rt.Files
	default:
		return nil, fmt.Errorf("file must be a name, a list of names or \"*\"")
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no template file named (file:)")
	}
	for _, n := range names {
		if _, ok := files[n]; !ok {
			return nil, fmt.Errorf("template file %q is not in the folder", n)
		}
	}
	return names, nil
}

// yamlMessage shortens the YAML library's messages ("yaml: line 3: …" → "line 3: …").
func yamlMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
