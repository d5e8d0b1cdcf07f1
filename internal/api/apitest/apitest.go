// Package apitest builds Proton requests from the model metadata for conformance tests:
// a valid body for any operation, and bodies that each break one constraint.
package apitest

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openproton/openproton/internal/api/types"
)

// candidates are tried in order for a string shape; the first that satisfies the shape's
// length and pattern is its valid sample.
var candidates = []string{
	"a1", "1", "1.0", "000000000000", "owner/repo", "bucket-1",
	"arn:aws:iam::000000000000:role/r",
	"arn:aws:proton:us-east-1:000000000000:environment/x",
	"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "dG9rZW4=",
}

var invalids = []string{"!bad value!", "-x", "x", "1.x", "a b"}

func matches(s *types.Shape, v string) bool {
	n := int64(utf8.RuneCountInString(v))
	if s.Min != nil && n < *s.Min || s.Max != nil && n > *s.Max {
		return false
	}
	return s.Pattern == "" || regexp.MustCompile(s.Pattern).MatchString(v)
}

// sample builds a valid JSON value for a shape.
// Sample builds a valid JSON value for a shape from the model metadata.
func Sample(t testing.TB, name string) any {
	switch name {
	case "String":
		return "s"
	case "Integer":
		return 1
	case "Boolean":
		return true
	case "Timestamp":
		return 1700000000
	}
	s := types.Shapes[name]
	switch s.Kind {
	case "string":
		for _, c := range candidates {
			if matches(s, c) {
				return c
			}
		}
		t.Fatalf("no sample value fits shape %s", name)
	case "enum":
		return s.Enum[0]
	case "integer":
		if s.Min != nil {
			return *s.Min
		}
		return 1
	case "list":
		n := int64(1)
		if s.Min != nil && *s.Min > 1 {
			n = *s.Min
		}
		out := make([]any, n)
		for i := range out {
			out[i] = Sample(t, s.Elem)
		}
		return out
	case "union":
		return map[string]any{s.Members[0].Name: Sample(t, s.Members[0].Target)}
	case "structure":
		out := map[string]any{}
		for _, m := range s.Members {
			if m.Required {
				out[m.Name] = Sample(t, m.Target)
			}
		}
		return out
	}
	t.Fatalf("shape %s has unsupported kind %s", name, s.Kind)
	return nil
}

// Violation is one broken constraint: what it breaks, the member path the error must name,
// and the request body that breaks it.
type Violation struct {
	What string
	Path string
	Body map[string]any
}

// Violations lists requests that each break one constraint of one member of an input shape,
// starting from a valid body and recursing into required structures.
func Violations(t testing.TB, shapeName string, valid map[string]any) []Violation {
	return violations(t, shapeName, valid, "", func(m map[string]any) map[string]any { return m })
}

func violations(t testing.TB, shapeName string, valid map[string]any, prefix string, build func(map[string]any) map[string]any) []Violation {
	s := types.Shapes[shapeName]
	var out []Violation
	for _, m := range s.Members {
		path := prefix + m.Name
		with := func(v any) map[string]any {
			c := clone(valid)
			if v == nil {
				delete(c, m.Name)
			} else {
				c[m.Name] = v
			}
			return build(c)
		}
		if m.Required {
			out = append(out, Violation{"missing " + path, path, with(nil)})
		}
		target := types.Shapes[m.Target]
		if target == nil {
			continue
		}
		switch target.Kind {
		case "string":
			limit := target.Max
			if m.Max != nil {
				limit = m.Max
			}
			if limit != nil && *limit < 5000 {
				out = append(out, Violation{"too long " + path, path, with(strings.Repeat("a", int(*limit)+1))})
			}
			if target.Pattern != "" {
				for _, bad := range invalids {
					if !regexp.MustCompile(target.Pattern).MatchString(bad) {
						out = append(out, Violation{"pattern " + path, path, with(bad)})
						break
					}
				}
			}
		case "enum":
			out = append(out, Violation{"enum " + path, path, with("NOT_A_MEMBER")})
		case "integer":
			if target.Max != nil {
				out = append(out, Violation{"range " + path, path, with(*target.Max + 1)})
			}
		case "structure", "union":
			if m.Required {
				inner, _ := Sample(t, m.Target).(map[string]any)
				sub := violations(t, m.Target, inner, path+".", func(v map[string]any) map[string]any {
					return with(v)
				})
				out = append(out, sub...)
			}
		}
	}
	return out
}

func clone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
