package render

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenderNumbers(t *testing.T) {
	ctx := map[string]any{
		"int":       8080,
		"int64":     int64(-3),
		"uint8":     uint8(7),
		"jsonInt":   json.Number("512"),
		"jsonFloat": json.Number("512.0"),
		"jsonExp":   json.Number("1e3"),
		"float":     8080.0,
		"float32":   float32(0.5),
	}
	got, err := Render("n.yaml", "{{ int }} {{ int64 }} {{ uint8 }} {{ jsonInt }} {{ jsonFloat }} {{ jsonExp }} {{ float }} {{ float32 }}", ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := "8080 -3 7 512 512.0 1000.0 8080.0 0.5"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRenderMapOrder(t *testing.T) {
	tpl := "{% for k in d %}{{ k }}{% endfor %}"
	got, err := Render("m.yaml", tpl, map[string]any{"d": map[string]any{"b": 1, "c": 2, "a": 3}})
	if err != nil {
		t.Fatal(err)
	}
	if got != "abc" {
		t.Errorf("Go map: got %q, want sorted keys abc", got)
	}
	got, err = Render("m.yaml", tpl, map[string]any{"d": Object{{"b", 1}, {"c", 2}, {"a", 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if got != "bca" {
		t.Errorf("Object: got %q, want its own order bca", got)
	}
}

func TestDecodeJSON(t *testing.T) {
	got, err := DecodeJSON([]byte(`{"b": [1, 2.5, "x", null, true], "a": {"k": 1, "k": 2, "j": 3}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Object{
		{Key: "b", Value: []any{json.Number("1"), json.Number("2.5"), "x", nil, true}},
		{Key: "a", Value: Object{{Key: "k", Value: json.Number("2")}, {Key: "j", Value: json.Number("3")}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecodeJSON (-want +got):\n%s", diff)
	}
	for _, bad := range []string{``, `{`, `{"a": 1} {}`, `[1,]`} {
		if _, err := DecodeJSON([]byte(bad)); err == nil {
			t.Errorf("DecodeJSON(%q) succeeded", bad)
		}
	}
}

func TestRenderContextErrors(t *testing.T) {
	for name, v := range map[string]any{
		"channel":       make(chan int),
		"struct":        struct{}{},
		"huge uint":     uint64(1 << 63),
		"huge integer":  json.Number("99999999999999999999"),
		"nested struct": map[string]any{"a": []any{struct{}{}}},
	} {
		if _, err := Render("c.yaml", "x", map[string]any{"v": v}); err == nil {
			t.Errorf("%s: Render succeeded", name)
		}
	}
}

func TestRenderUndefinedErrors(t *testing.T) {
	ctx := map[string]any{
		"environment":      map[string]any{"name": "prod", "inputs": map[string]any{}},
		"service_instance": map[string]any{"name": "i"},
	}
	tests := []struct{ template, want string }{
		{"{{ nope }}", "render t.yaml: line 1: 'nope' is undefined"},
		{"a\n\nCIDR: {{ environment.inputs.vpc_cidr }}", "render t.yaml: line 3: 'environment.inputs.vpc_cidr' is undefined"},
		{"{{ environment.outputs.VpcId }}", "render t.yaml: line 1: 'environment.outputs' is undefined"},
		{"{% for x in [1] %}\n{{ service_instance.components.default.outputs.Bucket }}{% endfor %}", "render t.yaml: line 2: 'service_instance.components.default.outputs.Bucket' is undefined"},
		{"{% if environment.missing %}{% endif %}", "render t.yaml: line 1: 'environment.missing' is undefined"},
		{"{{ 'x' ~ environment.nope ~ 'y' }}", "render t.yaml: line 1: 'environment.nope' is undefined"},
	}
	for _, tt := range tests {
		_, err := Render("t.yaml", tt.template, ctx)
		if !errors.Is(err, ErrUndefined) {
			t.Errorf("%q: error %v does not wrap ErrUndefined", tt.template, err)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%q: error %q, want %q", tt.template, err, tt.want)
		}
	}
}

func TestRenderOtherErrors(t *testing.T) {
	tests := []struct{ template, want string }{
		{"{% if x %}unclosed", "render t.yaml: line 1: syntax error:"},
		{"{{ 1 | no_such_filter }}", "render t.yaml: line 1: filter 'no_such_filter' not found"},
		{"{{ 1 / 0 }}", "render t.yaml: line 1: division by zero"},
		{"{% include 'other.yaml' %}", "templates cannot include, import or extend other files"},
		{"{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}", "render t.yaml: line 1: maximum recursion depth exceeded"},
		{"{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "render t.yaml: line 1: maximum recursion depth exceeded"},
	}
	for _, tt := range tests {
		_, err := Render("t.yaml", tt.template, map[string]any{"x": 1})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want it to contain %q", tt.template, err, tt.want)
		}
		if errors.Is(err, ErrUndefined) || errors.Is(err, errEnginePanic) {
			t.Errorf("%q: error %v wraps the wrong sentinel", tt.template, err)
		}
	}
}

func TestRenderDoesNotModifyContext(t *testing.T) {
	inst := map[string]any{"name": "i"}
	ctx := map[string]any{"service_instance": inst}
	if _, err := Render("t.yaml", "{{ service_instance.components.default }}", ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := inst["components"]; ok || len(ctx) != 1 {
		t.Errorf("Render added to the caller's context: %v", ctx)
	}
}

func TestRenderConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := map[string]any{"n": i, "o": Object{{Key: "K", Value: "v"}}}
			got, err := Render("t.yaml", "{{ n }} {{ o | proton_cfn_lambda_function_formatted_env_vars }}", ctx)
			if want := strconv.Itoa(i) + " K: v"; err != nil || got != want {
				t.Errorf("got %q, %v; want %q", got, err, want)
			}
		}()
	}
	wg.Wait()
}

func TestFormatFloat(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", -1.5: "-1.5", 0.1: "0.1", 1e-4: "0.0001", 1e-5: "1e-05", 1.5e-7: "1.5e-07",
		1e15: "1000000000000000.0", 1e16: "1e+16", 1.2345678901234567e20: "1.2345678901234567e+20",
		123456789.125: "123456789.125", 2.5e-310: "2.5e-310",
	} {
		if got := formatFloat(f); got != want {
			t.Errorf("formatFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestQuotePy(t *testing.T) {
	for s, want := range map[string]string{
		"a":        `'a'`,
		"it's":     `"it's"`,
		`"q"`:      `'"q"'`,
		`'"`:       `'\'"'`,
		"a\\b":     `'a\\b'`,
		"\t\n\r":   `'\t\n\r'`,
		"\x00\x7f": `'\x00\x7f'`,
		"\u00a0é":  `'\xa0é'`,
		"\u200b":   `'\u200b'`,
		"😀":        `'😀'`,
	} {
		if got := quotePy(s); got != want {
			t.Errorf("quotePy(%q) = %s, want %s", s, got, want)
		}
	}
}
