package render

import (
	"errors"
	"testing"
	"time"
)

// FuzzRender checks that no template makes Render panic, inside gonja or out,
// or hang.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{
		"",
		"plain\n",
		"{{ environment.name }}",
		"{% for k, v in d.items() %}{{ loop.index }}{{ k ~ v }}{% endfor %}",
		"{%- if x is defined -%}{{ x | default('d') }}{% else %}{{ n }}{% endif %}",
		"{{ d | tojson }} {{ s | truncate(29, true, 'zzz', 0) }}",
		"{{ d | proton_cfn_ecs_task_definition_formatted_env_vars }}\n  {{ d | proton_cfn_iam_policy_arns }}",
		"{{ s | proton_cfn_sanitize }} {{ d | proton_cfn_lambda_function_formatted_env_vars(raw=False) }}",
		"{% raw %}{{ x }}{% endraw %}{# c #}",
		"{% set ns = namespace(a=1) %}{% set ns.a = ns.a + 1 %}{{ ns.a }}",
		"{% macro m(a, b=2) %}{{ a }}{{ caller() }}{% endmacro %}{% call m(1) %}x{% endcall %}",
		"{{ '%s-%05.1f' % (s, 2.25) }} {{ [1, 2][1:] }} {{ (1,) }} {{ 7 // -2 }}",
		"{{ service_instance.components.default.outputs | length }}",
		"{% for x in range(3) recursive %}{{ loop.previtem }}{% endfor %}",
		"{{",
		"{% if %}",
		"{{ a.b.c }}",
	} {
		f.Add(seed)
	}
	ctx := func() map[string]any {
		return map[string]any{
			"environment":      map[string]any{"name": "prod", "inputs": map[string]any{"cidr": "10.0.0.0/16"}},
			"service_instance": map[string]any{"name": "i"},
			"d":                Object{{Key: "b", Value: 1}, {Key: "a", Value: []any{"x", nil, 2.5}}},
			"s":                "a long string with words",
			"n":                nil,
			"x":                true,
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		done := make(chan struct{})
		var err error
		go func() {
			defer close(done)
			_, err = Render("fuzz.yaml", text, ctx())
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Render(%q) did not return within 10s", text)
		}
		if errors.Is(err, errEnginePanic) {
			t.Fatalf("Render(%q) panicked: %v", text, err)
		}
	})
}
