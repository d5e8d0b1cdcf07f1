package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// Schema is a parsed schema/schema.yaml: Proton's OpenAPI 3 subset naming the input types.
type Schema struct {
	EnvironmentInputType string
	ServiceInputType     string
	PipelineInputType    string
	types                map[string]*openapi3.Schema
}

// Property describes one input of an input type.
type Property struct {
	Name       string
	Type       string
	Required   bool
	Default    any
	HasDefault bool
}

type rawSchema struct {
	Schema struct {
		Format struct {
			OpenAPI string `yaml:"openapi"`
		} `yaml:"format"`
		EnvironmentInputType string               `yaml:"environment_input_type"`
		ServiceInputType     string               `yaml:"service_input_type"`
		PipelineInputType    string               `yaml:"pipeline_input_type"`
		Types                map[string]yaml.Node `yaml:"types"`
	} `yaml:"schema"`
}

const schemaFile = "schema/schema.yaml"

func parseSchema(data []byte) (*Schema, error) {
	var raw rawSchema
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, bad("%s: %s", schemaFile, yamlMessage(err))
	}
	r := raw.Schema
	if !strings.HasPrefix(r.Format.OpenAPI, "3.") {
		return nil, bad(`%s: schema.format.openapi must be "3.0.0", not %q`, schemaFile, r.Format.OpenAPI)
	}
	s := &Schema{EnvironmentInputType: r.EnvironmentInputType, ServiceInputType: r.ServiceInputType,
		PipelineInputType: r.PipelineInputType, types: map[string]*openapi3.Schema{}}
	for name, node := range r.Types {
		var v any
		if err := node.Decode(&v); err != nil {
			return nil, bad("%s: types.%s: %s", schemaFile, name, yamlMessage(err))
		}
		js, err := json.Marshal(jsonable(v))
		if err != nil {
			return nil, bad("%s: types.%s: %v", schemaFile, name, err)
		}
		var os openapi3.Schema
		if err := json.Unmarshal(js, &os); err != nil {
			return nil, bad("%s: types.%s is not an OpenAPI schema: %v", schemaFile, name, err)
		}
		if err := os.Validate(context.Background()); err != nil {
			return nil, bad("%s: types.%s is not a valid OpenAPI schema: %s", schemaFile, name, shortSchemaError(err))
		}
		s.types[name] = &os
	}
	for _, it := range []struct{ key, name string }{
		{"environment_input_type", r.EnvironmentInputType},
		{"service_input_type", r.ServiceInputType},
		{"pipeline_input_type", r.PipelineInputType},
	} {
		if it.name == "" {
			continue
		}
		t, ok := s.types[it.name]
		if !ok {
			return nil, bad("%s: %s names type %q, which is not under types", schemaFile, it.key, it.name)
		}
		if len(t.Properties) == 0 {
			return nil, bad("%s: input type %s needs at least one property", schemaFile, it.name)
		}
	}
	return s, nil
}

// jsonable turns YAML-decoded maps (map[string]any already in yaml.v3) into JSON-encodable
// values.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonable(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = jsonable(e)
		}
	}
	return v
}

// Properties lists an input type's inputs by name.
func (s *Schema) Properties(typeName string) []Property {
	t := s.types[typeName]
	if t == nil {
		return nil
	}
	required := map[string]bool{}
	for _, r := range t.Required {
		required[r] = true
	}
	var out []Property
	for name, ref := range t.Properties {
		p := Property{Name: name, Required: required[name]}
		if ref.Value != nil {
			if ref.Value.Type != nil && len(*ref.Value.Type) > 0 {
				p.Type = (*ref.Value.Type)[0]
			}
			p.Default, p.HasDefault = integral(ref.Value.Default), ref.Value.Default != nil
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ValidateInputs checks inputs against an input type, naming the first bad input.
func (s *Schema) ValidateInputs(typeName string, inputs map[string]any) error {
	t := s.types[typeName]
	if t == nil {
		return fmt.Errorf("schema has no input type %q", typeName)
	}
	for name := range inputs {
		if _, ok := t.Properties[name]; !ok {
			return fmt.Errorf("input %q is not defined by the schema's %s", name, typeName)
		}
	}
	for _, r := range t.Required {
		if _, ok := inputs[r]; !ok {
			return fmt.Errorf("input %q is required", r)
		}
	}
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		// JSON numbers are what kin-openapi expects.
		js, err := json.Marshal(inputs[name])
		if err != nil {
			return fmt.Errorf("input %q: %v", name, err)
		}
		var v any
		_ = json.Unmarshal(js, &v)
		if err := t.Properties[name].Value.VisitJSON(v); err != nil {
			return fmt.Errorf("input %q: %s", name, shortSchemaError(err))
		}
	}
	return nil
}

// shortSchemaError keeps kin-openapi's reason and drops its schema dump.
func shortSchemaError(err error) string {
	if se, ok := err.(*openapi3.SchemaError); ok {
		return se.Reason
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nSchema:"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// integral turns whole float64s (how JSON decoding hands over every number) back into ints,
// so a default written `1` stays 1, not 1.0, when rendered.
func integral(v any) any {
	if f, ok := v.(float64); ok && f == float64(int64(f)) && f < 1<<53 && f > -(1<<53) {
		return int(f)
	}
	return v
}
