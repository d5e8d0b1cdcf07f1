package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/provision/local"
)

// envSchema has a defaulted integer, a defaulted string and a required string, so specs can
// omit, override and forget inputs.
const envSchema = `schema:
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
          minLength: 2
        size:
          type: integer
          default: 3
          minimum: 1
        mode:
          type: string
          default: ok
          enum: [ok, fail, slow]
`

// codebuildManifest runs a provision script that exercises what a deployment's commands may
// do: read proton-inputs.json, report outputs through the API with their own credential and
// through proton-outputs.json, fail or take long on request.
const codebuildManifest = `infrastructure:
  templates:
    - rendering_engine: codebuild
      settings:
        image: aws/codebuild/amazonlinux2-x86_64-standard:4.0
        runtimes:
          nodejs: 16
        env:
          variables:
            FROM_MANIFEST: manifest-value
        provision:
          - if grep -q '"mode":"fail"' proton-inputs.json; then echo "provisioning went boom" >&2; exit 3; fi
          - if grep -q '"mode":"slow"' proton-inputs.json; then echo "slow work started"; sleep 60; fi
          - aws proton notify-resource-deployment-status-change --resource-arn "$RESOURCE_ARN" --status IN_PROGRESS --outputs '[{"key":"notified","valueString":"yes"}]'
          - if aws proton notify-resource-deployment-status-change --resource-arn "${RESOURCE_ARN%/*}/someone-else" --outputs '[{"key":"x","valueString":"y"}]' 2>other.err; then OTHER=allowed; else OTHER=denied; fi
          - if aws proton list-environments >/dev/null 2>list.err; then LIST=allowed; else LIST=denied; fi
          - printf '[{"key":"inputs","valueString":"%s"},{"key":"env","valueString":"%s"},{"key":"other_env","valueString":"%s"},{"key":"list","valueString":"%s"},{"key":"manifest_var","valueString":"%s"}]' "$(base64 -w0 proton-inputs.json)" "$(env | base64 -w0)" "$OTHER" "$LIST" "$FROM_MANIFEST" > proton-outputs.json
        deprovision:
          - echo "tearing down $RESOURCE_ARN"
`

func codebuildEnvBundle() []file {
	return []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: codebuildManifest}}
}

// awsBinDir is where the real aws CLI lives (pyenv shims need a HOME the commands do not have).
func awsBinDir(t testing.TB) string {
	t.Helper()
	needTool(t, "aws", "--version")
	if out, err := exec.Command("pyenv", "which", "aws").Output(); err == nil {
		return filepath.Dir(strings.TrimSpace(string(out)))
	}
	p, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(p)
}

// startDeployingServer starts a server whose deployment commands find the aws CLI.
func startDeployingServer(t testing.TB, adjust func(*config.Server)) *testServer {
	t.Helper()
	dir := awsBinDir(t)
	return startServerWith(t, func(c *config.Server) {
		c.DeploymentPath = local.DefaultPath + ":" + dir
		if adjust != nil {
			adjust(c)
		}
	})
}

// publishEnv registers files as a new version of template name (a new minor of major, or
// with major "" a new major) and publishes it.
func publishEnv(t testing.TB, srv *testServer, name, major string, files []file, provisioning types.Provisioning) *types.EnvironmentTemplateVersion {
	t.Helper()
	ctx := context.Background()
	c := srv.admin()
	if _, err := c.GetEnvironmentTemplate(ctx, &proton.GetEnvironmentTemplateInput{Name: &name}); err != nil {
		if _, err := c.CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: &name, Provisioning: provisioning}); err != nil {
			t.Fatalf("create template %s: %v", name, err)
		}
	}
	key := fmt.Sprintf("%s/%d.tar.gz", name, time.Now().UnixNano())
	srv.upload(t, "bundles", key, tarball(t, name, files))
	in := &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, Source: source("bundles", key)}
	if major != "" {
		in.MajorVersion = &major
	}
	out, err := c.CreateEnvironmentTemplateVersion(ctx, in)
	if err != nil {
		t.Fatalf("create version of %s: %v", name, err)
	}
	v := waitEnvVersion(t, c, name, aws.ToString(out.EnvironmentTemplateVersion.MajorVersion), aws.ToString(out.EnvironmentTemplateVersion.MinorVersion))
	if v.Status != types.TemplateVersionStatusDraft {
		t.Fatalf("version %s.%s: %s %s", *v.MajorVersion, *v.MinorVersion, v.Status, aws.ToString(v.StatusMessage))
	}
	pub, err := c.UpdateEnvironmentTemplateVersion(ctx, &proton.UpdateEnvironmentTemplateVersionInput{TemplateName: &name,
		MajorVersion: v.MajorVersion, MinorVersion: v.MinorVersion, Status: types.TemplateVersionStatusPublished})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return pub.EnvironmentTemplateVersion
}

func spec(inputs string) *string {
	return aws.String("proton: EnvironmentSpec\nspec:\n" + inputs)
}

const cbRole = "arn:aws:iam::000000000000:role/codebuild"

// createCB creates an environment from major 1 of the "cb" template with the given spec
// inputs (YAML lines under spec:).
func createCB(c *proton.Client, name, inputs string) (*proton.CreateEnvironmentOutput, error) {
	return c.CreateEnvironment(context.Background(), &proton.CreateEnvironmentInput{Name: aws.String(name), TemplateName: aws.String("cb"),
		TemplateMajorVersion: aws.String("1"), Spec: spec(inputs), CodebuildRoleArn: aws.String(cbRole)})
}

// waitDeployed runs the SDK's EnvironmentDeployed waiter and returns the environment.
func waitDeployed(t testing.TB, c *proton.Client, name string, timeout time.Duration) (*types.Environment, error) {
	t.Helper()
	w := proton.NewEnvironmentDeployedWaiter(c, func(o *proton.EnvironmentDeployedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	})
	out, err := w.WaitForOutput(context.Background(), &proton.GetEnvironmentInput{Name: &name}, timeout)
	if out == nil {
		got, gerr := c.GetEnvironment(context.Background(), &proton.GetEnvironmentInput{Name: &name})
		if gerr != nil {
			return nil, err
		}
		return got.Environment, err
	}
	return out.Environment, err
}

func outputs(t testing.TB, c *proton.Client, env string, deploymentID *string) map[string]string {
	t.Helper()
	out, err := c.ListEnvironmentOutputs(context.Background(), &proton.ListEnvironmentOutputsInput{EnvironmentName: &env, DeploymentId: deploymentID})
	if err != nil {
		t.Fatalf("outputs of %s: %v", env, err)
	}
	m := map[string]string{}
	for _, o := range out.Outputs {
		m[aws.ToString(o.Key)] = aws.ToString(o.ValueString)
	}
	return m
}

func deployments(t testing.TB, c *proton.Client, env string) []types.DeploymentSummary {
	t.Helper()
	var all []types.DeploymentSummary
	p := proton.NewListDeploymentsPaginator(c, &proton.ListDeploymentsInput{EnvironmentName: &env, MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list deployments: %v", err)
		}
		all = append(all, page.Deployments...)
	}
	return all
}

func TestEnvironmentLifecycle(t *testing.T) {
	t.Setenv("OPENPROTON_TEST_SENTINEL", "server-side-secret-value")
	srv := startDeployingServer(t, nil)
	ctx := context.Background()
	c := srv.admin()
	publishEnv(t, srv, "cb", "", codebuildEnvBundle(), "")

	created, err := createCB(c, "dev", "  team: platform\n")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.Environment.DeploymentStatus != types.DeploymentStatusInProgress || aws.ToString(created.Environment.TemplateMinorVersion) != "0" {
		t.Fatalf("create answered %s %s.%s, want IN_PROGRESS on the recommended 1.0", created.Environment.DeploymentStatus,
			aws.ToString(created.Environment.TemplateMajorVersion), aws.ToString(created.Environment.TemplateMinorVersion))
	}
	env, err := waitDeployed(t, c, "dev", 60*time.Second)
	if err != nil {
		t.Fatalf("EnvironmentDeployed waiter: %v (status %s: %s)", err, env.DeploymentStatus, aws.ToString(env.DeploymentStatusMessage))
	}
	first := aws.ToString(env.LastSucceededDeploymentId)
	if first == "" || first != aws.ToString(env.LastAttemptedDeploymentId) {
		t.Errorf("after the first deployment lastSucceeded=%q lastAttempted=%q", first, aws.ToString(env.LastAttemptedDeploymentId))
	}

	out := outputs(t, c, "dev", nil)
	if out["notified"] != "yes" {
		t.Errorf("output reported with notify-resource-deployment-status-change = %q, want yes", out["notified"])
	}
	if out["other_env"] != "denied" || out["list"] != "denied" {
		t.Errorf("the deployment's credential may only notify on its own resource: other env %s, list %s", out["other_env"], out["list"])
	}
	if out["manifest_var"] != "manifest-value" {
		t.Errorf("manifest env variable = %q", out["manifest_var"])
	}
	inputs, _ := base64.StdEncoding.DecodeString(out["inputs"])
	var ns struct {
		Environment struct {
			Name   string         `json:"name"`
			Inputs map[string]any `json:"inputs"`
		} `json:"environment"`
	}
	if err := json.Unmarshal(inputs, &ns); err != nil {
		t.Fatalf("proton-inputs.json %q: %v", inputs, err)
	}
	if ns.Environment.Name != "dev" || ns.Environment.Inputs["team"] != "platform" || ns.Environment.Inputs["size"] != float64(3) || ns.Environment.Inputs["mode"] != "ok" {
		t.Errorf("proton-inputs.json = %s, want the name, the spec's team and the schema's defaults as native JSON", inputs)
	}
	cmdEnv, _ := base64.StdEncoding.DecodeString(out["env"])
	for _, secret := range []string{rootSecret, "server-side-secret-value", srv.cfg.DataDir, "OPENPROTON_"} {
		if strings.Contains(string(cmdEnv), secret) {
			t.Errorf("the command's environment exposes %q:\n%s", secret, cmdEnv)
		}
	}
	for _, want := range []string{"RESOURCE_ARN=arn:aws:proton:us-east-1:000000000000:environment/dev", "AWS_ENDPOINT_URL_PROTON=" + srv.URL()} {
		if !strings.Contains(string(cmdEnv), want) {
			t.Errorf("the command's environment lacks %s", want)
		}
	}

	// CURRENT_VERSION: a new spec on the same version.
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  team: platform\n  size: 5\n")}); err != nil {
		t.Fatalf("update CURRENT_VERSION: %v", err)
	}
	if env, err = waitDeployed(t, c, "dev", 60*time.Second); err != nil {
		t.Fatalf("after CURRENT_VERSION: %v", err)
	}
	inputs, _ = base64.StdEncoding.DecodeString(outputs(t, c, "dev", nil)["inputs"])
	if !strings.Contains(string(inputs), `"size":5`) {
		t.Errorf("inputs after the update = %s, want size 5", inputs)
	}
	if aws.ToString(env.LastSucceededDeploymentId) == first {
		t.Error("lastSucceededDeploymentId did not move")
	}
	// The first deployment's outputs stay readable by its id.
	if old := outputs(t, c, "dev", &first); old["inputs"] == "" || old["inputs"] == outputs(t, c, "dev", nil)["inputs"] {
		t.Error("outputs of the first deployment should be its own")
	}

	// MINOR_VERSION to the recommended minor, keeping an input with CURRENT_VAL.
	publishEnv(t, srv, "cb", "1", codebuildEnvBundle(), "")
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeMinorVersion,
		Spec: spec("  team: platform\n  size: \"${Proton::CURRENT_VAL}\"\n")}); err != nil {
		t.Fatalf("update MINOR_VERSION: %v", err)
	}
	if env, err = waitDeployed(t, c, "dev", 60*time.Second); err != nil {
		t.Fatalf("after MINOR_VERSION: %v", err)
	}
	if aws.ToString(env.TemplateMinorVersion) != "1" {
		t.Errorf("minor after MINOR_VERSION = %s, want 1", aws.ToString(env.TemplateMinorVersion))
	}
	inputs, _ = base64.StdEncoding.DecodeString(outputs(t, c, "dev", nil)["inputs"])
	if !strings.Contains(string(inputs), `"size":5`) {
		t.Errorf("${Proton::CURRENT_VAL} should keep size 5: %s", inputs)
	}

	// MAJOR_VERSION must go up; by default to the recommended version.
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeMajorVersion}); apiCode(err) != "ValidationException" {
		t.Fatalf("MAJOR_VERSION without a higher major: %v, want ValidationException", err)
	}
	cTmpl := "cb"
	key := fmt.Sprintf("cb/%d.tar.gz", time.Now().UnixNano())
	srv.upload(t, "bundles", key, tarball(t, "cb", codebuildEnvBundle()))
	v2, err := c.CreateEnvironmentTemplateVersion(ctx, &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &cTmpl, Source: source("bundles", key), MajorVersion: nil})
	if err != nil {
		t.Fatal(err)
	}
	waitEnvVersion(t, c, "cb", "2", "0")
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeMajorVersion,
		TemplateMajorVersion: v2.EnvironmentTemplateVersion.MajorVersion}); apiCode(err) != "ValidationException" {
		t.Fatalf("MAJOR_VERSION to an unpublished version: %v, want ValidationException", err)
	}
	if _, err := c.UpdateEnvironmentTemplateVersion(ctx, &proton.UpdateEnvironmentTemplateVersionInput{TemplateName: &cTmpl, MajorVersion: aws.String("2"),
		MinorVersion: aws.String("0"), Status: types.TemplateVersionStatusPublished}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeMajorVersion}); err != nil {
		t.Fatalf("update MAJOR_VERSION: %v", err)
	}
	if env, err = waitDeployed(t, c, "dev", 60*time.Second); err != nil {
		t.Fatalf("after MAJOR_VERSION: %v", err)
	}
	if aws.ToString(env.TemplateMajorVersion) != "2" || aws.ToString(env.TemplateMinorVersion) != "0" {
		t.Errorf("version after MAJOR_VERSION = %s.%s, want 2.0", aws.ToString(env.TemplateMajorVersion), aws.ToString(env.TemplateMinorVersion))
	}
	// A version in use cannot be deleted.
	if _, err := c.DeleteEnvironmentTemplateVersion(ctx, &proton.DeleteEnvironmentTemplateVersionInput{TemplateName: &cTmpl,
		MajorVersion: aws.String("2"), MinorVersion: aws.String("0")}); apiCode(err) != "ConflictException" {
		t.Fatalf("deleting the version in use: %v, want ConflictException", err)
	}

	// NONE: metadata only, no deployment.
	before := len(deployments(t, c, "dev"))
	upd, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeNone,
		Description: aws.String("the dev environment")})
	if err != nil || upd.Environment.DeploymentStatus != types.DeploymentStatusSucceeded || aws.ToString(upd.Environment.Description) != "the dev environment" {
		t.Fatalf("update NONE: %v %+v", err, upd)
	}
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeNone,
		Spec: spec("  team: other\n")}); apiCode(err) != "ValidationException" {
		t.Fatalf("NONE with a spec: %v, want ValidationException", err)
	}

	// History: newest first, every deployment with its target state.
	history := deployments(t, c, "dev")
	if len(history) != 4 || before != 4 {
		t.Fatalf("deployments = %d (before NONE %d), want 4", len(history), before)
	}
	if aws.ToString(history[3].Id) != first || history[0].DeploymentStatus != types.DeploymentStatusSucceeded {
		t.Errorf("history order/status wrong: %+v", history)
	}
	got, err := c.GetDeployment(ctx, &proton.GetDeploymentInput{Id: history[0].Id, EnvironmentName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Deployment.TargetState == nil || got.Deployment.InitialState == nil || got.Deployment.CompletedAt == nil {
		t.Errorf("a deployment of an update has initial and target states and a completion time: %+v", got.Deployment)
	}

	// Delete: asynchronous, a retry returns the environment being deleted, then it is gone.
	del, err := c.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("dev")})
	if err != nil || del.Environment == nil || del.Environment.DeploymentStatus != types.DeploymentStatusDeleteInProgress {
		t.Fatalf("delete: %v %+v", err, del)
	}
	if again, err := c.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("dev")}); err != nil ||
		(again.Environment != nil && again.Environment.DeploymentStatus != types.DeploymentStatusDeleteInProgress) {
		t.Fatalf("delete retry: %v %+v", err, again)
	}
	waitGone(t, c, "dev")
	if again, err := c.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("dev")}); err != nil || again.Environment != nil {
		t.Fatalf("delete after completion: %v %+v, want an empty success", err, again)
	}
	history = deployments(t, c, "dev")
	if len(history) != 5 || history[0].DeploymentStatus != types.DeploymentStatusDeleteComplete {
		t.Errorf("after delete the history holds the deletion as DELETE_COMPLETE: %+v", history)
	}
	log, err := c.GetDeployment(ctx, &proton.GetDeploymentInput{Id: history[0].Id})
	if err != nil || log.Deployment.TargetArn == nil {
		t.Fatalf("get deletion deployment: %v", err)
	}
	// Now nothing uses 2.0.
	if _, err := c.DeleteEnvironmentTemplateVersion(ctx, &proton.DeleteEnvironmentTemplateVersionInput{TemplateName: &cTmpl,
		MajorVersion: aws.String("1"), MinorVersion: aws.String("0")}); err != nil {
		t.Fatalf("deleting a version no longer in use: %v", err)
	}
}

// waitGone polls until the environment no longer exists.
func waitGone(t testing.TB, c *proton.Client, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.GetEnvironment(context.Background(), &proton.GetEnvironmentInput{Name: &name})
		if apiCode(err) == "ResourceNotFoundException" {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if out.Environment.DeploymentStatus == types.DeploymentStatusDeleteFailed {
			t.Fatalf("delete failed: %s", aws.ToString(out.Environment.DeploymentStatusMessage))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("environment %s still exists", name)
}

// waitStatus polls until the environment reaches one of the statuses.
func waitStatus(t testing.TB, c *proton.Client, name string, timeout time.Duration, want ...types.DeploymentStatus) *types.Environment {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := c.GetEnvironment(context.Background(), &proton.GetEnvironmentInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if out.Environment.DeploymentStatus == w {
				return out.Environment
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("environment %s is %s after %s, want %v", name, out.Environment.DeploymentStatus, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEnvironmentFailureAndCancel(t *testing.T) {
	srv := startDeployingServer(t, nil)
	ctx := context.Background()
	c := srv.admin()
	publishEnv(t, srv, "cb", "", codebuildEnvBundle(), "")

	// A failing command fails the deployment with the output's tail in the message.
	if _, err := createCB(c, "broken", "  team: platform\n  mode: fail\n"); err != nil {
		t.Fatal(err)
	}
	env, err := waitDeployed(t, c, "broken", 60*time.Second)
	if err == nil || env.DeploymentStatus != types.DeploymentStatusFailed {
		t.Fatalf("waiter on a failing deployment: err %v, status %s", err, env.DeploymentStatus)
	}
	msg := aws.ToString(env.DeploymentStatusMessage)
	if !strings.Contains(msg, "provisioning went boom") || !strings.Contains(msg, "exit 3") {
		t.Errorf("failure message = %q, want the exit code and the output tail", msg)
	}

	// Cancel a slow update: CANCELLING, then CANCELLED within seconds, and the environment
	// is back at its last successful spec and outputs.
	if _, err := createCB(c, "dev", "  team: platform\n"); err != nil {
		t.Fatal(err)
	}
	if env, err = waitDeployed(t, c, "dev", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	okSpec := aws.ToString(env.Spec)
	okOutputs := outputs(t, c, "dev", nil)
	if _, err := c.CancelEnvironmentDeployment(ctx, &proton.CancelEnvironmentDeploymentInput{EnvironmentName: aws.String("dev")}); apiCode(err) != "ConflictException" {
		t.Fatalf("cancel with nothing in progress: %v, want ConflictException", err)
	}
	upd, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  team: platform\n  mode: slow\n")})
	if err != nil {
		t.Fatal(err)
	}
	slowID := upd.Environment.LastAttemptedDeploymentId
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  team: other\n")}); apiCode(err) != "ConflictException" {
		t.Fatalf("update during a deployment: %v, want ConflictException", err)
	}
	if _, err := c.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("dev")}); apiCode(err) != "ConflictException" {
		t.Fatalf("delete during a deployment: %v, want ConflictException", err)
	}
	// DeleteDeployment models no ConflictException.
	if _, err := c.DeleteDeployment(ctx, &proton.DeleteDeploymentInput{Id: slowID}); apiCode(err) != "ValidationException" {
		t.Fatalf("deleting a running deployment: %v, want ValidationException", err)
	}
	// The running deployment's output so far is readable (saved every 2 s).
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := deploymentLog(t, srv, aws.ToString(slowID))
		if err == nil && strings.Contains(out, "slow work started") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log of the running deployment: %v %q", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancelled, err := c.CancelEnvironmentDeployment(ctx, &proton.CancelEnvironmentDeploymentInput{EnvironmentName: aws.String("dev")})
	if err != nil || cancelled.Environment.DeploymentStatus != types.DeploymentStatusCancelling {
		t.Fatalf("cancel: %v %+v", err, cancelled)
	}
	start := time.Now()
	env = waitStatus(t, c, "dev", 15*time.Second, types.DeploymentStatusCancelled)
	t.Logf("cancelled %s after the request", time.Since(start).Round(time.Millisecond))
	if aws.ToString(env.Spec) != okSpec {
		t.Errorf("spec after a cancelled update = %q, want the last successful %q", aws.ToString(env.Spec), okSpec)
	}
	if got := outputs(t, c, "dev", nil); got["inputs"] != okOutputs["inputs"] {
		t.Error("outputs changed by a cancelled update")
	}
	d, err := c.GetDeployment(ctx, &proton.GetDeploymentInput{Id: slowID})
	if err != nil || d.Deployment.DeploymentStatus != types.DeploymentStatusCancelled {
		t.Fatalf("cancelled deployment: %v %+v", err, d)
	}
	// A finished deployment can be deleted from the history.
	if _, err := c.DeleteDeployment(ctx, &proton.DeleteDeploymentInput{Id: slowID}); err != nil {
		t.Fatalf("delete finished deployment: %v", err)
	}
	if _, err := c.GetDeployment(ctx, &proton.GetDeploymentInput{Id: slowID}); apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("get deleted deployment: %v", err)
	}

	// After a failed create the environment can be deleted.
	if _, err := c.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("broken")}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "broken")
}

func TestInvalidEnvironmentRequestsChangeNothing(t *testing.T) {
	srv := startDeployingServer(t, nil)
	ctx := context.Background()
	c := srv.admin()
	publishEnv(t, srv, "cb", "", codebuildEnvBundle(), "")
	registerEnv(t, srv, "draft-only", codebuildEnvBundle(), "")

	for _, tc := range []struct {
		name string
		in   proton.CreateEnvironmentInput
		code string
		says string
	}{
		{"missing required input", proton.CreateEnvironmentInput{Spec: spec("  size: 2\n")}, "ValidationException", "team"},
		{"wrong type", proton.CreateEnvironmentInput{Spec: spec("  team: platform\n  size: big\n")}, "ValidationException", "size"},
		{"below minimum", proton.CreateEnvironmentInput{Spec: spec("  team: platform\n  size: 0\n")}, "ValidationException", "size"},
		{"not in enum", proton.CreateEnvironmentInput{Spec: spec("  team: platform\n  mode: sideways\n")}, "ValidationException", "mode"},
		{"bad yaml", proton.CreateEnvironmentInput{Spec: aws.String("proton: EnvironmentSpec\nspec: [unclosed\n")}, "ValidationException", "spec"},
		{"wrong spec kind", proton.CreateEnvironmentInput{Spec: aws.String("proton: ServiceSpec\ninstances: []\n")}, "ValidationException", "EnvironmentSpec"},
		{"no codebuild role", proton.CreateEnvironmentInput{CodebuildRoleArn: aws.String("")}, "ValidationException", "codebuildRoleArn"},
		{"unknown template", proton.CreateEnvironmentInput{TemplateName: aws.String("nope")}, "ResourceNotFoundException", "nope"},
		{"unknown minor", proton.CreateEnvironmentInput{TemplateMinorVersion: aws.String("7")}, "ResourceNotFoundException", "1.7"},
		{"no published version", proton.CreateEnvironmentInput{TemplateName: aws.String("draft-only")}, "ValidationException", "published"},
		{"unknown account connection", proton.CreateEnvironmentInput{EnvironmentAccountConnectionId: aws.String("0b7a6f0e-1d2c-4b5a-9e8f-7a6b5c4d3e2f")}, "ResourceNotFoundException", "0b7a6f0e-1d2c-4b5a-9e8f-7a6b5c4d3e2f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Name = aws.String("dev")
			if in.TemplateName == nil {
				in.TemplateName = aws.String("cb")
			}
			in.TemplateMajorVersion = aws.String("1")
			if in.Spec == nil {
				in.Spec = spec("  team: platform\n")
			}
			if in.CodebuildRoleArn == nil {
				in.CodebuildRoleArn = aws.String(cbRole)
			} else if *in.CodebuildRoleArn == "" {
				in.CodebuildRoleArn = nil
			}
			_, err := c.CreateEnvironment(ctx, &in)
			if apiCode(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %s naming %q", err, tc.code, tc.says)
			}
		})
	}
	list, err := c.ListEnvironments(ctx, &proton.ListEnvironmentsInput{})
	if err != nil || len(list.Environments) != 0 {
		t.Fatalf("environments after refused creates: %v %d", err, len(list.Environments))
	}
	deps, err := c.ListDeployments(ctx, &proton.ListDeploymentsInput{})
	if err != nil || len(deps.Deployments) != 0 {
		t.Fatalf("deployments after refused creates: %v %d", err, len(deps.Deployments))
	}

	// A bad spec on update changes nothing either.
	if _, err := createCB(c, "dev", "  team: platform\n"); err != nil {
		t.Fatal(err)
	}
	env, err := waitDeployed(t, c, "dev", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  team: x\n")})
	if apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), "team") {
		t.Fatalf("update with a too-short team: %v", err)
	}
	after, err := c.GetEnvironment(ctx, &proton.GetEnvironmentInput{Name: aws.String("dev")})
	if err != nil || aws.ToString(after.Environment.Spec) != aws.ToString(env.Spec) ||
		aws.ToString(after.Environment.LastAttemptedDeploymentId) != aws.ToString(env.LastAttemptedDeploymentId) {
		t.Fatalf("a refused update changed the environment: %v %+v", err, after)
	}
}

func TestCustomerManagedEnvironment(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	c := srv.admin()
	publishEnv(t, srv, "byo", "", []file{{Name: "schema/schema.yaml", Body: `schema:
  format:
    openapi: "3.0.0"
  environment_input_type: "Existing"
  types:
    Existing:
      type: object
      required: [vpc_id]
      properties:
        vpc_id:
          type: string
        subnets:
          type: integer
          default: 2
`}}, types.ProvisioningCustomerManaged)
	if _, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("existing"), TemplateName: aws.String("byo"),
		TemplateMajorVersion: aws.String("1"), Spec: spec("  vpc_id: vpc-0abc\n")}); err != nil {
		t.Fatal(err)
	}
	env, err := waitDeployed(t, c, "existing", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if env.Provisioning != types.ProvisioningCustomerManaged {
		t.Errorf("provisioning = %q", env.Provisioning)
	}
	out := outputs(t, c, "existing", nil)
	if out["vpc_id"] != "vpc-0abc" || out["subnets"] != "2" {
		t.Errorf("a CUSTOMER_MANAGED environment's outputs are its spec's inputs: %v", out)
	}
	res, err := c.ListEnvironmentProvisionedResources(ctx, &proton.ListEnvironmentProvisionedResourcesInput{EnvironmentName: aws.String("existing")})
	if err != nil || len(res.ProvisionedResources) != 0 {
		t.Errorf("provisioned resources: %v %+v", err, res)
	}
}

func TestEnvironmentListFiltersAndNotify(t *testing.T) {
	srv := startServerWith(t, func(c *config.Server) { c.Provisioner = "noop" })
	ctx := context.Background()
	c := srv.admin()
	publishEnv(t, srv, "a", "", codebuildEnvBundle(), "")
	publishEnv(t, srv, "b", "", codebuildEnvBundle(), "")
	for i := range 5 {
		tmpl := "a"
		if i%2 == 1 {
			tmpl = "b"
		}
		if _, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String(fmt.Sprintf("env%d", i)), TemplateName: &tmpl,
			TemplateMajorVersion: aws.String("1"), Spec: spec("  team: platform\n"), CodebuildRoleArn: aws.String(cbRole)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	p := proton.NewListEnvironmentsPaginator(c, &proton.ListEnvironmentsInput{MaxResults: aws.Int32(1),
		EnvironmentTemplates: []types.EnvironmentTemplateFilter{{TemplateName: aws.String("b"), MajorVersion: aws.String("1")}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Environments {
			names = append(names, aws.ToString(e.Name))
		}
	}
	if strings.Join(names, ",") != "env1,env3" {
		t.Errorf("environments of template b = %v", names)
	}
	for i := range 5 {
		if _, err := waitDeployed(t, c, fmt.Sprintf("env%d", i), 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	// Notifications need a deployment in progress.
	_, err := c.NotifyResourceDeploymentStatusChange(ctx, &proton.NotifyResourceDeploymentStatusChangeInput{
		ResourceArn: aws.String("arn:aws:proton:us-east-1:000000000000:environment/env0"), Status: types.ResourceDeploymentStatusSucceeded})
	if apiCode(err) != "ConflictException" {
		t.Fatalf("notify without a deployment in progress: %v", err)
	}
	// Still a conflict once the environment's last deployment was deleted from the history.
	env0, err := c.GetEnvironment(ctx, &proton.GetEnvironmentInput{Name: aws.String("env0")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteDeployment(ctx, &proton.DeleteDeploymentInput{Id: env0.Environment.LastAttemptedDeploymentId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.NotifyResourceDeploymentStatusChange(ctx, &proton.NotifyResourceDeploymentStatusChangeInput{
		ResourceArn: aws.String("arn:aws:proton:us-east-1:000000000000:environment/env0")})
	if apiCode(err) != "ConflictException" {
		t.Fatalf("notify after the deployment was deleted: %v", err)
	}
	_, err = c.NotifyResourceDeploymentStatusChange(ctx, &proton.NotifyResourceDeploymentStatusChangeInput{
		ResourceArn: aws.String("arn:aws:proton:us-east-1:000000000000:environment/missing")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("notify on a missing environment: %v", err)
	}
	many := make([]types.Output, 51)
	for i := range many {
		many[i] = types.Output{Key: aws.String(fmt.Sprintf("k%d", i)), ValueString: aws.String("v")}
	}
	_, err = c.NotifyResourceDeploymentStatusChange(ctx, &proton.NotifyResourceDeploymentStatusChangeInput{
		ResourceArn: aws.String("arn:aws:proton:us-east-1:000000000000:environment/env0"), Outputs: many})
	if apiCode(err) != "ValidationException" {
		t.Fatalf("notify with 51 outputs: %v", err)
	}
	// Environments are taggable by ARN.
	arn := aws.String("arn:aws:proton:us-east-1:000000000000:environment/env0")
	if _, err := c.TagResource(ctx, &proton.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	// The resources summary classifies environments against published versions.
	publishEnv(t, srv, "b", "1", codebuildEnvBundle(), "") // b 1.1: env1, env3 behind a minor
	publishEnv(t, srv, "a", "", codebuildEnvBundle(), "")  // a 2.0: env0, env2, env4 behind a major
	sum, err := c.GetResourcesSummary(ctx, &proton.GetResourcesSummaryInput{})
	if err != nil {
		t.Fatal(err)
	}
	envs := sum.Counts.Environments
	if aws.ToInt32(envs.Total) != 5 || aws.ToInt32(envs.BehindMajor) != 3 || aws.ToInt32(envs.BehindMinor) != 2 || aws.ToInt32(envs.UpToDate) != 0 || aws.ToInt32(envs.Failed) != 0 {
		t.Errorf("environment counts: total %d, behind major %d, behind minor %d, up to date %d, failed %d", aws.ToInt32(envs.Total),
			aws.ToInt32(envs.BehindMajor), aws.ToInt32(envs.BehindMinor), aws.ToInt32(envs.UpToDate), aws.ToInt32(envs.Failed))
	}
	// Developers may read environments but not change them.
	id, secret := srv.newKey(t, accountID, "developer")
	dev := srv.client(id, secret)
	if _, err := dev.GetEnvironment(ctx, &proton.GetEnvironmentInput{Name: aws.String("env0")}); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("env0")}); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("developer delete: %v", err)
	}
}

// A deployment's captured output is readable with `openproton deployment-log` (a signed GET
// of the log endpoint) by any key that may read deployments.
func TestDeploymentLogCommand(t *testing.T) {
	srv := startDeployingServer(t, nil)
	c := srv.admin()
	publishEnv(t, srv, "cb", "", codebuildEnvBundle(), "")
	if _, err := createCB(c, "broken", "  team: platform\n  mode: fail\n"); err != nil {
		t.Fatal(err)
	}
	env, _ := waitDeployed(t, c, "broken", 60*time.Second)
	id := aws.ToString(env.LastAttemptedDeploymentId)
	readerID, readerSecret := srv.newKey(t, accountID, "readonly")

	run := func(id string) (string, error) { return deploymentLogAs(t, srv, readerID, readerSecret, id) }
	out, err := run(id)
	if err != nil || !strings.Contains(out, "provisioning went boom") {
		t.Fatalf("deployment-log %s: %v\n%s", id, err, out)
	}
	out, err = run("0b7a6f0e-1d2c-4b5a-9e8f-7a6b5c4d3e2f")
	if err == nil || !strings.Contains(out, "ResourceNotFoundException") {
		t.Fatalf("log of an unknown deployment: %v\n%s", err, out)
	}
}

// The aws CLI creates, waits for and reads an environment; boto3's waiter and paginator
// read its deployments.
func TestEnvironmentWithAWSCLIAndBoto3(t *testing.T) {
	needTool(t, "python3", "-c", "import boto3")
	srv := startDeployingServer(t, nil)
	publishEnv(t, srv, "cb", "", codebuildEnvBundle(), "")
	env := srv.awsEnv(t, rootKeyID, rootSecret)
	specFile := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(specFile, []byte("proton: EnvironmentSpec\nspec:\n  team: cli-team\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runAWS(t, srv, env, "proton", "create-environment", "--name", "from-cli", "--template-name", "cb",
		"--template-major-version", "1", "--spec", "file://"+specFile, "--codebuild-role-arn", cbRole)
	if code != 0 || !strings.Contains(out, `"IN_PROGRESS"`) {
		t.Fatalf("create-environment: %d %s %s", code, out, stderr)
	}
	if _, stderr, code = runAWS(t, srv, env, "proton", "wait", "environment-deployed", "--name", "from-cli"); code != 0 {
		t.Fatalf("wait environment-deployed: %d %s", code, stderr)
	}
	out, stderr, code = runAWS(t, srv, env, "proton", "list-environment-outputs", "--environment-name", "from-cli")
	if code != 0 || !strings.Contains(out, `"notified"`) {
		t.Fatalf("list-environment-outputs: %d %s %s", code, out, stderr)
	}

	script := `
import boto3, sys, json
c = boto3.client("proton", endpoint_url=sys.argv[1])
c.update_environment(name="from-cli", deploymentType="CURRENT_VERSION", spec="proton: EnvironmentSpec\nspec:\n  team: py-team\n")
c.get_waiter("environment_deployed").wait(name="from-cli", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
deps = [d for page in c.get_paginator("list_deployments").paginate(environmentName="from-cli", PaginationConfig={"PageSize": 1}) for d in page["deployments"]]
e = c.get_environment(name="from-cli")["environment"]
print(json.dumps({"statuses": [d["deploymentStatus"] for d in deps], "spec": e["spec"], "status": e["deploymentStatus"]}))
`
	cmd := exec.Command("python3", "-c", script, srv.URL())
	cmd.Env = env
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, raw)
	}
	var got struct {
		Statuses     []string
		Spec, Status string
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", raw, err)
	}
	if len(got.Statuses) != 2 || got.Status != "SUCCEEDED" || !strings.Contains(got.Spec, "py-team") {
		t.Errorf("boto3 saw %+v", got)
	}
}

// Twenty identical CreateEnvironment calls at once make one environment and one deployment;
// all of them answer with it. A different request for the same name is refused.
func TestConcurrentIdenticalEnvironmentCreates(t *testing.T) {
	srv := startServerWith(t, func(c *config.Server) { c.Provisioner = "noop" })
	ctx := context.Background()
	c := srv.admin()
	publishEnv(t, srv, "cb", "", codebuildEnvBundle(), "")
	in := &proton.CreateEnvironmentInput{Name: aws.String("once"), TemplateName: aws.String("cb"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: platform\n"), CodebuildRoleArn: aws.String(cbRole), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}
	var wg sync.WaitGroup
	ids := make([]string, 20)
	errs := make([]error, 20)
	for i := range 20 {
		wg.Go(func() {
			out, err := c.CreateEnvironment(ctx, in)
			errs[i] = err
			if err == nil {
				ids[i] = aws.ToString(out.Environment.LastAttemptedDeploymentId)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if ids[i] != ids[0] {
			t.Fatalf("call %d answered deployment %s, call 0 %s", i, ids[i], ids[0])
		}
	}
	if d := deployments(t, c, "once"); len(d) != 1 {
		t.Fatalf("%d deployments for 20 identical creates", len(d))
	}
	other := *in
	other.Spec = spec("  team: someone-else\n")
	if _, err := c.CreateEnvironment(ctx, &other); apiCode(err) != "ValidationException" {
		t.Fatalf("a different create for a taken name: %v, want ValidationException", err)
	}
}

// deploymentLog runs `openproton deployment-log ID` with the admin key.
func deploymentLog(t *testing.T, srv *testServer, id string) (string, error) {
	return deploymentLogAs(t, srv, rootKeyID, rootSecret, id)
}

func deploymentLogAs(t *testing.T, srv *testServer, keyID, secret, id string) (string, error) {
	cmd := exec.Command(openprotonBinary(t), "deployment-log", "--endpoint-url", srv.URL(), id)
	cmd.Env = srv.awsEnv(t, keyID, secret)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
