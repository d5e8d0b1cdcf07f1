package bundle

import (
	"fmt"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// CheckCompatible reports why next, a new minor version, breaks specs written for prev, the
// minor before it: a removed input type or input, an input newly required without a
// default, or an input whose type changed or whose allowed values narrowed.
func CheckCompatible(prev, next *Schema) error {
	for _, role := range []struct {
		key         string
		prevT, next string
	}{
		{"environment_input_type", prev.EnvironmentInputType, next.EnvironmentInputType},
		{"service_input_type", prev.ServiceInputType, next.ServiceInputType},
		{"pipeline_input_type", prev.PipelineInputType, next.PipelineInputType},
	} {
		if role.prevT == "" {
			continue
		}
		if role.next == "" {
			return bad("%s was removed", role.key)
		}
		if err := compatibleType(prev.types[role.prevT], next.types[role.next]); err != nil {
			return bad("%s %s: %s", role.key, role.next, err.Error())
		}
	}
	return nil
}

func compatibleType(prev, next *openapi3.Schema) error {
	wasRequired := map[string]bool{}
	for _, r := range prev.Required {
		wasRequired[r] = true
	}
	for name, ref := range prev.Properties {
		n, ok := next.Properties[name]
		if !ok {
			return fmt.Errorf("input %q was removed", name)
		}
		if err := compatibleProperty(ref.Value, n.Value); err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
	}
	for _, r := range next.Required {
		if wasRequired[r] {
			continue
		}
		if p := next.Properties[r]; p == nil || p.Value == nil || p.Value.Default == nil {
			return fmt.Errorf("input %q is newly required and has no default", r)
		}
	}
	return nil
}

func compatibleProperty(prev, next *openapi3.Schema) error {
	if prev == nil || next == nil {
		return nil
	}
	if typeName(prev) != typeName(next) {
		return fmt.Errorf("type changed from %s to %s", typeName(prev), typeName(next))
	}
	if len(prev.Enum) == 0 && len(next.Enum) > 0 {
		return fmt.Errorf("values are now limited to an enum")
	}
	for _, v := range prev.Enum {
		if !slices.ContainsFunc(next.Enum, func(w any) bool { return fmt.Sprint(w) == fmt.Sprint(v) }) {
			return fmt.Errorf("enum value %v was removed", v)
		}
	}
	if next.Pattern != prev.Pattern && next.Pattern != "" {
		return fmt.Errorf("pattern changed from %q to %q", prev.Pattern, next.Pattern)
	}
	if narrowerMax(prev.Max, next.Max) {
		return fmt.Errorf("maximum lowered")
	}
	if narrowerMin(prev.Min, next.Min) {
		return fmt.Errorf("minimum raised")
	}
	if next.MaxLength != nil && (prev.MaxLength == nil || *next.MaxLength < *prev.MaxLength) {
		return fmt.Errorf("maxLength lowered")
	}
	if next.MinLength > prev.MinLength {
		return fmt.Errorf("minLength raised")
	}
	if prev.Items != nil && next.Items != nil {
		if err := compatibleProperty(prev.Items.Value, next.Items.Value); err != nil {
			return fmt.Errorf("items: %w", err)
		}
	}
	return nil
}

func typeName(s *openapi3.Schema) string {
	if s.Type == nil || len(*s.Type) == 0 {
		return "any"
	}
	return (*s.Type)[0]
}

func narrowerMax(prev, next *float64) bool {
	return next != nil && (prev == nil || *next < *prev)
}

func narrowerMin(prev, next *float64) bool {
	return next != nil && (prev == nil || *next > *prev)
}
