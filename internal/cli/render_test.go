package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sample returns a folder of ../shared/samples, skipping the test without it.
func sample(t *testing.T, rel string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "samples", rel)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("sample bundles not available: %v", err)
	}
	return dir
}

func runCLI(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := Main(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestRenderEnvironmentSample(t *testing.T) {
	dir := sample(t, "cloudformation/environment-templates/vpc-env")
	out, errOut, code := runCLI("render", "--bundle", filepath.Join(dir, "v1"), "--spec", filepath.Join(dir, "spec", "spec.yaml"))
	if code != 0 {
		t.Fatalf("render: %d %s", code, errOut)
	}
	if strings.Contains(out, "{{") || !strings.Contains(out, "CIDR: '10.0.192.0/18'") {
		t.Errorf("rendered template:\n%s", out)
	}

	// An input the schema refuses fails, naming it; nothing is printed.
	bad := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(bad, []byte("proton: EnvironmentSpec\nspec:\n  vpc_cidr: [1, 2]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runCLI("render", "--bundle", filepath.Join(dir, "v1"), "--spec", bad)
	if code == 0 || out != "" || !strings.Contains(errOut, "vpc_cidr") {
		t.Errorf("a bad input: exit %d, out %q, err %q", code, out, errOut)
	}
}

func TestRenderServiceSample(t *testing.T) {
	dir := sample(t, "cloudformation/service-templates/apigw-lambda-svc")
	args := []string{"render", "--bundle", filepath.Join(dir, "v1"), "--spec", filepath.Join(dir, "spec", "spec.yaml"), "--name", "shop"}

	// The instance template reads an environment output: without it the render fails,
	// naming it, as a deployment would.
	_, errOut, code := runCLI(args...)
	if code == 0 || !strings.Contains(errOut, "environment.outputs.SNSTopicArn") || !strings.Contains(errOut, "undefined") {
		t.Errorf("without the environment output: exit %d, %q", code, errOut)
	}
	args = append(args, "--environment-output", "SNSTopicArn=arn:aws:sns:us-east-1:000000000000:topic", "--environment-output", "SNSTopicName=topic",
		"--environment-output", "VPCSecurityGroup=sg-1", "--environment-output", "PrivateSubnet1=subnet-1", "--environment-output", "PrivateSubnet2=subnet-2",
		"--environment-output", "PublicSubnet1=subnet-3", "--environment-output", "PublicSubnet2=subnet-4")
	out, errOut, code := runCLI(args...)
	if code != 0 || !strings.Contains(out, "arn:aws:sns:us-east-1:000000000000:topic") || strings.Contains(out, "{{") {
		t.Errorf("instance: exit %d %s\n%s", code, errOut, out)
	}

	outDir := t.TempDir()
	out, errOut, code = runCLI(append(args, "--type", "pipeline", "--out", outDir, "--instance-output", "LambdaRuntime=python3.8")...)
	if code != 0 {
		t.Fatalf("pipeline: %d %s", code, errOut)
	}
	written, err := os.ReadFile(filepath.Join(outDir, "pipeline_infrastructure", "cloudformation.yaml"))
	if err != nil || !strings.Contains(out, "pipeline_infrastructure") || bytes.Contains(written, []byte("{{")) || !bytes.Contains(written, []byte("shop")) {
		t.Errorf("pipeline written to %s: %v (%q)", outDir, err, out)
	}
}

func TestRenderTerraformGivesInputs(t *testing.T) {
	dir := sample(t, "terraform/environment-templates/vpc-env")
	out, errOut, code := runCLI("render", "--bundle", filepath.Join(dir, "v1"), "--spec", filepath.Join(dir, "spec", "spec.yaml"), "--name", "tf-env")
	if code != 0 || !strings.Contains(out, `"name": "tf-env"`) || !strings.Contains(out, `"vpc_cidr": "10.0.0.0/16"`) {
		t.Errorf("terraform: exit %d %s\n%s", code, errOut, out)
	}
}
