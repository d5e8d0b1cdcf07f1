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
)

const tfManifest = `infrastructure:
  templates:
    - file: "*"
      rendering_engine: hcl
      template_language: terraform
`

const tfMain = `resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
  tags = { team = var.environment.inputs.team }
}
`

// git runs the git CLI in dir.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// linkRepo links a repository with CreateRepository, as self-managed provisioning needs.
func linkRepo(t *testing.T, c *proton.Client, provider types.RepositoryProvider, name string) *types.Repository {
	t.Helper()
	out, err := c.CreateRepository(context.Background(), &proton.CreateRepositoryInput{Provider: provider, Name: aws.String(name),
		ConnectionArn: aws.String(testConnection)})
	if err != nil {
		t.Fatalf("link %s %s: %v", provider, name, err)
	}
	return out.Repository
}

// branchGone waits for a branch to leave a bare repository.
func branchGone(t *testing.T, bare, branch string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if out, _ := exec.Command("git", "-C", bare, "branch", "--list", branch).Output(); strings.TrimSpace(string(out)) == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("branch %s is still there", branch)
		}
	}
}

// bareRepo makes a bare repository at base/name with one commit on main.
func bareRepo(t *testing.T, base, name string) string {
	t.Helper()
	return bareRepoAt(t, base, name)
}

// bareRepoAt is bareRepo for tests, benchmarks and fuzz targets.
func bareRepoAt(t testing.TB, base, name string) string {
	t.Helper()
	needTool(t, "git", "--version")
	bare := filepath.Join(base, filepath.FromSlash(name))
	if err := os.MkdirAll(bare, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, bare, "init", "-q", "--bare", "-b", "main")
	work := t.TempDir()
	git(t, work, "clone", "-q", bare, ".")
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("infra\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, work, "add", ".")
	git(t, work, "commit", "-q", "-m", "init")
	git(t, work, "push", "-q", "origin", "HEAD:main")
	return bare
}

// TestSelfManagedTerraformEnvironment: an environment with a provisioningRepository gets a
// branch per deployment in a real (bare) git repository, stays IN_PROGRESS until notified,
// and is cancelled and deleted as on Proton.
func TestSelfManagedTerraformEnvironment(t *testing.T) {
	base := t.TempDir()
	bare := bareRepo(t, base, "org/infra")
	srv := startServerWith(t, func(c *config.Server) { c.RepositoryURLs = "GITHUB=" + base })
	c := srv.admin()
	ctx := context.Background()
	publishEnv(t, srv, "tf", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: tfManifest},
		{Name: "infrastructure/main.tf", Body: tfMain}}, "")
	create := func(provider types.RepositoryProvider, name string) (*proton.CreateEnvironmentOutput, error) {
		return c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String(name), TemplateName: aws.String("tf"), TemplateMajorVersion: aws.String("1"),
			Spec: spec("  team: web\n"), ProvisioningRepository: &types.RepositoryBranchInput{Provider: provider, Name: aws.String("org/infra"), Branch: aws.String("main")}})
	}
	if _, err := c.CreateRepository(ctx, &proton.CreateRepositoryInput{Provider: types.RepositoryProviderGithubEnterprise, Name: aws.String("org/infra"),
		ConnectionArn: aws.String(testConnection)}); apiCode(err) != "ValidationException" {
		t.Errorf("linking a repository of a provider without a base URL: %v", err)
	}
	if _, err := create(types.RepositoryProviderGithub, "unlinked"); apiCode(err) != "ValidationException" {
		t.Errorf("a repository that is not linked: %v", err)
	}
	linkRepo(t, c, types.RepositoryProviderGithub, "org/infra")
	if _, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("direct"), TemplateName: aws.String("tf"),
		TemplateMajorVersion: aws.String("1"), Spec: spec("  team: web\n")}); apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), "provisioningRepository") {
		t.Errorf("Terraform without a provisioning repository on a server that does not apply it: %v", err)
	}
	created, err := create(types.RepositoryProviderGithub, "prod")
	if err != nil {
		t.Fatal(err)
	}
	deployment := aws.ToString(created.Environment.LastAttemptedDeploymentId)
	branch := "proton--proton-environment-" + deployment
	waitBranch := func(branch string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if out, _ := exec.Command("git", "-C", bare, "branch", "--list", branch).Output(); strings.TrimSpace(string(out)) != "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("branch %s never appeared", branch)
			}
		}
	}
	waitBranch(branch)
	show := func(branch, path string) string { return git(t, bare, "show", branch+":"+path) }
	if tf := show(branch, "prod/main.tf"); !strings.HasPrefix(tf, "/*\nThis file is managed by AWS Proton.") || !strings.Contains(tf, `resource "aws_vpc" "main"`) {
		t.Errorf("prod/main.tf:\n%s", tf)
	}
	if vars := show(branch, "prod/proton.auto.tfvars.json"); !strings.Contains(vars, `"team" : "web"`) {
		t.Errorf("tfvars:\n%s", vars)
	}
	if meta := show(branch, "prod/.proton/deployment-metadata.json"); !strings.Contains(meta, deployment) {
		t.Errorf("metadata:\n%s", meta)
	}
	if msg := git(t, bare, "log", "-1", "--format=%s", branch); msg != "Update requested for Proton - environment/prod" {
		t.Errorf("commit message %q", msg)
	}

	// It waits for the repository's automation: still IN_PROGRESS, not retried, until the
	// report; the report's outputs become the environment's.
	time.Sleep(300 * time.Millisecond)
	env, err := c.GetEnvironment(ctx, &proton.GetEnvironmentInput{Name: aws.String("prod")})
	if err != nil || env.Environment.DeploymentStatus != types.DeploymentStatusInProgress {
		t.Fatalf("before the report: %v %+v", err, env)
	}
	if _, err := c.NotifyResourceDeploymentStatusChange(ctx, &proton.NotifyResourceDeploymentStatusChangeInput{ResourceArn: created.Environment.Arn,
		Status: types.ResourceDeploymentStatusSucceeded, DeploymentId: aws.String(deployment),
		Outputs: []types.Output{{Key: aws.String("vpc_id"), ValueString: aws.String("vpc-123")}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := waitDeployed(t, c, "prod", 30*time.Second); err != nil {
		t.Fatalf("after the report: %v (%s)", err, got.DeploymentStatus)
	}
	if out := outputs(t, c, "prod", nil); out["vpc_id"] != "vpc-123" {
		t.Errorf("outputs %v", out)
	}

	// An update on a new branch, cancelled (the pull request abandoned): back as it was.
	up, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("prod"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  team: ops\n")})
	if err != nil {
		t.Fatal(err)
	}
	second := "proton--proton-environment-" + aws.ToString(up.Environment.LastAttemptedDeploymentId)
	waitBranch(second)
	if vars := show(second, "prod/proton.auto.tfvars.json"); !strings.Contains(vars, `"team" : "ops"`) {
		t.Errorf("second branch tfvars:\n%s", vars)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := c.CancelEnvironmentDeployment(ctx, &proton.CancelEnvironmentDeploymentInput{EnvironmentName: aws.String("prod")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cancel: %v", err)
		}
	}
	// Without a pull request API the branch is the request: cancelling withdraws it, and
	// then the environment is back as it was.
	branchGone(t, bare, second)
	if cancelled := waitEnvStatus(t, c, "prod", types.DeploymentStatusCancelled); !strings.Contains(aws.ToString(cancelled.Spec), "team: web") {
		t.Errorf("after cancelling: spec %q", aws.ToString(cancelled.Spec))
	}

	// A request merged already cannot be withdrawn: the cancel is refused and the
	// deployment waits for its report again.
	up, err = c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("prod"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  team: data\n")})
	if err != nil {
		t.Fatal(err)
	}
	third := "proton--proton-environment-" + aws.ToString(up.Environment.LastAttemptedDeploymentId)
	waitBranch(third)
	git(t, bare, "update-ref", "refs/heads/main", "refs/heads/"+third) // merged (fast-forward)
	git(t, bare, "branch", "-D", third)                                // and its branch deleted
	if _, err := c.CancelEnvironmentDeployment(ctx, &proton.CancelEnvironmentDeploymentInput{EnvironmentName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	back := waitEnvStatus(t, c, "prod", types.DeploymentStatusInProgress)
	if !strings.Contains(aws.ToString(back.DeploymentStatusMessage), "merged already") {
		t.Errorf("refused cancel: %q", aws.ToString(back.DeploymentStatusMessage))
	}
	if _, err := c.NotifyResourceDeploymentStatusChange(ctx, &proton.NotifyResourceDeploymentStatusChangeInput{ResourceArn: created.Environment.Arn,
		Status: types.ResourceDeploymentStatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	if done := waitEnvStatus(t, c, "prod", types.DeploymentStatusSucceeded); !strings.Contains(aws.ToString(done.Spec), "team: data") {
		t.Errorf("after the merged deployment's report: %q", aws.ToString(done.Spec))
	}
	if _, err := c.DeleteRepository(ctx, &proton.DeleteRepositoryInput{Provider: types.RepositoryProviderGithub, Name: aws.String("org/infra")}); apiCode(err) != "ConflictException" {
		t.Errorf("unlinking the repository an environment provisions through: %v", err)
	}

	// Deletion commits the files marked deleted and completes without a report.
	if _, err := c.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := c.GetEnvironment(ctx, &proton.GetEnvironmentInput{Name: aws.String("prod")})
		if apiCode(err) == "ResourceNotFoundException" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not deleted: %v", err)
		}
	}
	branches := git(t, bare, "branch", "--list", "proton--proton-environment-*")
	if n := len(strings.Fields(branches)); n != 2 {
		t.Errorf("%d branches, want 2 (create, delete; the cancelled and the merged updates' are gone):\n%s", n, branches)
	}
}

// Service instances of a self-managed environment are committed the same way, into the
// environment's folder; the service becomes ACTIVE when their reports arrive. (Pipelines
// through the account's pipelineProvisioningRepository need a registered repository:
// CreateRepository arrives with repositories and sync.)
func TestSelfManagedTerraformServices(t *testing.T) {
	base := t.TempDir()
	infra := bareRepo(t, base, "org/infra")
	srv := startServerWith(t, func(c *config.Server) { c.RepositoryURLs = "GITHUB=" + base })
	c := srv.admin()
	ctx := context.Background()
	publishEnv(t, srv, "tf", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: tfManifest},
		{Name: "infrastructure/main.tf", Body: tfMain}}, "")
	linkRepo(t, c, types.RepositoryProviderGithub, "org/infra")
	env, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("dev"), TemplateName: aws.String("tf"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: web\n"), ProvisioningRepository: &types.RepositoryBranchInput{Provider: types.RepositoryProviderGithub, Name: aws.String("org/infra"), Branch: aws.String("main")}})
	if err != nil {
		t.Fatal(err)
	}
	// notify reports success for a resource once its branch exists.
	notify := func(arn, deployment string, bare string, kind string, outputs ...types.Output) {
		t.Helper()
		branch := "proton--proton-" + kind + "-" + deployment
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if out, _ := exec.Command("git", "-C", bare, "branch", "--list", branch).Output(); strings.TrimSpace(string(out)) != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("branch %s never appeared", branch)
			}
		}
		if _, err := c.NotifyResourceDeploymentStatusChange(ctx, &proton.NotifyResourceDeploymentStatusChangeInput{ResourceArn: aws.String(arn),
			Status: types.ResourceDeploymentStatusSucceeded, Outputs: outputs}); err != nil {
			t.Fatalf("notify %s: %v", arn, err)
		}
	}
	notify(aws.ToString(env.Environment.Arn), aws.ToString(env.Environment.LastAttemptedDeploymentId), infra, "environment",
		types.Output{Key: aws.String("vpc_id"), ValueString: aws.String("vpc-9")})
	if _, err := waitDeployed(t, c, "dev", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	svcFiles := []file{{Name: "schema/schema.yaml", Body: strings.Replace(svcSchema, "  pipeline_input_type: \"PipeInput\"\n", "", 1)},
		{Name: "instance_infrastructure/manifest.yaml", Body: tfManifest}, {Name: "instance_infrastructure/main.tf", Body: "resource \"null_resource\" \"svc\" {}\n"}}
	publishSvc(t, srv, "app", svcFiles, false, "tf:1")
	if _, err := c.CreateService(ctx, &proton.CreateServiceInput{Name: aws.String("shop"), TemplateName: aws.String("app"), TemplateMajorVersion: aws.String("1"),
		Spec: svcSpec("", "front=dev:{port: 81}")}); err != nil {
		t.Fatal(err)
	}
	inst, err := c.GetServiceInstance(ctx, &proton.GetServiceInstanceInput{ServiceName: aws.String("shop"), Name: aws.String("front")})
	if err != nil {
		t.Fatal(err)
	}
	instBranch := "proton--proton-service_instance-" + aws.ToString(inst.ServiceInstance.LastAttemptedDeploymentId)
	notify(aws.ToString(inst.ServiceInstance.Arn), aws.ToString(inst.ServiceInstance.LastAttemptedDeploymentId), infra, "service_instance",
		types.Output{Key: aws.String("url"), ValueString: aws.String("https://front")})
	if tf := git(t, infra, "show", instBranch+":dev/shop-front/main.tf"); !strings.Contains(tf, "managed by AWS Proton") {
		t.Errorf("instance file:\n%s", tf)
	}
	if vars := git(t, infra, "show", instBranch+":dev/shop-front/proton.auto.tfvars.json"); !strings.Contains(vars, `"vpc_id" : "vpc-9"`) || !strings.Contains(vars, `"port" : 81`) {
		t.Errorf("instance tfvars (environment outputs, inputs):\n%s", vars)
	}

	waitServiceActive(t, c, "shop")
	if out := instanceOutputs(t, c, "shop", "front"); out["url"] != "https://front" {
		t.Errorf("instance outputs %v", out)
	}

	// Cancelling an instance update that waits for its report puts it back at once.
	if _, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("shop"), Name: aws.String("front"),
		DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: svcSpec("", "front=dev:{port: 82}")}); err != nil {
		t.Fatal(err)
	}
	var got *types.ServiceInstance
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := c.CancelServiceInstanceDeployment(ctx, &proton.CancelServiceInstanceDeploymentInput{ServiceName: aws.String("shop"), ServiceInstanceName: aws.String("front")})
		if err == nil {
			got = out.ServiceInstance
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cancel: %v", err)
		}
	}
	if got.DeploymentStatus != types.DeploymentStatusCancelled && got.DeploymentStatus != types.DeploymentStatusCancelling {
		t.Errorf("cancel answered %s", got.DeploymentStatus)
	}
	for deadline := time.Now().Add(30 * time.Second); got.DeploymentStatus != types.DeploymentStatusCancelled; time.Sleep(50 * time.Millisecond) {
		out, err := c.GetServiceInstance(ctx, &proton.GetServiceInstanceInput{ServiceName: aws.String("shop"), Name: aws.String("front")})
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("instance after cancel: %v %s", err, got.DeploymentStatus)
		}
		got = out.ServiceInstance
	}
	if !strings.Contains(aws.ToString(got.Spec), "port: 81") {
		t.Errorf("the cancelled update's spec stayed: %q", aws.ToString(got.Spec))
	}
}
