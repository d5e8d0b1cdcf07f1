package bundle

import (
	"fmt"
	"maps"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Specs are what developers write to deploy from a template: YAML documents that give
// inputs for the template's input types.

// SpecError is a problem with a spec; its message names the field or input.
type SpecError struct{ Message string }

func (e *SpecError) Error() string { return e.Message }

func specErr(format string, a ...any) *SpecError {
	return &SpecError{Message: fmt.Sprintf(format, a...)}
}

// CurrentValue in a spec keeps an input's value from the resource's current spec.
const CurrentValue = "${Proton::CURRENT_VAL}"

// EnvironmentSpec is `proton: EnvironmentSpec` with its `spec:` inputs.
type EnvironmentSpec struct {
	Inputs map[string]any
}

// ServiceSpec is `proton: ServiceSpec`: pipeline inputs and the service instances.
type ServiceSpec struct {
	Pipeline  map[string]any
	Instances []InstanceSpec
}

// InstanceSpec is one entry of a ServiceSpec's instances.
type InstanceSpec struct {
	Name        string
	Environment string
	Inputs      map[string]any
}

type rawSpec struct {
	Proton    string         `yaml:"proton"`
	Spec      map[string]any `yaml:"spec"`
	Pipeline  map[string]any `yaml:"pipeline"`
	Instances []struct {
		Name        string         `yaml:"name"`
		Environment string         `yaml:"environment"`
		Spec        map[string]any `yaml:"spec"`
	} `yaml:"instances"`
}

func parseSpec(text, want string) (*rawSpec, error) {
	var raw rawSpec
	if err := yaml.Unmarshal([]byte(text), &raw); err != nil {
		return nil, specErr("spec: %s", yamlMessage(err))
	}
	if raw.Proton != want {
		return nil, specErr("spec: proton must be %q, not %q", want, raw.Proton)
	}
	return &raw, nil
}

// ParseEnvironmentSpec reads an environment spec.
func ParseEnvironmentSpec(text string) (*EnvironmentSpec, error) {
	raw, err := parseSpec(text, "EnvironmentSpec")
	if err != nil {
		return nil, err
	}
	return &EnvironmentSpec{Inputs: orEmpty(raw.Spec)}, nil
}

// ParseServiceSpec reads a service spec; instance names must be present and unique.
func ParseServiceSpec(text string) (*ServiceSpec, error) {
	raw, err := parseSpec(text, "ServiceSpec")
	if err != nil {
		return nil, err
	}
	s := &ServiceSpec{Pipeline: orEmpty(raw.Pipeline)}
	seen := map[string]bool{}
	for i, in := range raw.Instances {
		switch {
		case in.Name == "":
			return nil, specErr("spec: instances[%d] has no name", i)
		case in.Environment == "":
			return nil, specErr("spec: instance %s has no environment", in.Name)
		case seen[in.Name]:
			return nil, specErr("spec: instance %s is listed twice", in.Name)
		}
		seen[in.Name] = true
		s.Instances = append(s.Instances, InstanceSpec{Name: in.Name, Environment: in.Environment, Inputs: orEmpty(in.Spec)})
	}
	return s, nil
}

// Instance returns the spec's entry for the named instance.
func (s *ServiceSpec) Instance(name string) (InstanceSpec, bool) {
	for _, in := range s.Instances {
		if in.Name == name {
			return in, true
		}
	}
	return InstanceSpec{}, false
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// Inputs resolves the inputs a resource deploys with: given values, with CurrentValue
// replaced by the value in current, and schema defaults for what is not given; then
// checked against the input type.
func (s *Schema) Inputs(typeName string, given, current map[string]any) (map[string]any, error) {
	out := maps.Clone(orEmpty(given))
	for k, v := range out {
		out[k] = pythonFloats(v)
		if str, ok := out[k].(string); ok && strings.TrimSpace(str) == CurrentValue {
			cur, ok := current[k]
			if !ok {
				return nil, specErr("input %q: %s, but the resource has no current value for it", k, CurrentValue)
			}
			out[k] = cur
		}
	}
	for _, p := range s.Properties(typeName) {
		if _, ok := out[p.Name]; !ok && p.HasDefault {
			out[p.Name] = p.Default
		}
	}
	if err := s.ValidateInputs(typeName, out); err != nil {
		return nil, specErr("%s", err.Error())
	}
	return out, nil
}
