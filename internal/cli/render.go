package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/render"
)

// renderCommand renders a template bundle with a spec locally, as a deployment would,
// without a server: a dry run for template authors.
func renderCommand() *cobra.Command {
	var bundleDir, specFile, kind, instance, name, outDir string
	var envOutputs, instOutputs []string
	cmd := &cobra.Command{
		Use:   "render --bundle DIR --spec FILE",
		Short: "Render a template bundle with a spec, as a deployment would, without a server",
		Long: `Render a template version folder (schema/ and infrastructure/, instance_infrastructure/ or
pipeline_infrastructure/) with a spec: inputs are checked against the schema and its defaults
filled in, then Jinja templates are rendered with Proton's parameter namespace. CodeBuild and
Terraform templates are not rendered; their proton-inputs.json is printed instead.
Outputs, which a real deployment reads from the resources deployed before, come from
--environment-output KEY=VALUE and (for pipelines) --instance-output KEY=VALUE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			files, err := renderBundle(bundleDir, specFile, kind, instance, name, envOutputs, instOutputs)
			if err != nil {
				return err
			}
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if outDir != "" {
					path := filepath.Join(outDir, filepath.FromSlash(n))
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						return err
					}
					if err := os.WriteFile(path, files[n], 0o644); err != nil {
						return err
					}
					fmt.Fprintln(cmd.OutOrStdout(), path)
					continue
				}
				if len(names) > 1 {
					fmt.Fprintf(cmd.OutOrStdout(), "--- %s\n", n)
				}
				fmt.Fprint(cmd.OutOrStdout(), string(files[n]))
				if !bytes.HasSuffix(files[n], []byte("\n")) {
					fmt.Fprintln(cmd.OutOrStdout())
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&bundleDir, "bundle", "", "template version folder (holding schema/schema.yaml)")
	f.StringVar(&specFile, "spec", "", "spec file (proton: EnvironmentSpec or proton: ServiceSpec)")
	f.StringVar(&kind, "type", "", "environment, service-instance or pipeline (default: environment for an environment bundle, else service-instance)")
	f.StringVar(&instance, "instance", "", "the spec's instance to render (service-instance; default: the first)")
	f.StringVar(&name, "name", "", "environment or service name (default: my-environment / my-service)")
	f.StringVar(&outDir, "out", "", "write the files under this directory instead of printing them")
	f.StringArrayVar(&envOutputs, "environment-output", nil, "KEY=VALUE output of the environment (repeatable)")
	f.StringArrayVar(&instOutputs, "instance-output", nil, "KEY=VALUE output every service instance has, for pipelines (repeatable)")
	_ = cmd.MarkFlagRequired("bundle")
	_ = cmd.MarkFlagRequired("spec")
	return cmd
}

// renderBundle returns the files a deployment of the bundle would get: rendered Jinja
// templates, or proton-inputs.json for CodeBuild and Terraform templates.
func renderBundle(dir, specFile, kind, instance, name string, envOutputs, instOutputs []string) (map[string][]byte, error) {
	specText, err := os.ReadFile(specFile)
	if err != nil {
		return nil, err
	}
	outputs, err := keyValues("--environment-output", envOutputs)
	if err != nil {
		return nil, err
	}
	instanceOutputs, err := keyValues("--instance-output", instOutputs)
	if err != nil {
		return nil, err
	}
	isEnv := kind == "environment" || (kind == "" && bytes.Contains(specText, []byte("EnvironmentSpec")))
	if isEnv {
		return renderEnvironment(dir, string(specText), or(name, "my-environment"))
	}
	b, err := bundle.LoadDir(dir, bundle.Service, bundle.Options{})
	if err != nil {
		return nil, err
	}
	spec, err := bundle.ParseServiceSpec(string(specText))
	if err != nil {
		return nil, err
	}
	service := map[string]any{"name": or(name, "my-service"), "repository_connection_arn": "", "repository_id": "", "branch_name": ""}
	environment := func(env string) map[string]any {
		return map[string]any{"account_id": "000000000000", "name": env, "outputs": outputs}
	}
	switch kind {
	case "", "service-instance":
		if len(spec.Instances) == 0 {
			return nil, fmt.Errorf("the spec lists no instance")
		}
		entry := spec.Instances[0]
		if instance != "" {
			var ok bool
			if entry, ok = spec.Instance(instance); !ok {
				return nil, fmt.Errorf("the spec has no instance %q", instance)
			}
		}
		inputs, err := b.Schema.Inputs(b.Schema.ServiceInputType, entry.Inputs, nil)
		if err != nil {
			return nil, fmt.Errorf("instance %s: %w", entry.Name, err)
		}
		ns := map[string]any{"environment": environment(entry.Environment), "service": service,
			"service_instance": map[string]any{"name": entry.Name, "inputs": inputs}}
		return renderSection(b.Infrastructure, "instance_infrastructure", ns)
	case "pipeline":
		if b.Pipeline == nil {
			return nil, fmt.Errorf("the bundle has no pipeline_infrastructure/")
		}
		inputs, err := b.Schema.Inputs(b.Schema.PipelineInputType, spec.Pipeline, nil)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		instances := []any{}
		for _, entry := range spec.Instances {
			in, err := b.Schema.Inputs(b.Schema.ServiceInputType, entry.Inputs, nil)
			if err != nil {
				return nil, fmt.Errorf("instance %s: %w", entry.Name, err)
			}
			instances = append(instances, map[string]any{"name": entry.Name, "inputs": in, "outputs": instanceOutputs,
				"environment": environment(entry.Environment)})
		}
		ns := map[string]any{"pipeline": map[string]any{"inputs": inputs}, "service": service, "service_instances": instances}
		return renderSection(b.Pipeline, "pipeline_infrastructure", ns)
	}
	return nil, fmt.Errorf("--type %q: want environment, service-instance or pipeline", kind)
}

func renderEnvironment(dir, specText, name string) (map[string][]byte, error) {
	b, err := bundle.LoadDir(dir, bundle.Environment, bundle.Options{})
	if err != nil {
		return nil, err
	}
	spec, err := bundle.ParseEnvironmentSpec(specText)
	if err != nil {
		return nil, err
	}
	inputs, err := b.Schema.Inputs(b.Schema.EnvironmentInputType, spec.Inputs, nil)
	if err != nil {
		return nil, err
	}
	return renderSection(b.Infrastructure, "infrastructure", map[string]any{"environment": map[string]any{"name": name, "inputs": inputs}})
}

// renderSection renders a folder's Jinja templates with ns, or gives its
// proton-inputs.json when the folder is not Jinja-rendered.
func renderSection(sec *bundle.Section, folder string, ns map[string]any) (map[string][]byte, error) {
	raw, err := json.Marshal(ns)
	if err != nil {
		return nil, err
	}
	ctx, err := render.DecodeJSON(raw) // numbers as Python's json would give them
	if err != nil {
		return nil, err
	}
	top := map[string]any{}
	if obj, ok := ctx.(render.Object); ok {
		for _, f := range obj {
			top[f.Key] = f.Value
		}
	}
	t := sec.Manifest.Templates[0]
	if t.RenderingEngine != "jinja" {
		pretty, _ := json.MarshalIndent(ns, "", "  ")
		return map[string][]byte{folder + "/proton-inputs.json": append(pretty, '\n')}, nil
	}
	out := map[string][]byte{}
	for _, file := range t.Files {
		text, err := render.Render(folder+"/"+file, string(sec.Files[file]), top)
		if err != nil {
			return nil, err
		}
		out[folder+"/"+file] = []byte(text)
	}
	return out, nil
}

func keyValues(flag string, list []string) (map[string]any, error) {
	out := map[string]any{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
