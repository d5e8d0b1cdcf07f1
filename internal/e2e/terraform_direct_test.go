package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/provision/cloudformation/cfntest"
)

// terraformBin is the terraform (or tofu) binary direct-apply tests run, or "" to skip.
func terraformBin(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"terraform", "tofu"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no terraform or tofu binary")
	return ""
}

const tfDirectSchema = `schema:
  format:
    openapi: "3.0.0"
  environment_input_type: "EnvInput"
  types:
    EnvInput:
      type: object
      required: [team]
      properties:
        team:
          type: string
        probe:
          type: string
          default: ""
`

// tfDirectMain needs no provider download: terraform_data is built in. Its local-exec
// writes the environment terraform runs with to the probe file.
const tfDirectMain = `resource "terraform_data" "net" {
  input = "net-${var.environment.inputs.team}"
  provisioner "local-exec" {
    command = "env > '${var.environment.inputs.probe}'"
  }
}

output "network" {
  value = terraform_data.net.output
}

output "zones" {
  value = 3
}

output "secret" {
  value     = "hidden"
  sensitive = true
}
`

const tfDirectInstance = `resource "terraform_data" "app" {
  input = "${var.environment.outputs.network}:${var.service_instance.inputs.port}"
}

output "endpoint" {
  value = terraform_data.app.output
}
`

// TestTerraformDirectApply: with --terraform-bin, Terraform templates without a
// provisioning repository are applied by the server: outputs and resources come from the
// state, which is kept per resource; terraform sees the resource's role's credentials and
// nothing of the server's.
func TestTerraformDirectApply(t *testing.T) {
	bin := terraformBin(t)
	sts := cfntest.New(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIASERVER")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
	srv := startServerWith(t, func(c *config.Server) { c.TerraformBin = bin })
	c := srv.admin()
	ctx := context.Background()
	publishEnv(t, srv, "tfd", "", []file{{Name: "schema/schema.yaml", Body: tfDirectSchema}, {Name: "infrastructure/manifest.yaml", Body: tfManifest},
		{Name: "infrastructure/main.tf", Body: tfDirectMain}}, "")
	probe := filepath.Join(t.TempDir(), "env.txt")
	if _, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("dev"), TemplateName: aws.String("tfd"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: web\n  probe: " + probe + "\n"), ProtonServiceRoleArn: aws.String(envRole)}); err != nil {
		t.Fatal(err)
	}
	if env, err := waitDeployed(t, c, "dev", 2*time.Minute); err != nil {
		t.Fatalf("%v (%s)", err, aws.ToString(env.DeploymentStatusMessage))
	}
	out := outputs(t, c, "dev", nil)
	if out["network"] != "net-web" || out["zones"] != "3" {
		t.Errorf("outputs %v", out)
	}
	if _, ok := out["secret"]; ok {
		t.Error("a sensitive output became a Proton output")
	}
	res, err := c.ListEnvironmentProvisionedResources(ctx, &proton.ListEnvironmentProvisionedResourcesInput{EnvironmentName: aws.String("dev")})
	if err != nil || len(res.ProvisionedResources) != 1 || aws.ToString(res.ProvisionedResources[0].Name) != "terraform_data.net" ||
		res.ProvisionedResources[0].ProvisioningEngine != types.ProvisionedResourceEngineTerraform {
		t.Errorf("provisioned resources: %v %+v", err, res)
	}
	raw, err := os.ReadFile(probe)
	if err != nil {
		t.Fatal(err)
	}
	envText := string(raw)
	if !strings.Contains(envText, "AWS_ACCESS_KEY_ID="+cfntest.AssumedAccessKeyID) || !strings.Contains(envText, "AWS_SESSION_TOKEN=") ||
		!strings.Contains(envText, "AWS_EC2_METADATA_DISABLED=true") {
		t.Errorf("terraform did not run with the environment role's session:\n%s", envText)
	}
	for _, leak := range []string{"AKIASERVER", "server-secret", rootSecret, "AWS_ENDPOINT_URL_PROTON"} {
		if strings.Contains(envText, leak) {
			t.Errorf("terraform's environment holds %q", leak)
		}
	}
	if n := len(sts.Calls("AssumeRole")); n == 0 {
		t.Error("no AssumeRole call")
	}

	// An update changes the same state: the resource is replaced, the outputs follow.
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  team: ops\n  probe: " + probe + "\n")}); err != nil {
		t.Fatal(err)
	}
	if _, err := waitDeployed(t, c, "dev", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if out := outputs(t, c, "dev", nil); out["network"] != "net-ops" {
		t.Errorf("outputs after the update %v", out)
	}
	states, _ := filepath.Glob(filepath.Join(srv.cfg.DataDir, "terraform", "state", "*", "terraform.tfstate"))
	if len(states) != 1 {
		t.Fatalf("state files %v, want one for the environment", states)
	}

	// A service instance from a Terraform template is applied too, with its namespace.
	svcSchema := "schema:\n  format:\n    openapi: \"3.0.0\"\n  service_input_type: \"SvcInput\"\n  types:\n    SvcInput:\n      type: object\n      properties:\n        port:\n          type: integer\n          default: 8080\n"
	publishSvc(t, srv, "tfapp", []file{{Name: "schema/schema.yaml", Body: svcSchema}, {Name: "instance_infrastructure/manifest.yaml", Body: tfManifest},
		{Name: "instance_infrastructure/main.tf", Body: tfDirectInstance}}, false, "tfd:1")
	if _, err := c.CreateService(ctx, &proton.CreateServiceInput{Name: aws.String("shop"), TemplateName: aws.String("tfapp"), TemplateMajorVersion: aws.String("1"),
		Spec: svcSpec("", "front=dev:{port: 81}")}); err != nil {
		t.Fatal(err)
	}
	waitServiceActive(t, c, "shop")
	if out := instanceOutputs(t, c, "shop", "front"); out["endpoint"] != "net-ops:81" {
		t.Errorf("instance outputs %v", out)
	}
	if _, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := c.GetService(ctx, &proton.GetServiceInput{Name: aws.String("shop")}); apiCode(err) == "ResourceNotFoundException" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("service not deleted")
		}
	}

	// Deleting the environment destroys what its state holds.
	if _, err := c.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := c.GetEnvironment(ctx, &proton.GetEnvironmentInput{Name: aws.String("dev")}); apiCode(err) == "ResourceNotFoundException" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("environment not deleted")
		}
	}
	state, err := os.ReadFile(states[0])
	if err != nil || strings.Contains(string(state), "terraform_data") {
		t.Errorf("state after deletion still holds resources (%v):\n%s", err, state)
	}
}
