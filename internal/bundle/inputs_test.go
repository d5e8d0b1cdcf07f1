package bundle

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestValidateInputs(t *testing.T) {
	s := load(t, schemaWith(t, "        count:\n", `        tags:
          type: array
          items:
            type: string
            maxLength: 5
        whole:
          type: integer
        count:
`))
	for _, tc := range []struct {
		name   string
		inputs map[string]any
		want   string // "" for valid
	}{
		{"required only", map[string]any{"name": "abc"}, ""},
		{"all, YAML-typed", map[string]any{"name": "abc", "count": 3, "size": "large", "tags": []any{"a", "b"}, "whole": 7}, ""},
		{"missing required", map[string]any{}, `input "name" is required`},
		{"pattern", map[string]any{"name": "ABC"}, `input "name": string "ABC" does not match pattern "^[a-z]+$"`},
		{"enum", map[string]any{"name": "abc", "size": "medium"}, `input "size": value is not one of the allowed values ["small","large"] (got "medium")`},
		{"maximum", map[string]any{"name": "abc", "count": 11}, `input "count": number must be at most 10 (got 11)`},
		{"minimum", map[string]any{"name": "abc", "count": 0.5}, `input "count": number must be at least 1 (got 0.5)`},
		{"wrong type", map[string]any{"name": "abc", "count": "3"}, `input "count": value must be a number (got "3")`},
		{"not whole", map[string]any{"name": "abc", "whole": 1.5}, `input "whole": value must be an integer (got 1.5)`},
		{"list item", map[string]any{"name": "abc", "tags": []any{"ok", "too long"}}, `input "tags/1": maximum string length is 5 (got "too long")`},
		{"unknown", map[string]any{"name": "abc", "other": 1}, `input "other" is not defined by the schema's Input`},
		{"unknown reported first, by name", map[string]any{"zz": 1, "aa": 2}, `input "aa" is not defined`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.ValidateInputs("Input", tc.inputs)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err %v\nwant %q", err, tc.want)
			}
		})
	}
	if err := s.ValidateInputs("Nope", nil); err == nil {
		t.Errorf("unknown input type accepted")
	}
}

func TestProperties(t *testing.T) {
	s := load(t, schemaWith(t, "        count:\n", "        list:\n          type: array\n          items:\n            type: number\n          default: [1, 2.5]\n        count:\n"))
	want := []Property{
		{Name: "count", Type: "number", Default: 1, HasDefault: true},
		{Name: "list", Type: "array", Default: []any{1, 2.5}, HasDefault: true},
		{Name: "name", Type: "string", Required: true},
		{Name: "size", Type: "string", Default: "small", HasDefault: true},
	}
	if got := s.Properties("Input"); !reflect.DeepEqual(got, want) {
		t.Errorf("properties\n got %#v\nwant %#v", got, want)
	}
	if s.Properties("Nope") != nil {
		t.Errorf("unknown type has properties")
	}
	// Defaults are copies: changing one does not change the schema.
	s.Properties("Input")[1].Default.([]any)[0] = 99
	if s.Properties("Input")[1].Default.([]any)[0] != 1 {
		t.Errorf("a default changed through Properties")
	}
}

func TestSchemaTolerance(t *testing.T) {
	// Keywords Proton's docs use, examples of another type, and x- extensions all load.
	s := load(t, schemaWith(t, "        count:\n", `        described:
          title: "A title"
          description: "Text"
          type: string
          example: 42
          x-ui: wide
          widget: slider
          format: cidr
          minLength: 1
          maxLength: 200
        count:
`))
	if err := s.ValidateInputs("Input", map[string]any{"name": "a", "described": "not a cidr"}); err != nil {
		t.Errorf("unknown format should not be enforced: %v", err)
	}
}

func TestSchemaAliases(t *testing.T) {
	// YAML anchors let one type serve twice.
	s := load(t, `schema:
  format:
    openapi: "3.0.0"
  service_input_type: Svc
  pipeline_input_type: Pipe
  types:
    Svc: &common
      type: object
      properties:
        port:
          type: number
          default: 80
    Pipe: *common
`)
	if got := s.Properties("Pipe"); len(got) != 1 || got[0].Name != "port" || got[0].Default != 80 {
		t.Errorf("aliased type: %+v", got)
	}
}

// TestPythonFloat compares with what CPython's repr prints for the same floats.
func TestPythonFloat(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 1.5: "1.5", -2: "-2.0", 0.1: "0.1", 100: "100.0", 1e15: "1000000000000000.0", 1e16: "1e+16",
		1.2345678901234568e+17: "1.2345678901234568e+17", 0.0001: "0.0001", 0.00001: "1e-05", 1.5e-7: "1.5e-07",
		123456.789: "123456.789", 9999999999999998: "9999999999999998.0", 0: "0.0",
	} {
		if got, ok := PythonFloat(f); !ok || got != want {
			t.Errorf("PythonFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

// TestFloatInputsStayFloats: a spec's 1.0 keeps its point through resolution and storage,
// as Proton's Python renderer kept it; whole numbers stay integers.
func TestFloatInputsStayFloats(t *testing.T) {
	s, err := parseSchema([]byte(`schema:
  format:
    openapi: "3.0.0"
  environment_input_type: "In"
  types:
    In:
      type: object
      properties:
        ratio:
          type: number
        count:
          type: integer
        nested:
          type: array
          items:
            type: number
`))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseEnvironmentSpec("proton: EnvironmentSpec\nspec:\n  ratio: 1.0\n  count: 3\n  nested: [2.0, 2, 0.5]\n")
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.Inputs("In", spec.Inputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"count":3,"nested":[2.0,2,0.5],"ratio":1.0}`; string(raw) != want {
		t.Errorf("stored %s, want %s", raw, want)
	}
	back, err := DecodeInputs(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(raw) {
		t.Errorf("after decoding: %s, want %s", again, raw)
	}
}
