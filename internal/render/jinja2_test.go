package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// renderCase is one template rendered by both render.Render and Python Jinja2.
type renderCase struct {
	Name     string `yaml:"name"`
	Template string `yaml:"template"`
	// Context is JSON text, decoded by DecodeJSON here and json.loads in Python.
	Context   string `yaml:"context"`
	Error     bool   `yaml:"error"`
	Undefined bool   `yaml:"undefined"`
}

// jinjaResult is what testdata/jinja_render.py reports for one case.
type jinjaResult struct {
	Output *string `json:"output"`
	Error  string  `json:"error"`
}

const installJinja2 = "apt-get install -y python3-jinja2 (or: python3 -m pip install Jinja2)"

var (
	pythonOnce sync.Once
	pythonPath string
)

// jinjaPython finds a python3 that can import jinja2, preferring the
// distribution's (Debian's python3-jinja2) over whatever is first on PATH.
func jinjaPython() string {
	pythonOnce.Do(func() {
		candidates := []string{"/usr/bin/python3"}
		if p, err := exec.LookPath("python3"); err == nil {
			candidates = append(candidates, p)
		}
		for _, p := range candidates {
			if exec.Command(p, "-c", "import jinja2").Run() == nil {
				pythonPath = p
				return
			}
		}
	})
	return pythonPath
}

// renderWithJinja2 renders all cases in one Python process.
func renderWithJinja2(t *testing.T, cases []renderCase) []jinjaResult {
	t.Helper()
	python := jinjaPython()
	if python == "" {
		t.Skip("no python3 that can import jinja2; to run the differential test: " + installJinja2)
	}
	type pyCase struct {
		Template string `json:"template"`
		Context  string `json:"context"`
	}
	in := struct {
		Cases []pyCase `json:"cases"`
	}{}
	for _, c := range cases {
		in.Cases = append(in.Cases, pyCase{Template: c.Template, Context: contextJSON(c)})
	}
	payload, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "jinja_render.py"))
	cmd.Stdin = bytes.NewReader(payload)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s testdata/jinja_render.py: %v\n%s", python, err, stderr.String())
	}
	var results []jinjaResult
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("decode jinja_render.py output: %v", err)
	}
	if len(results) != len(cases) {
		t.Fatalf("jinja_render.py returned %d results for %d cases", len(results), len(cases))
	}
	return results
}

func contextJSON(c renderCase) string {
	if strings.TrimSpace(c.Context) == "" {
		return "{}"
	}
	return c.Context
}

// renderCaseWithGo renders c with Render, decoding its context like json.loads.
func renderCaseWithGo(c renderCase) (string, error) {
	v, err := DecodeJSON([]byte(contextJSON(c)))
	if err != nil {
		return "", err
	}
	obj, ok := v.(Object)
	if !ok {
		return "", errors.New("context is not a JSON object")
	}
	ctx := make(map[string]any, len(obj))
	for _, f := range obj {
		ctx[f.Key] = f.Value
	}
	return Render(c.Name, c.Template, ctx)
}

func loadCases(t *testing.T, file string) []renderCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var cases []renderCase
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatalf("testdata/%s: %v", file, err)
	}
	return cases
}

// TestJinja2Differential renders the corpus in testdata/cases.yaml and every
// Jinja template of the shared Proton samples with both engines and compares
// the bytes.
func TestJinja2Differential(t *testing.T) {
	cases := loadCases(t, "cases.yaml")
	if len(cases) < 30 {
		t.Fatalf("corpus has %d cases, want at least 30", len(cases))
	}
	gaps := loadCases(t, "gaps.yaml")
	samples := sampleCases(t)
	all := append(append([]renderCase{}, cases...), samples...)
	results := renderWithJinja2(t, append(append([]renderCase{}, all...), gaps...))

	// The known gaps must still differ: when one starts to match, it belongs
	// in cases.yaml.
	for i, c := range gaps {
		want := results[len(all)+i]
		t.Run("gap/"+c.Name, func(t *testing.T) {
			got, err := renderCaseWithGo(c)
			if err == nil && want.Output != nil && got == *want.Output {
				t.Fatalf("Render now matches Jinja2 (%q): move the case to cases.yaml", got)
			}
			if err != nil && want.Output == nil {
				t.Fatalf("both fail now: move the case to cases.yaml with error: true")
			}
			if want.Output != nil {
				t.Logf("Render: %q %v\nJinja2: %q", got, err, *want.Output)
			} else {
				t.Logf("Render: %q\nJinja2 fails: %s", got, want.Error)
			}
		})
	}

	identical := 0
	for i, c := range all {
		want := results[i]
		t.Run(c.Name, func(t *testing.T) {
			got, err := renderCaseWithGo(c)
			switch {
			case want.Output == nil && err == nil:
				t.Fatalf("Jinja2 fails (%s) but Render succeeds:\n%s", want.Error, got)
			case want.Output != nil && err != nil:
				t.Fatalf("Render fails: %v\nJinja2 renders:\n%s", err, *want.Output)
			case want.Output == nil:
				if !c.Error {
					t.Fatalf("both fail but the case does not expect an error\nJinja2: %s\nRender: %v", want.Error, err)
				}
				if c.Undefined && !errors.Is(err, ErrUndefined) {
					t.Fatalf("Render error %v does not wrap ErrUndefined (Jinja2: %s)", err, want.Error)
				}
				if c.Undefined && !strings.Contains(want.Error, "UndefinedError") {
					t.Fatalf("Jinja2 error is not an UndefinedError: %s", want.Error)
				}
				t.Logf("both fail\nJinja2: %s\nRender: %v", want.Error, err)
			default:
				if c.Error {
					t.Fatalf("case expects an error but both render:\n%s", got)
				}
				if got != *want.Output {
					t.Fatalf("output differs\n--- Render\n%q\n--- Jinja2\n%q", got, *want.Output)
				}
			}
			identical++
		})
	}
	t.Logf("%d of %d cases byte-identical or failing on both sides (%d corpus, %d samples)", identical, len(all), len(cases), len(samples))
}
