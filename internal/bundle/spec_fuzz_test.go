package bundle

import (
	"errors"
	"testing"
)

// FuzzEnvironmentSpec feeds arbitrary spec text through parsing and input resolution, as
// CreateEnvironment does: every outcome is inputs or a *SpecError, never a panic.
func FuzzEnvironmentSpec(f *testing.F) {
	f.Add("proton: EnvironmentSpec\nspec:\n  vpc_cidr: 10.0.0.0/16\n")
	f.Add("proton: EnvironmentSpec\nspec:\n  size: \"${Proton::CURRENT_VAL}\"\n")
	f.Add("proton: ServiceSpec\ninstances: []\n")
	f.Add("proton: EnvironmentSpec\nspec: [1, 2]\n")
	f.Add("proton: EnvironmentSpec\nspec:\n  size: &a [*a]\n")
	f.Add("{")
	s, err := parseSchema([]byte(schema))
	if err != nil {
		f.Fatal(err)
	}
	current := map[string]any{"size": "large"}
	f.Fuzz(func(t *testing.T, text string) {
		spec, err := ParseEnvironmentSpec(text)
		var se *SpecError
		if err != nil {
			if !errors.As(err, &se) {
				t.Fatalf("error of type %T, not *SpecError: %v", err, err)
			}
			return
		}
		if _, err := s.Inputs(s.EnvironmentInputType, spec.Inputs, current); err != nil && !errors.As(err, &se) {
			t.Fatalf("input error of type %T, not *SpecError: %v", err, err)
		}
	})
}
