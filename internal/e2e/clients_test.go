package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runAWS runs the preinstalled aws CLI against the server.
func runAWS(t *testing.T, srv *testServer, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command("aws", append(args, "--endpoint-url", srv.URL())...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("aws %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestAWSCLI(t *testing.T) {
	needTool(t, "aws", "--version")
	srv := startServer(t, "")
	env := srv.awsEnv(t, rootKeyID, rootSecret)

	out, errOut, code := runAWS(t, srv, env, "proton", "create-environment-template", "--name", "cli-env",
		"--display-name", "From the CLI", "--tags", "key=team,value=platform", "key=tier,value=gold")
	if code != 0 {
		t.Fatalf("create-environment-template: exit %d: %s", code, errOut)
	}
	var created struct {
		EnvironmentTemplate struct {
			Arn       string
			Name      string
			CreatedAt float64 // aws CLI v1 prints timestamps as epoch seconds
		} `json:"environmentTemplate"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if created.EnvironmentTemplate.Name != "cli-env" || created.EnvironmentTemplate.CreatedAt < 1.7e9 {
		t.Errorf("created = %+v", created)
	}

	out, errOut, code = runAWS(t, srv, env, "proton", "list-tags-for-resource", "--resource-arn", created.EnvironmentTemplate.Arn,
		"--query", "tags[?key=='tier'].value", "--output", "text")
	if code != 0 || strings.TrimSpace(out) != "gold" {
		t.Errorf("list-tags-for-resource: exit %d, out %q, err %s", code, out, errOut)
	}

	out, errOut, code = runAWS(t, srv, env, "proton", "update-account-settings", "--pipeline-service-role-arn", "arn:aws:iam::000000000000:role/p")
	if code != 0 || !strings.Contains(out, "arn:aws:iam::000000000000:role/p") {
		t.Errorf("update-account-settings: exit %d, out %q, err %s", code, out, errOut)
	}
	out, _, code = runAWS(t, srv, env, "proton", "get-account-settings", "--output", "text", "--query", "accountSettings.pipelineServiceRoleArn")
	if code != 0 || strings.TrimSpace(out) != "arn:aws:iam::000000000000:role/p" {
		t.Errorf("get-account-settings: exit %d, out %q", code, out)
	}

	// aws CLI v1 exits 255 on a service error.
	_, errOut, code = runAWS(t, srv, env, "proton", "get-environment-template", "--name", "nope")
	if code != 255 || !strings.Contains(errOut, "An error occurred (ResourceNotFoundException) when calling the GetEnvironmentTemplate operation") {
		t.Errorf("missing template: exit %d, stderr %q", code, errOut)
	}

	// A wrong secret is refused as AWS refuses it.
	bad := srv.awsEnv(t, rootKeyID, "wrong-secret")
	_, errOut, code = runAWS(t, srv, bad, "proton", "list-environment-templates")
	if code == 0 || !strings.Contains(errOut, "InvalidSignatureException") {
		t.Errorf("wrong secret: exit %d, stderr %q", code, errOut)
	}
}

func TestAWSCLIUploadsBundlesToEmbeddedS3(t *testing.T) {
	needTool(t, "aws", "--version")
	srv := startServer(t, "")
	env := srv.awsEnv(t, rootKeyID, rootSecret)
	file := filepath.Join(t.TempDir(), "bundle.tar.gz")
	// 12 MiB makes the CLI use a multipart upload (its threshold is 8 MiB) with
	// Expect: 100-continue, as it would for a large bundle.
	content := bytes.Repeat([]byte("openproton bundle bytes\n"), 12<<20/24)
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runAWS(t, srv, env, "s3", "mb", "s3://templates"); code != 0 {
		t.Fatalf("s3 mb: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runAWS(t, srv, env, "s3", "cp", file, "s3://templates/env/bundle.tar.gz"); code != 0 {
		t.Fatalf("s3 cp: exit %d: %s", code, errOut)
	}
	got, err := srv.Buckets().Get(t.Context(), "templates", "env/bundle.tar.gz", 20<<20)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("object read back by the server: %d bytes, err %v; want %d bytes", len(got), err, len(content))
	}
	small := filepath.Join(t.TempDir(), "small.tar.gz")
	if err := os.WriteFile(small, []byte("small bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runAWS(t, srv, env, "s3", "cp", small, "s3://templates/small.tar.gz"); code != 0 {
		t.Fatalf("s3 cp small: exit %d: %s", code, errOut)
	}
	if out, errOut, code := runAWS(t, srv, env, "s3", "cp", "s3://templates/small.tar.gz", "-"); code != 0 || out != "small bundle" {
		t.Errorf("s3 cp to stdout: exit %d, %q, %s", code, out, errOut)
	}
	if out, _, code := runAWS(t, srv, env, "s3", "ls", "s3://templates/env/"); code != 0 || !strings.Contains(out, "bundle.tar.gz") {
		t.Errorf("s3 ls: exit %d, %q", code, out)
	}
	// Unauthenticated S3 requests are refused.
	bad := srv.awsEnv(t, rootKeyID, "wrong-secret")
	if _, _, code := runAWS(t, srv, bad, "s3", "ls", "s3://templates"); code == 0 {
		t.Errorf("s3 ls with a wrong secret succeeded")
	}
}

func TestBoto3(t *testing.T) {
	needTool(t, "python3", "-c", "import boto3")
	srv := startServer(t, "")
	script := `
import boto3, botocore, sys, json
c = boto3.client("proton", endpoint_url=sys.argv[1])
t = c.create_service_template(name="py-svc", displayName="Python", tags=[{"key": "lang", "value": "py"}])["serviceTemplate"]
tags = c.list_tags_for_resource(resourceArn=t["arn"])["tags"]
settings = c.get_account_settings()["accountSettings"]
try:
    c.get_service_template(name="missing")
    err = None
except c.exceptions.ResourceNotFoundException as e:
    err = e.response["Error"]["Code"]
summary = c.get_resources_summary()["counts"]["serviceTemplates"]["total"]
print(json.dumps({"arn": t["arn"], "created": t["createdAt"].isoformat(), "tags": tags, "settings": settings, "err": err, "summary": summary}))
`
	cmd := exec.Command("python3", "-c", script, srv.URL())
	cmd.Env = srv.awsEnv(t, rootKeyID, rootSecret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var got struct {
		Arn, Created, Err string
		Tags              []map[string]string
		Summary           int
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	if got.Arn != "arn:aws:proton:us-east-1:000000000000:service-template/py-svc" || got.Err != "ResourceNotFoundException" ||
		len(got.Tags) != 1 || got.Tags[0]["value"] != "py" || got.Summary != 1 || !strings.HasPrefix(got.Created, "20") {
		t.Errorf("boto3 saw %+v", got)
	}
}
