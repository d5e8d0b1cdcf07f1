package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// Schema is a parsed schema/schema.yaml: Proton's OpenAPI 3 subset naming the input types.
type Schema struct {
	EnvironmentInputType string
	ServiceInputType     string
	PipelineInputType    string // "" when the service has no pipeline
	types                map[string]*openapi3.Schema
}

type rawSchema struct {
	Schema *struct {
		Format struct {
			OpenAPI string `yaml:"openapi"`
		} `yaml:"format"`
		EnvironmentInputType string    `yaml:"environment_input_type"`
		ServiceInputType     string    `yaml:"service_input_type"`
		PipelineInputType    string    `yaml:"pipeline_input_type"`
		Types                yaml.Node `yaml:"types"` // a node, for the line numbers
	} `yaml:"schema"`
}

const schemaFile = "schema/schema.yaml"

// locateDepth bounds how deep a schema error is chased to the property it comes from.
const locateDepth = 16

func parseSchema(data []byte) (*Schema, error) {
	var raw rawSchema
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, bad("%s: %s", schemaFile, yamlMessage(err))
	}
	r := raw.Schema
	if r == nil {
		return nil, bad("%s: the file has no top-level schema: key", schemaFile)
	}
	if !strings.HasPrefix(r.Format.OpenAPI, "3.") {
		return nil, bad(`%s: schema.format.openapi must be "3.0.0", not %q`, schemaFile, r.Format.OpenAPI)
	}
	if r.Types.Kind != yaml.MappingNode {
		return nil, bad("%s: schema.types must map type names to OpenAPI schemas", schemaFile)
	}
	s := &Schema{EnvironmentInputType: r.EnvironmentInputType, ServiceInputType: r.ServiceInputType,
		PipelineInputType: r.PipelineInputType, types: map[string]*openapi3.Schema{}}
	lines := map[string]int{}
	for i := 0; i+1 < len(r.Types.Content); i += 2 {
		key, node := r.Types.Content[i], r.Types.Content[i+1]
		if _, dup := s.types[key.Value]; dup {
			return nil, bad("%s: line %d: types.%s is defined twice", schemaFile, key.Line, key.Value)
		}
		t, err := typeSchema(node, "types."+key.Value, key.Line, 0)
		if err != nil {
			return nil, err
		}
		s.types[key.Value], lines[key.Value] = t, key.Line
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
		if err := checkInputType(t, it.name, lines[it.name]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkInputType holds an input type to what inputs need: an object with properties, whose
// required inputs exist.
func checkInputType(t *openapi3.Schema, name string, line int) error {
	at := fmt.Sprintf("%s: line %d: types.%s", schemaFile, line, name)
	if t.Type != nil && !t.Type.Is("object") {
		return bad("%s is an input type, so it must be type: object, not %s", at, strings.Join(t.Type.Slice(), ", "))
	}
	if len(t.Properties) == 0 {
		return bad("%s: input type %s needs at least one property", at, name)
	}
	for _, r := range t.Required {
		if _, ok := t.Properties[r]; !ok {
			return bad("%s: required input %q is not under properties", at, r)
		}
	}
	return nil
}

// typeSchema converts a YAML schema node to a validated OpenAPI schema. On failure it looks
// for the property (or items, …) the problem comes from, so the message points at it.
func typeSchema(node *yaml.Node, where string, line, depth int) (*openapi3.Schema, *Error) {
	node = deref(node)
	if node.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == "$ref" {
				return nil, bad("%s: line %d: %s: $ref is not supported; write the schema out in full", schemaFile, node.Content[i].Line, where)
			}
		}
	}
	s, err := toSchema(node)
	if err == nil {
		return s, nil
	}
	if depth < locateDepth {
		for _, c := range subSchemas(node, where) {
			if _, e := typeSchema(c.node, c.where, c.line, depth+1); e != nil {
				return nil, e
			}
		}
	}
	return nil, bad("%s: line %d: %s: %s", schemaFile, line, where, err)
}

// toSchema goes YAML → JSON → openapi3.Schema, kin-openapi's way in, and validates.
func toSchema(node *yaml.Node) (*openapi3.Schema, error) {
	if node.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("a schema is a mapping (type: …, properties: …)")
	}
	var v any
	if err := node.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s", yamlMessage(err))
	}
	js, err := json.Marshal(jsonable(v))
	if err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	var s openapi3.Schema
	if err := json.Unmarshal(js, &s); err != nil {
		return nil, fmt.Errorf("%s", jsonMessage(err))
	}
	// kin-openapi dereferences every nested schema without checking (a YAML `name:` with
	// nothing after it is a nil one), so find those first.
	if where := missingSchema(&s, ""); where != "" {
		return nil, fmt.Errorf("%s has no schema", where)
	}
	// Examples are documentation, and keywords kin-openapi does not know are ignored, as
	// JSON Schema validators do: bundles that Proton took must load here.
	opts := []openapi3.ValidationOption{openapi3.DisableExamplesValidation()}
	if extra := unknownKeywords(&s); len(extra) > 0 {
		opts = append(opts, openapi3.AllowExtraSiblingFields(extra...))
	}
	if err := guard(func() error { return s.Validate(context.Background(), opts...) }); err != nil {
		msg := shortSchemaError(err)
		if strings.HasPrefix(msg, "error parsing regexp") {
			msg = "pattern: " + msg // kin-openapi does not say which keyword
		}
		return nil, fmt.Errorf("%s", msg)
	}
	return &s, nil
}

// jsonable turns YAML-decoded values into JSON-encodable ones (keys of any type become
// strings).
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

var jsonFieldRE = regexp.MustCompile(`cannot unmarshal (.+?) into (?:Go struct field|field) (?:\w+\.)*(\w+) of type (.+)$`)

// jsonMessage rewrites encoding/json's "cannot unmarshal string into field Schema.minimum of
// type float64" as "minimum: found string where a number is expected".
func jsonMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	m := jsonFieldRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := goKind(m[3])
	if strings.HasPrefix(m[3], "uint") {
		want = "a whole number of at least 0"
	}
	return fmt.Sprintf("%s: found %s where %s is expected", m[2], m[1], want)
}
