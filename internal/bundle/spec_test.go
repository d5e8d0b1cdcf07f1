package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSampleSpecs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(samples, "*", "*-templates", "*", "spec", "spec.yaml"))
	if len(files) == 0 {
		t.Skip("samples not available")
	}
	for _, f := range files {
		text, _ := os.ReadFile(f)
		var err error
		if strings.Contains(f, "service-templates") {
			var s *ServiceSpec
			s, err = ParseServiceSpec(string(text))
			if err == nil && (len(s.Instances) == 0 || s.Instances[0].Environment == "") {
				t.Errorf("%s: instances %+v", f, s.Instances)
			}
		} else {
			var s *EnvironmentSpec
			s, err = ParseEnvironmentSpec(string(text))
			if err == nil && len(s.Inputs) == 0 {
				t.Errorf("%s: no inputs", f)
			}
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"proton: ServiceSpec\n", `proton must be "EnvironmentSpec"`},
		{"proton: EnvironmentSpec\nspec: [\n", "spec: line"},
		{"proton: EnvironmentSpec\nspec: [1, 2]\n", "spec:"},
	} {
		_, err := ParseEnvironmentSpec(tc.text)
		var se *SpecError
		if !errors.As(err, &se) || !strings.Contains(se.Message, tc.want) {
			t.Errorf("%q: %v, want %q", tc.text, err, tc.want)
		}
	}
	for _, tc := range []struct{ text, want string }{
		{"proton: ServiceSpec\ninstances:\n  - environment: e\n", "has no name"},
		{"proton: ServiceSpec\ninstances:\n  - name: a\n", "has no environment"},
		{"proton: ServiceSpec\ninstances:\n  - {name: a, environment: e}\n  - {name: a, environment: f}\n", "listed twice"},
	} {
		_, err := ParseServiceSpec(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.text, err, tc.want)
		}
	}
	s, err := ParseServiceSpec("proton: ServiceSpec\ninstances:\n  - name: a\n    environment: e\n    spec:\n      x: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	if in, ok := s.Instance("a"); !ok || in.Inputs["x"] != 1 {
		t.Errorf("instance a = %+v", in)
	}
}

func TestInputsMergeDefaultsAndCurrentValues(t *testing.T) {
	s := load(t, schema)
	got, err := s.Inputs("Input", map[string]any{"name": "abc"}, nil)
	if err != nil || got["size"] != "small" || got["count"] != 1 || got["name"] != "abc" {
		t.Errorf("defaults: %v %v", got, err)
	}
	got, err = s.Inputs("Input", map[string]any{"name": CurrentValue, "size": "large"}, map[string]any{"name": "kept"})
	if err != nil || got["name"] != "kept" || got["size"] != "large" {
		t.Errorf("current value: %v %v", got, err)
	}
	if _, err := s.Inputs("Input", map[string]any{"name": CurrentValue}, nil); err == nil || !strings.Contains(err.Error(), "no current value") {
		t.Errorf("current value without one: %v", err)
	}
	var se *SpecError
	if _, err := s.Inputs("Input", map[string]any{"name": "BAD"}, nil); !errors.As(err, &se) || !strings.Contains(se.Message, `input "name"`) {
		t.Errorf("invalid input: %v", err)
	}
	if _, err := s.Inputs("Input", map[string]any{}, nil); err == nil || !strings.Contains(err.Error(), `input "name" is required`) {
		t.Errorf("missing required: %v", err)
	}
}
