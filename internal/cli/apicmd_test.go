package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openproton/openproton/internal/api"
)

func TestKebabMatchesBotocore(t *testing.T) {
	for in, want := range map[string]string{
		"CreateEnvironmentTemplate":            "create-environment-template",
		"protonServiceRoleArn":                 "proton-service-role-arn",
		"codebuildRoleArn":                     "codebuild-role-arn",
		"GetResourcesSummary":                  "get-resources-summary",
		"environmentAccountConnectionId":       "environment-account-connection-id",
		"NotifyResourceDeploymentStatusChange": "notify-resource-deployment-status-change",
	} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%q) = %q, want %q", in, got, want)
		}
	}
	if len(apiCommands()) != len(api.Operations) || len(api.Operations) != 87 {
		t.Errorf("%d commands for %d operations", len(apiCommands()), len(api.Operations))
	}
}

func TestShorthand(t *testing.T) {
	for in, want := range map[string]any{
		"key=a,value=b":                map[string]any{"key": "a", "value": "b"},
		"s3={bucket=b,key=k/x.tar.gz}": map[string]any{"s3": map[string]any{"bucket": "b", "key": "k/x.tar.gz"}},
		"names=[a,b],n=1":              map[string]any{"names": []any{"a", "b"}, "n": "1"},
	} {
		got, err := parseShorthand(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", in, diff)
		}
	}
	for _, bad := range []string{"novalue", "s3={bucket=b", "a=[x,y"} {
		if _, err := parseShorthand(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestPythonJSON: what Python's json.dumps(indent=4, sort_keys=True, ensure_ascii=False)
// prints for the same value (checked against CPython 3.11).
func TestPythonJSON(t *testing.T) {
	dec := json.NewDecoder(bytes.NewReader([]byte(`{"b": [1, 2.50, 1795953835.644, 1e20, 3.0], "a": {"é": "x\"y\\z\n\u0001"}, "c": {}, "d": [], "e": null, "f": true}`)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	writePythonJSON(&b, v, 0, nil)
	want := "{\n    \"a\": {\n        \"é\": \"x\\\"y\\\\z\\n\\u0001\"\n    },\n    \"b\": [\n        1,\n        2.5,\n        1795953835.644,\n        1e+20,\n        3.0\n    ],\n    \"c\": {},\n    \"d\": [],\n    \"e\": null,\n    \"f\": true\n}"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMultiselectOrders(t *testing.T) {
	got := multiselectOrders("items[].{Name: name, \"Full id\": arn, n: length(join(',', [a, b])), x: {z: a, y: b}, lit: `{\"q\": 1}`}")
	want := [][]string{{"z", "y"}, {"Name", "Full id", "n", "x", "lit"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
