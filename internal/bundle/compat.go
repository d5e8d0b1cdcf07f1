package bundle

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// CheckCompatible reports (as *Error) why next, a new minor version, breaks specs written
// for prev, the latest minor of the same major: a removed input type or input, an input
// newly required without a default, or an input whose type changed or whose allowed values
// narrowed. It is best effort: a changed pattern counts as narrowed, since whether one
// regular expression accepts all another does is beyond checking.
func CheckCompatible(prev, next *Schema) error {
	if prev == nil || next == nil {
		return fmt.Errorf("bundle: CheckCompatible needs two schemas")
	}
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
		p, n := prev.types[role.prevT], next.types[role.next]
		if p == nil || n == nil {
			return bad("%s %s is not defined", role.key, role.next)
		}
		if err := compatibleObject(p, n, ""); err != nil {
			return bad("%s %s: %s", role.key, role.next, err.Error())
		}
	}
	return nil
}

// compatibleObject checks an object's properties; prefix names nested inputs ("vpc.cidr").
func compatibleObject(prev, next *openapi3.Schema, prefix string) error {
	wasRequired := map[string]bool{}
	for _, r := range prev.Required {
		wasRequired[r] = true
	}
	for _, name := range sortedKeys(prev.Properties) {
		n, ok := next.Properties[name]
		if !ok {
			return fmt.Errorf("input %q was removed", prefix+name)
		}
		if err := compatibleProperty(prev.Properties[name].Value, n.Value, prefix+name+"."); err != nil {
			if ne, ok := err.(nestedError); ok {
				return ne.error // it names the nested input already
			}
			return fmt.Errorf("input %q: %w", prefix+name, err)
		}
	}
	for _, r := range next.Required {
		p := next.Properties[r]
		hasDefault := p != nil && p.Value != nil && p.Value.Default != nil
		switch {
		case hasDefault:
		case !wasRequired[r]:
			return fmt.Errorf("input %q is newly required and has no default", prefix+r)
		case prev.Properties[r] != nil && prev.Properties[r].Value != nil && prev.Properties[r].Value.Default != nil:
			// Specs could leave it out and get the default; now they cannot.
			return fmt.Errorf("input %q is required and lost its default", prefix+r)
		}
	}
	return nil
}

func compatibleProperty(prev, next *openapi3.Schema, prefix string) error {
	if prev == nil || next == nil {
		return nil
	}
	if typeName(prev) != typeName(next) {
		return fmt.Errorf("type changed from %s to %s", typeName(prev), typeName(next))
	}
	if prev.Nullable && !next.Nullable {
		return fmt.Errorf("no longer nullable")
	}
	if len(prev.Enum) == 0 && len(next.Enum) > 0 {
		return fmt.Errorf("values are now limited to an enum")
	}
	for _, v := range prev.Enum {
		if !slices.ContainsFunc(next.Enum, func(w any) bool { return reflect.DeepEqual(w, v) }) {
			return fmt.Errorf("enum value %v was removed", v)
		}
	}
	if next.Pattern != prev.Pattern && next.Pattern != "" {
		return fmt.Errorf("pattern changed from %q to %q", prev.Pattern, next.Pattern)
	}
	if next.Format != prev.Format && next.Format != "" {
		return fmt.Errorf("format changed from %q to %q", prev.Format, next.Format)
	}
	if narrowerMax(prev.Max, next.Max) || prev.Max != nil && next.Max != nil && *next.Max == *prev.Max && next.ExclusiveMax.IsTrue() && !prev.ExclusiveMax.IsTrue() {
		return fmt.Errorf("maximum lowered")
	}
	if narrowerMin(prev.Min, next.Min) || prev.Min != nil && next.Min != nil && *next.Min == *prev.Min && next.ExclusiveMin.IsTrue() && !prev.ExclusiveMin.IsTrue() {
		return fmt.Errorf("minimum raised")
	}
	if narrowerUpper(prev.MaxLength, next.MaxLength) {
		return fmt.Errorf("maxLength lowered")
	}
	if next.MinLength > prev.MinLength {
		return fmt.Errorf("minLength raised")
	}
	if narrowerUpper(prev.MaxItems, next.MaxItems) {
		return fmt.Errorf("maxItems lowered")
	}
	if next.MinItems > prev.MinItems {
		return fmt.Errorf("minItems raised")
	}
	if prev.Items != nil && next.Items != nil {
		if err := compatibleProperty(prev.Items.Value, next.Items.Value, prefix); err != nil {
			return fmt.Errorf("items: %w", err)
		}
	}
	if len(prev.Properties) > 0 || len(next.Properties) > 0 {
		if err := compatibleObject(prev, next, prefix); err != nil {
			return nestedError{err}
		}
	}
	return nil
}

// nestedError is a problem with an input inside an object input, already named in full.
type nestedError struct{ error }

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

func narrowerUpper(prev, next *uint64) bool {
	return next != nil && (prev == nil || *next < *prev)
}
