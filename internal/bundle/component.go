package bundle

import (
	"go.yaml.in/yaml/v3"
)

// ParseComponentManifest reads a directly defined component's manifest: one template,
// Jinja-rendered CloudFormation or Terraform (components cannot use CodeBuild
// provisioning). Its single file is the component's templateFile, whatever the manifest
// calls it.
func ParseComponentManifest(text string) (*Template, error) {
	var raw rawManifest
	if err := yaml.Unmarshal([]byte(text), &raw); err != nil {
		return nil, &Error{Message: "manifest: " + yamlMessage(err)}
	}
	list := raw.Infrastructure.Templates
	if len(list) != 1 {
		return nil, bad("manifest: infrastructure.templates must list exactly one template, not %d", len(list))
	}
	rt := list[0]
	t := &Template{RenderingEngine: rt.RenderingEngine, TemplateLanguage: rt.TemplateLanguage, Files: []string{"templateFile"}}
	switch {
	case rt.RenderingEngine == "jinja" && rt.TemplateLanguage == "cloudformation":
	case rt.RenderingEngine == "hcl" && rt.TemplateLanguage == "terraform":
	case rt.RenderingEngine == "codebuild":
		return nil, bad("manifest: components cannot use CodeBuild provisioning; use jinja with cloudformation or hcl with terraform")
	default:
		return nil, bad("manifest: rendering_engine %q with template_language %q is not supported for components; use jinja with cloudformation or hcl with terraform",
			rt.RenderingEngine, rt.TemplateLanguage)
	}
	if rt.File.Kind == yaml.ScalarNode && rt.File.Value != "" {
		t.Files = []string{rt.File.Value}
	}
	return t, nil
}
