package gitsync

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRegistration(t *testing.T) {
	envs := func(pairs ...string) []CompatibleEnvironment {
		var out []CompatibleEnvironment
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, CompatibleEnvironment{pairs[i], pairs[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name, in string
		want     *Registration
		err      string
	}{
		{name: "documentation example", in: "compatible_environments:\n  - my-env-template:1\n  - my-env-template:2\n  - another-env-template:1\n  - another-env-template:3\n",
			want: &Registration{CompatibleEnvironments: envs("my-env-template", "1", "my-env-template", "2", "another-env-template", "1", "another-env-template", "3")}},
		{name: "with components", in: "compatible_environments:\n  - env:1\nsupported_component_sources:\n  - DIRECTLY_DEFINED\n",
			want: &Registration{CompatibleEnvironments: envs("env", "1"), SupportedComponentSources: []string{"DIRECTLY_DEFINED"}}},
		{name: "flow style, spaces, repeats", in: "compatible_environments: [ 'env : 12', env:12, other_env-2:3 ]\nsupported_component_sources: [DIRECTLY_DEFINED, DIRECTLY_DEFINED]\n",
			want: &Registration{CompatibleEnvironments: envs("env", "12", "other_env-2", "3"), SupportedComponentSources: []string{"DIRECTLY_DEFINED"}}},
		{name: "empty component sources", in: "compatible_environments: [env:1]\nsupported_component_sources:\n",
			want: &Registration{CompatibleEnvironments: envs("env", "1")}},
		{name: "anchor and alias", in: "compatible_environments: [&e env:1, *e]\n", want: &Registration{CompatibleEnvironments: envs("env", "1")}},

		{name: "empty file", in: "", err: ".template-registration.yaml: the file is empty"},
		{name: "comments only", in: "# nothing\n", err: "the file is empty"},
		{name: "no environments", in: "supported_component_sources: [DIRECTLY_DEFINED]\n", err: "compatible_environments is missing or empty"},
		{name: "empty environments", in: "compatible_environments: []\n", err: "compatible_environments is missing or empty"},
		{name: "null environments", in: "compatible_environments:\n", err: "compatible_environments is missing or empty"},
		{name: "no major", in: "compatible_environments:\n  - env:1\n  - env\n", err: `.template-registration.yaml: line 3: compatible_environments item 2: "env" is not <environment-template-name>:<major-version>`},
		{name: "leading zero", in: "compatible_environments: [env:01]\n", err: `item 1: "env:01": the major version "01" is not a positive whole number`},
		{name: "major zero", in: "compatible_environments: [env:0]\n", err: "not a positive whole number"},
		{name: "minor given", in: "compatible_environments: [env:1.0]\n", err: "not a positive whole number"},
		{name: "bad template name", in: "compatible_environments: [\"my env:1\"]\n", err: `"my env" is not a template name`},
		{name: "mapping item", in: "compatible_environments:\n  - env: 1\n", err: "line 2: compatible_environments item 1 should be a string, not a mapping"},
		{name: "not a list", in: "compatible_environments: env:1\n", err: `line 1: compatible_environments should be a list (- item), not "env:1"`},
		{name: "bad component source", in: "compatible_environments: [env:1]\nsupported_component_sources:\n  - DIRECTLY_DEFINED\n  - SOMETHING\n",
			err: `line 4: supported_component_sources item 2: "SOMETHING" is not a component source`},
		{name: "misspelt key", in: "compatible_environments: [env:1]\nsupported_component_source: [DIRECTLY_DEFINED]\n", err: `line 2: unknown key "supported_component_source"`},
		{name: "key twice", in: "compatible_environments: [env:1]\ncompatible_environments: [env:2]\n", err: `line 2: the file has "compatible_environments" twice (first on line 1)`},
		{name: "a list", in: "- env:1\n", err: "the file should be a mapping"},
		{name: "not YAML", in: "compatible_environments: [env:1\n", err: ".template-registration.yaml: not valid YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRegistration([]byte(tc.in))
			check(t, got, err, tc.want, tc.err)
		})
	}
}

func TestParseCompatibleEnvs(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []CompatibleEnvironment
		err      string
	}{
		{name: "sample, no final newline", in: "vpc-env:1", want: []CompatibleEnvironment{{"vpc-env", "1"}}},
		{name: "sample", in: "vpc-env:1\n", want: []CompatibleEnvironment{{"vpc-env", "1"}}},
		{name: "blank lines, spaces, CRLF, repeats", in: "\n  a:1  \r\n\r\n\tb_2:10\nb_2:10\n",
			want: []CompatibleEnvironment{{"a", "1"}, {"b_2", "10"}}},
		{name: "empty", in: "", err: ".compatible-envs: the file lists no environment templates"},
		{name: "blank", in: "\n  \n", err: "lists no environment templates"},
		{name: "bad line", in: "a:1\n\nb\n", err: `.compatible-envs: line 3: "b" is not <environment-template-name>:<major-version>`},
		{name: "YAML list", in: "- a:1\n", err: `line 1: "- a:1": "- a" is not a template name`},
		{name: "bad major", in: "a:v1\n", err: `line 1: "a:v1": the major version "v1" is not a positive whole number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCompatibleEnvs([]byte(tc.in))
			var want *Registration
			if tc.want != nil {
				want = &Registration{CompatibleEnvironments: tc.want}
			}
			check(t, got, err, want, tc.err)
		})
	}
}

// check compares a parse result with the wanted value or error text.
func check[T any](t *testing.T, got *T, err error, want *T, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v; want it to contain %q", err, wantErr)
		}
		if got != nil {
			t.Errorf("a result with the error: %+v", got)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
