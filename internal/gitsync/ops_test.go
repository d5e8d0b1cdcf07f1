package gitsync

import (
	"testing"
)

// The example from Proton's service sync documentation.
const docOpsFile = `sync:
  services:
      frontend-svc:
          alpha:
              branch: dev
              spec: ./frontend-svc/test/frontend-spec.yaml
          beta:
              branch: dev
              spec: ./frontend-svc/test/frontend-spec.yaml
          gamma:
              branch: pre-prod
              spec: ./frontend-svc/pre-prod/frontend-spec.yaml
          prod-one:
              branch: prod
              spec: ./frontend-svc/prod/frontend-spec-second.yaml
          prod-two:
              branch: prod
              spec: ./frontend-svc/prod/frontend-spec-second.yaml
          prod-three:
              branch: prod
              spec: ./frontend-svc/prod/frontend-spec-second.yaml
`

func TestParseOpsFile(t *testing.T) {
	test := OpsInstance{Branch: "dev", Spec: "frontend-svc/test/frontend-spec.yaml"}
	prod := OpsInstance{Branch: "prod", Spec: "frontend-svc/prod/frontend-spec-second.yaml"}
	for _, tc := range []struct {
		name, in string
		want     *OpsFile
		err      string
	}{
		{name: "documentation example", in: docOpsFile, want: &OpsFile{Services: map[string]map[string]OpsInstance{
			"frontend-svc": {"alpha": test, "beta": test,
				"gamma":    {Branch: "pre-prod", Spec: "frontend-svc/pre-prod/frontend-spec.yaml"},
				"prod-one": prod, "prod-two": prod, "prod-three": prod},
		}}},
		{name: "paths written differently, several services, other keys beside sync",
			in: "version: 2\nsync:\n  services:\n    a:\n      one: {branch: main, spec: x/y.yaml}\n      two: {branch: feature/x, spec: 'x//./y.yaml'}\n    b_2:\n      one: {branch: main, spec: ./z.yaml}\n",
			want: &OpsFile{Services: map[string]map[string]OpsInstance{
				"a":   {"one": {Branch: "main", Spec: "x/y.yaml"}, "two": {Branch: "feature/x", Spec: "x/y.yaml"}},
				"b_2": {"one": {Branch: "main", Spec: "z.yaml"}},
			}}},
		{name: "no services yet", in: "sync:\n  services:\n", want: &OpsFile{Services: map[string]map[string]OpsInstance{}}},
		{name: "empty services", in: "sync:\n  services: {}\n", want: &OpsFile{Services: map[string]map[string]OpsInstance{}}},

		{name: "empty file", in: "", err: "the file is empty"},
		{name: "no sync", in: "services: {}\n", err: "the file has no sync: block"},
		{name: "sync not a mapping", in: "sync: [a]\n", err: "line 1: sync should be a mapping (key: value), not a list"},
		{name: "no services", in: "sync:\n  service: {}\n", err: `line 2: sync: unknown key "service"`},
		{name: "empty sync", in: "sync: {}\n", err: "line 1: sync has no services"},
		{name: "bad service name", in: "sync:\n  services:\n    my svc:\n      a: {branch: main, spec: s.yaml}\n", err: `line 3: sync.services.my svc: "my svc" is not a service name`},
		{name: "service without instances", in: "sync:\n  services:\n    svc:\n", err: "line 3: sync.services.svc lists no instances"},
		{name: "service with empty instances", in: "sync:\n  services:\n    svc: {}\n", err: "line 3: sync.services.svc lists no instances"},
		{name: "bad instance name", in: "sync:\n  services:\n    svc:\n      -a: {branch: main, spec: s.yaml}\n", err: `line 4: sync.services.svc.-a: "-a" is not a service instance name`},
		{name: "instance without entry", in: "sync:\n  services:\n    svc:\n      a:\n", err: "line 4: sync.services.svc.a needs a branch and a spec"},
		{name: "missing branch", in: "sync:\n  services:\n    svc:\n      a:\n        spec: s.yaml\n", err: "line 4: sync.services.svc.a: branch is missing"},
		{name: "missing spec", in: "sync:\n  services:\n    svc:\n      a:\n        branch: main\n", err: "line 4: sync.services.svc.a: spec is missing"},
		{name: "empty branch", in: "sync:\n  services:\n    svc:\n      a: {branch: '', spec: s.yaml}\n", err: `sync.services.svc.a: branch "" is not a valid branch name`},
		{name: "invalid branch", in: "sync:\n  services:\n    svc:\n      a: {branch: 'a..b', spec: s.yaml}\n", err: `branch "a..b" is not a valid branch name`},
		{name: "branch not a string", in: "sync:\n  services:\n    svc:\n      a: {branch: [main], spec: s.yaml}\n", err: "line 4: sync.services.svc.a.branch should be a string, not a list"},
		{name: "absolute spec", in: "sync:\n  services:\n    svc:\n      a: {branch: main, spec: /etc/s.yaml}\n", err: `spec "/etc/s.yaml" is an absolute path`},
		{name: "climbing spec", in: "sync:\n  services:\n    svc:\n      a: {branch: main, spec: ../s.yaml}\n", err: `spec "../s.yaml" climbs out of the repository`},
		{name: "climbing back in", in: "sync:\n  services:\n    svc:\n      a: {branch: main, spec: x/../s.yaml}\n", err: "climbs out"},
		{name: "folder spec", in: "sync:\n  services:\n    svc:\n      a: {branch: main, spec: ./}\n", err: `spec "./" names a folder`},
		{name: "unknown instance key", in: "sync:\n  services:\n    svc:\n      a: {branch: main, spec: s.yaml, specs: t.yaml}\n", err: `line 4: sync.services.svc.a: unknown key "specs"`},
		{name: "instance twice", in: "sync:\n  services:\n    svc:\n      a: {branch: main, spec: s.yaml}\n      a: {branch: dev, spec: s.yaml}\n", err: `line 5: sync.services.svc has "a" twice (first on line 4)`},
		{name: "not YAML", in: "sync: [\n", err: "not valid YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOpsFile([]byte(tc.in))
			check(t, got, err, tc.want, tc.err)
		})
	}
}
