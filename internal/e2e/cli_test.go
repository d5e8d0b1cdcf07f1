package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openproton/openproton/internal/cli"
)

// runOpenproton runs the openproton command line in process with env set, as a script
// would run the binary.
func runOpenproton(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code = cli.Main(args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestCLIMatchesAWSCLI: `openproton <command>` takes the aws CLI's options (scalars,
// shorthand structures, lists as separate words, JSON, file://, --cli-input-json) and
// prints byte for byte what `aws proton <command>` prints, with the same exit codes.
func TestCLIMatchesAWSCLI(t *testing.T) {
	needTool(t, "aws", "--version")
	srv := startServer(t, "")
	env := srv.awsEnv(t, rootKeyID, rootSecret)
	dir := t.TempDir()
	input := filepath.Join(dir, "in.json")
	if err := os.WriteFile(input, []byte(`{"name": "from-json", "description": "from a file", "tags": [{"key": "k", "value": "v"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	desc := filepath.Join(dir, "desc.txt")
	if err := os.WriteFile(desc, []byte("line one\n\"quoted\" é\ttab \\ backslash"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Enough service templates for several pages (the CLIs merge them).
	for i := range 12 {
		if _, _, code := runAWS(t, srv, env, "proton", "create-service-template", "--name", "svc-"+string(rune('a'+i))); code != 0 {
			t.Fatal("seeding service templates failed")
		}
	}
	for _, args := range [][]string{
		// Creates are compared on their idempotent retry: the same answer twice.
		{"create-environment-template", "--name", "cli", "--display-name", "Ünïcode", "--tags", "key=team,value=platform", "key=tier,value=gold"},
		{"create-environment-template", "--cli-input-json", "file://" + input},
		{"get-environment-template", "--name", "cli"},
		{"get-environment-template", "--name", "from-json"},
		{"list-environment-templates"},
		{"list-service-templates"},
		{"list-service-templates", "--no-paginate"},
		{"list-service-templates", "--max-results", "5"},
		{"list-tags-for-resource", "--resource-arn", "arn:aws:proton:" + region + ":" + accountID + ":environment-template/cli"},
		{"list-environments", "--environment-templates", "templateName=cli,majorVersion=1"},
		{"list-environments", "--environment-templates", `[{"templateName": "cli", "majorVersion": "1"}]`},
		{"get-account-settings"},
		{"get-resources-summary"},
		{"get-environment-template", "--name", "missing"},             // a service error
		{"create-environment-template"},                               // a required option missing
		{"get-environment-template", "--name", "cli", "--bogus", "x"}, // an unknown option
		{"delete-environment-template", "--name", "never-was"},        // an empty answer
		{"list-service-templates", "--query", "templates[].name"},
		{"list-service-templates", "--query", "templates[?name=='svc-c'].arn | [0]"},
		{"list-service-templates", "--query", "length(templates)"},
		{"list-service-templates", "--query", "templates[].name", "--output", "text"},
		{"list-service-templates", "--query", "templates[].[name, arn]", "--output", "text"},
		{"get-environment-template", "--name", "cli", "--query", "environmentTemplate.displayName", "--output", "text"},
		{"get-environment-template", "--name", "cli", "--query", "environmentTemplate.{n: name, d: displayName}"},
	} {
		ours, ourErr, ourCode := runOpenproton(t, env, append(args, "--endpoint-url", srv.URL())...)
		theirs, theirErr, theirCode := runAWS(t, srv, env, append([]string{"proton"}, args...)...)
		if ours != theirs || (ourCode == 0) != (theirCode == 0) || (ourCode != 0 && ourCode != theirCode) {
			t.Errorf("%v:\nopenproton (exit %d):\n%s%s\naws (exit %d):\n%s%s", args, ourCode, ours, ourErr, theirCode, theirs, theirErr)
		}
	}
	// An update, compared on its effect: both CLIs read the file the same way.
	if _, errOut, code := runOpenproton(t, env, "update-environment-template", "--name", "cli", "--description", "file://"+desc, "--endpoint-url", srv.URL()); code != 0 {
		t.Fatalf("update: %d %s", code, errOut)
	}
	ours, _, _ := runOpenproton(t, env, "get-environment-template", "--name", "cli", "--endpoint-url", srv.URL())
	theirs, _, _ := runAWS(t, srv, env, "proton", "get-environment-template", "--name", "cli")
	if ours != theirs || !strings.Contains(ours, `"description": "line one\n\"quoted\" é\ttab \\ backslash"`) {
		t.Errorf("after an update from a file:\nopenproton:\n%s\naws:\n%s", ours, theirs)
	}
	// The service error is worded as the aws CLI words it.
	_, errOut, code := runOpenproton(t, env, "get-environment-template", "--name", "missing", "--endpoint-url", srv.URL())
	if code != 255 || !strings.Contains(errOut, "An error occurred (ResourceNotFoundException) when calling the GetEnvironmentTemplate operation: ") {
		t.Errorf("error output: %d %q", code, errOut)
	}
}
