package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Property describes one input of an input type.
type Property struct {
	Name       string
	Type       string // "string", "number", …; "" when the schema names none
	Required   bool
	Default    any // JSON-shaped; whole numbers as int
	HasDefault bool
}

// Properties lists an input type's inputs, sorted by name; nil for an unknown type.
func (s *Schema) Properties(typeName string) []Property {
	t := s.types[typeName]
	if t == nil {
		return nil
	}
	required := map[string]bool{}
	for _, r := range t.Required {
		required[r] = true
	}
	out := make([]Property, 0, len(t.Properties))
	for name, ref := range t.Properties {
		p := Property{Name: name, Required: required[name]}
		if v := ref.Value; v != nil {
			if v.Type != nil && len(*v.Type) > 0 {
				p.Type = (*v.Type)[0]
			}
			p.Default, p.HasDefault = integral(v.Default), v.Default != nil
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ValidateInputs checks inputs against an input type; the error names the first bad input
// (in name order, so the message is the same every time).
func (s *Schema) ValidateInputs(typeName string, inputs map[string]any) error {
	t := s.types[typeName]
	if t == nil {
		return fmt.Errorf("schema has no input type %q", typeName)
	}
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := t.Properties[name]; !ok {
			return fmt.Errorf("input %q is not defined by the schema's %s", name, typeName)
		}
	}
	for _, r := range t.Required {
		if _, ok := inputs[r]; !ok {
			return fmt.Errorf("input %q is required", r)
		}
	}
	for _, name := range names {
		// kin-openapi expects JSON-shaped values (float64, map[string]any); YAML gives ints
		// and the like, so go through JSON.
		js, err := json.Marshal(inputs[name])
		if err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		var v any
		if err := json.Unmarshal(js, &v); err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		prop := t.Properties[name].Value
		if err := guard(func() error { return prop.VisitJSON(v) }); err != nil {
			return inputError(name, err)
		}
	}
	return nil
}

// inputError words a validation failure for the spec's author, with the offending value.
func inputError(name string, err error) error {
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		return fmt.Errorf("input %q: %s", name, shortSchemaError(err))
	}
	where := name
	if p := se.JSONPointer(); len(p) > 0 {
		where += "/" + strings.Join(p, "/") // inside a list or object input
	}
	got := preview(se.Value)
	switch se.SchemaField {
	case "pattern":
		return fmt.Errorf("input %q: string %s does not match pattern %q", where, got, se.Schema.Pattern)
	case "required":
		return fmt.Errorf("input %q: %s", where, se.Reason)
	}
	return fmt.Errorf("input %q: %s (got %s)", where, se.Reason, got)
}

// preview shows a value as JSON, cut short when long.
func preview(v any) string {
	js, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(js) > 80 {
		return string(js[:77]) + "..."
	}
	return string(js)
}

// shortSchemaError keeps kin-openapi's message ("invalid default: value is not one of …")
// and drops the schema and value dump after it.
func shortSchemaError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "\nSchema:"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// integral turns whole float64s (how JSON decoding hands over every number) back into ints,
// so a default written `1` stays 1, not 1.0, when rendered.
func integral(v any) any {
	switch t := v.(type) {
	case float64:
		if t == float64(int64(t)) && t < 1<<53 && t > -(1<<53) {
			return int(t)
		}
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = integral(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = integral(e)
		}
		return out
	}
	return v
}

// DecodeInputs reads stored inputs (JSON) keeping every number as written (json.Number),
// so that a float written 1.0 stays 1.0 wherever the inputs go next: templates, tfvars,
// proton-inputs.json.
func DecodeInputs(raw string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// pythonFloats turns the float64s of a spec's inputs into numbers written as Python writes
// floats. YAML decoding gives whole numbers as ints, so a float64 here was written as a
// float (1.0, 2.5e3) and Proton's renderer, Python, kept it one: 1.0 renders as 1.0.
func pythonFloats(v any) any {
	switch t := v.(type) {
	case float64:
		if s, ok := PythonFloat(t); ok {
			return json.Number(s)
		}
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = pythonFloats(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = pythonFloats(e)
		}
		return out
	}
	return v
}

// PythonFloat is Python's repr of a float: the shortest digits that read back the same,
// positional from 1e-4 up to 1e16, else with an exponent of at least two digits; always
// with a point or an exponent. NaN and infinities have no JSON form (ok false).
func PythonFloat(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0", true
		}
		return "0.0", true
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	// Log10 can be off by one at powers of ten; the 'e' form's exponent is exact.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	if i := strings.LastIndexByte(e, 'e'); i >= 0 {
		if n, err := strconv.Atoi(e[i+1:]); err == nil {
			exp = n
		}
	}
	if exp < -4 || exp >= 16 {
		return e, true // Go's shortest 'e' form matches Python's: 1e+16, 1.5e-05
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s, true
}
