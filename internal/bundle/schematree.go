package bundle

import (
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// Walking schemas: the YAML nodes, to point errors at a line, and kin-openapi's schemas,
// to find what its validator would trip on.

type subSchema struct {
	node  *yaml.Node
	where string
	line  int
}

// subSchemas lists the schemas nested in a schema node: properties, items and the like.
func subSchemas(node *yaml.Node, where string) []subSchema {
	if node.Kind != yaml.MappingNode {
		return nil
	}
	var out []subSchema
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], deref(node.Content[i+1])
		switch k.Value {
		case "items", "additionalProperties", "not":
			if v.Kind == yaml.MappingNode {
				out = append(out, subSchema{v, where + "." + k.Value, k.Line})
			}
		case "properties":
			for j := 0; v.Kind == yaml.MappingNode && j+1 < len(v.Content); j += 2 {
				out = append(out, subSchema{v.Content[j+1], where + ".properties." + v.Content[j].Value, v.Content[j].Line})
			}
		case "allOf", "anyOf", "oneOf":
			for j := 0; v.Kind == yaml.SequenceNode && j < len(v.Content); j++ {
				out = append(out, subSchema{v.Content[j], fmt.Sprintf("%s.%s[%d]", where, k.Value, j), v.Content[j].Line})
			}
		}
	}
	return out
}

// deref follows a YAML alias (*name) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

type childRef struct {
	at  string
	ref *openapi3.SchemaRef // nil when written as null
}

// children lists the schemas nested directly in s. Absent single schemas (nil pointers)
// are left out; nil entries of maps and lists are kept: they were written as null.
func children(s *openapi3.Schema) []childRef {
	var out []childRef
	for _, m := range []struct {
		key string
		m   openapi3.Schemas
	}{{"properties", s.Properties}, {"patternProperties", s.PatternProperties}, {"dependentSchemas", s.DependentSchemas}, {"$defs", s.Defs}} {
		for _, k := range sortedKeys(m.m) {
			out = append(out, childRef{m.key + "." + k, m.m[k]})
		}
	}
	for _, l := range []struct {
		key  string
		refs openapi3.SchemaRefs
	}{{"allOf", s.AllOf}, {"anyOf", s.AnyOf}, {"oneOf", s.OneOf}, {"prefixItems", s.PrefixItems}} {
		for i, r := range l.refs {
			out = append(out, childRef{fmt.Sprintf("%s[%d]", l.key, i), r})
		}
	}
	for _, p := range []struct {
		key string
		ref *openapi3.SchemaRef
	}{{"items", s.Items}, {"not", s.Not}, {"additionalProperties", s.AdditionalProperties.Schema}, {"contains", s.Contains},
		{"propertyNames", s.PropertyNames}, {"if", s.If}, {"then", s.Then}, {"else", s.Else}, {"contentSchema", s.ContentSchema}} {
		if p.ref != nil {
			out = append(out, childRef{p.key, p.ref})
		}
	}
	return out
}

// missingSchema names the first nested schema that is absent (null) or only a reference,
// "" when there is none. kin-openapi dereferences them without checking.
func missingSchema(s *openapi3.Schema, where string) string {
	for _, c := range children(s) {
		at := strings.TrimPrefix(where+"."+c.at, ".")
		switch {
		case c.ref == nil:
			return at
		case c.ref.Value == nil:
			return at + " ($ref is not supported)"
		}
		if w := missingSchema(c.ref.Value, at); w != "" {
			return w
		}
	}
	return ""
}

// unknownKeywords lists the keys of s and its nested schemas that are neither OpenAPI
// keywords nor x- extensions (kin-openapi keeps them as extensions).
func unknownKeywords(s *openapi3.Schema) []string {
	seen := map[string]bool{}
	var visit func(*openapi3.Schema)
	visit = func(s *openapi3.Schema) {
		for k := range s.Extensions {
			if !strings.HasPrefix(k, "x-") {
				seen[k] = true
			}
		}
		for _, c := range children(s) {
			if c.ref != nil && c.ref.Value != nil {
				visit(c.ref.Value)
			}
		}
	}
	visit(s)
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// guard turns a panic in the schema library into an error: a template author's odd
// schema must not take the server down.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the schema library failed on this schema (%v)", r)
		}
	}()
	return f()
}

func sortedKeys(m openapi3.Schemas) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
