package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/config"
)

const testConnection = "arn:aws:codestar-connections:us-east-1:" + accountID + ":connection/test"

// TestRepositories: repository links through the SDK and the aws CLI: Proton's ARN, retry
// rules, paging, tags, what may unlink them and who may.
func TestRepositories(t *testing.T) {
	srv := startServerWith(t, func(c *config.Server) {
		c.RepositoryURLs = "GITHUB=https://git.example.com,BITBUCKET=https://bb.example.com,GITHUB_ENTERPRISE=https://ghe.example.com"
	})
	c := srv.admin()
	ctx := context.Background()
	created, err := c.CreateRepository(ctx, &proton.CreateRepositoryInput{Provider: types.RepositoryProviderGithub, Name: aws.String("myrepos/environments"),
		ConnectionArn: aws.String(testConnection), EncryptionKey: aws.String("arn:aws:kms:us-east-1:123456789012:key/k"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}})
	if err != nil {
		t.Fatal(err)
	}
	r := created.Repository
	wantARN := "arn:aws:proton:" + region + ":" + accountID + ":repository/github:myrepos/environments"
	if aws.ToString(r.Arn) != wantARN || aws.ToString(r.ConnectionArn) != testConnection || aws.ToString(r.EncryptionKey) == "" || r.Provider != types.RepositoryProviderGithub {
		t.Errorf("created %+v, want ARN %s", r, wantARN)
	}
	// A retry of the same request returns the link; other parameters are refused.
	again, err := c.CreateRepository(ctx, &proton.CreateRepositoryInput{Provider: types.RepositoryProviderGithub, Name: aws.String("myrepos/environments"),
		ConnectionArn: aws.String(testConnection), EncryptionKey: aws.String("arn:aws:kms:us-east-1:123456789012:key/k"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}})
	if err != nil || aws.ToString(again.Repository.Arn) != wantARN {
		t.Errorf("retry: %v", err)
	}
	if _, err := c.CreateRepository(ctx, &proton.CreateRepositoryInput{Provider: types.RepositoryProviderGithub, Name: aws.String("myrepos/environments"),
		ConnectionArn: aws.String(testConnection + "-other")}); apiCode(err) != "ValidationException" {
		t.Errorf("same name, other connection: %v", err)
	}
	for _, bad := range []*proton.CreateRepositoryInput{
		{Provider: types.RepositoryProviderGithub, Name: aws.String("no-slash"), ConnectionArn: aws.String(testConnection)},
		{Provider: types.RepositoryProviderGithub, Name: aws.String("a/b/../../victim/x"), ConnectionArn: aws.String(testConnection)},
		{Provider: types.RepositoryProviderGithub, Name: aws.String("../x"), ConnectionArn: aws.String(testConnection)},
		{Provider: types.RepositoryProviderGithub, Name: aws.String("a/b?x=1"), ConnectionArn: aws.String(testConnection)},
		{Provider: types.RepositoryProviderGithub, Name: aws.String("a/.."), ConnectionArn: aws.String(testConnection)},
		// Another account's connection would lend its credentials.
		{Provider: types.RepositoryProviderGithub, Name: aws.String("a/b"), ConnectionArn: aws.String("arn:aws:codestar-connections:us-east-1:999999999999:connection/theirs")},
		{Provider: "GITLAB", Name: aws.String("a/b"), ConnectionArn: aws.String(testConnection)},
		{Provider: types.RepositoryProviderGithub, Name: aws.String("a/b"), ConnectionArn: aws.String("not-an-arn")},
	} {
		if _, err := c.CreateRepository(ctx, bad); apiCode(err) != "ValidationException" {
			t.Errorf("CreateRepository(%s %s %s): %v, want ValidationException", bad.Provider, aws.ToString(bad.Name), aws.ToString(bad.ConnectionArn), err)
		}
	}
	tags, err := c.ListTagsForResource(ctx, &proton.ListTagsForResourceInput{ResourceArn: aws.String(wantARN)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "platform" {
		t.Errorf("tags: %v %+v", err, tags)
	}
	for _, r := range []struct {
		p    types.RepositoryProvider
		name string
	}{{types.RepositoryProviderBitbucket, "ws/pipelines"}, {types.RepositoryProviderGithubEnterprise, "corp/templates"}, {types.RepositoryProviderGithub, "myrepos/a-first"}} {
		linkRepo(t, c, r.p, r.name)
	}
	var listed []string
	pages := proton.NewListRepositoriesPaginator(c, &proton.ListRepositoriesInput{MaxResults: aws.Int32(2)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Repositories {
			listed = append(listed, string(r.Provider)+" "+aws.ToString(r.Name))
		}
	}
	want := []string{"BITBUCKET ws/pipelines", "GITHUB myrepos/a-first", "GITHUB myrepos/environments", "GITHUB_ENTERPRISE corp/templates"}
	if strings.Join(listed, ",") != strings.Join(want, ",") {
		t.Errorf("listed %v, want %v", listed, want)
	}

	// The account's pipeline repository must be linked, and a linked one in use stays.
	if _, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineProvisioningRepository: &types.RepositoryBranchInput{
		Provider: types.RepositoryProviderBitbucket, Name: aws.String("ws/pipelines"), Branch: aws.String("main")}}); err != nil {
		t.Fatal(err)
	}
	settings, err := c.GetAccountSettings(ctx, &proton.GetAccountSettingsInput{})
	if err != nil || aws.ToString(settings.AccountSettings.PipelineProvisioningRepository.Arn) != "arn:aws:proton:"+region+":"+accountID+":repository/bitbucket:ws/pipelines" {
		t.Errorf("settings: %v %+v", err, settings)
	}
	if _, err := c.DeleteRepository(ctx, &proton.DeleteRepositoryInput{Provider: types.RepositoryProviderBitbucket, Name: aws.String("ws/pipelines")}); apiCode(err) != "ConflictException" {
		t.Errorf("unlinking the pipeline repository: %v", err)
	}

	// Developers read links but do not make them.
	devID, devSecret := srv.newKey(t, accountID, auth.RoleDeveloper)
	dev := srv.client(devID, devSecret)
	if _, err := dev.GetRepository(ctx, &proton.GetRepositoryInput{Provider: types.RepositoryProviderGithub, Name: aws.String("myrepos/environments")}); err != nil {
		t.Errorf("developer get: %v", err)
	}
	var denied *types.AccessDeniedException
	if _, err := dev.CreateRepository(ctx, &proton.CreateRepositoryInput{Provider: types.RepositoryProviderGithub, Name: aws.String("dev/x"),
		ConnectionArn: aws.String(testConnection)}); !errors.As(err, &denied) {
		t.Errorf("developer create: %v", err)
	}

	// The aws CLI sees the same.
	needTool(t, "aws", "--version")
	out, stderr, code := runAWS(t, srv, srv.awsEnv(t, rootKeyID, rootSecret), "proton", "get-repository", "--provider", "GITHUB", "--name", "myrepos/environments")
	if code != 0 || !strings.Contains(out, `"arn": "`+wantARN+`"`) {
		t.Errorf("aws get-repository: %d %s %s", code, out, stderr)
	}
	out, stderr, code = runAWS(t, srv, srv.awsEnv(t, rootKeyID, rootSecret), "proton", "delete-repository", "--provider", "GITHUB", "--name", "myrepos/environments")
	if code != 0 || !strings.Contains(out, `"name": "myrepos/environments"`) {
		t.Errorf("aws delete-repository: %d %s %s", code, out, stderr)
	}
	if _, err := c.GetRepository(ctx, &proton.GetRepositoryInput{Provider: types.RepositoryProviderGithub, Name: aws.String("myrepos/environments")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := c.ListTagsForResource(ctx, &proton.ListTagsForResourceInput{ResourceArn: aws.String(wantARN)}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("tags of a deleted link: %v", err)
	}
}

// fakeGitHub is the part of GitHub's REST API that opens, reads and closes pull requests,
// for one repository, recording who asked.
type fakeGitHub struct {
	mu    sync.Mutex
	down  bool // answer 503 to closing
	repo  string
	prs   []*fakePull
	auths []string
	srv   *httptest.Server
}

type fakePull struct {
	Number int64  `json:"number"`
	State  string `json:"state"`
	Merged bool   `json:"merged"`
	Head   string `json:"-"`
	Base   string `json:"-"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	URL    string `json:"html_url"`
}

func newFakeGitHub(t *testing.T, repo string) *fakeGitHub {
	f := &fakeGitHub{repo: repo}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	prefix := "/repos/" + f.repo + "/pulls"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		return
	}
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	type wire struct {
		*fakePull
		Head struct {
			Ref string `json:"ref"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
		} `json:"base"`
	}
	out := func(p *fakePull) wire {
		v := wire{fakePull: p}
		v.Head.Ref, v.Base.Ref = p.Head, p.Base
		return v
	}
	switch {
	case rest == "" && r.Method == http.MethodPost:
		var in struct{ Title, Body, Head, Base string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		for _, p := range f.prs {
			if p.Head == in.Head && p.State == "open" {
				reply(422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"message": "A pull request already exists for " + in.Head + "."}}})
				return
			}
		}
		n := int64(len(f.prs) + 1)
		p := &fakePull{Number: n, State: "open", Head: in.Head, Base: in.Base, Title: in.Title, Body: in.Body,
			URL: fmt.Sprintf("https://github.example.com/%s/pull/%d", f.repo, n)}
		f.prs = append(f.prs, p)
		reply(201, out(p))
	case rest == "" && r.Method == http.MethodGet:
		var list []wire
		for _, p := range f.prs {
			list = append(list, out(p))
		}
		reply(200, list)
	default:
		n, err := strconv.Atoi(strings.TrimPrefix(rest, "/"))
		if err != nil || n < 1 || n > len(f.prs) {
			reply(404, map[string]string{"message": "Not Found"})
			return
		}
		p := f.prs[n-1]
		if r.Method == http.MethodPatch && f.down {
			reply(503, map[string]string{"message": "Service Unavailable"})
			return
		}
		if r.Method == http.MethodPatch {
			var in struct{ State string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			if in.State == "closed" && !p.Merged {
				p.State = "closed"
			}
		}
		reply(200, out(p))
	}
}

// pull waits for the n-th pull request.
func (f *fakeGitHub) pull(t *testing.T, n int) fakePull {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		f.mu.Lock()
		if len(f.prs) >= n {
			p := *f.prs[n-1]
			f.mu.Unlock()
			return p
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("pull request %d never opened", n)
		}
	}
}

// set changes the n-th pull request as a reviewer on GitHub would.
func (f *fakeGitHub) set(n int, state string, merged bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prs[n-1].State, f.prs[n-1].Merged = state, merged
}

// waitEnvStatus polls an environment until its deployment status is want.
func waitEnvStatus(t *testing.T, c *proton.Client, name string, want types.DeploymentStatus) *types.Environment {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := c.GetEnvironment(context.Background(), &proton.GetEnvironmentInput{Name: aws.String(name)})
		if err == nil && out.Environment.DeploymentStatus == want {
			return out.Environment
		}
		if time.Now().After(deadline) {
			t.Fatalf("environment %s: %v, status never %s", name, err, want)
		}
	}
}

// TestSelfManagedPullRequests: with a provider API configured, each deployment opens a pull
// request (with the token registered for the repository's connection); closing it
// unmerged cancels the deployment, cancelling the deployment closes it, and a merged one
// waits for the automation's report.
func TestSelfManagedPullRequests(t *testing.T) {
	base := t.TempDir()
	bare := bareRepo(t, base, "org/infra")
	gh := newFakeGitHub(t, "org/infra")
	creds := filepath.Join(t.TempDir(), "credentials.yaml")
	if err := os.WriteFile(creds, []byte(testConnection+":\n  token: ghp-registered-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServerWith(t, func(c *config.Server) {
		c.RepositoryURLs, c.RepositoryCredentials = "GITHUB="+base, creds
		c.PullRequestAPIs, c.PullRequestPoll = "GITHUB="+gh.srv.URL, 100*time.Millisecond
	})
	c := srv.admin()
	ctx := context.Background()
	publishEnv(t, srv, "tf", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: tfManifest},
		{Name: "infrastructure/main.tf", Body: tfMain}}, "")
	linkRepo(t, c, types.RepositoryProviderGithub, "org/infra")

	created, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("prod"), TemplateName: aws.String("tf"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: web\n"), ProvisioningRepository: &types.RepositoryBranchInput{Provider: types.RepositoryProviderGithub, Name: aws.String("org/infra"), Branch: aws.String("main")}})
	if err != nil {
		t.Fatal(err)
	}
	first := gh.pull(t, 1)
	deployment := aws.ToString(created.Environment.LastAttemptedDeploymentId)
	if first.Head != "proton--proton-environment-"+deployment || first.Base != "main" || first.Title != "Update requested for Proton - environment/prod" {
		t.Errorf("pull request %+v", first)
	}
	gh.mu.Lock()
	for _, a := range gh.auths {
		if a != "Bearer ghp-registered-token" {
			t.Errorf("API called with %q, want the connection's token", a)
		}
	}
	gh.mu.Unlock()
	if got := git(t, bare, "branch", "--list", first.Head); got == "" {
		t.Errorf("the pull request's branch %s was not pushed", first.Head)
	}

	// Rejected: the pull request is closed without merging, and the creation is cancelled.
	gh.set(1, "closed", false)
	env := waitEnvStatus(t, c, "prod", types.DeploymentStatusCancelled)
	d, err := c.GetDeployment(ctx, &proton.GetDeploymentInput{Id: aws.String(deployment)})
	if err != nil || d.Deployment.DeploymentStatus != types.DeploymentStatusCancelled || !strings.Contains(aws.ToString(d.Deployment.DeploymentStatusMessage), first.URL) {
		t.Errorf("deployment after the pull request closed: %v %+v", err, d)
	}

	// Cancelled here: the pull request is closed on the host.
	up, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("prod"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: spec("  team: ops\n")})
	if err != nil {
		t.Fatal(err)
	}
	second := gh.pull(t, 2)
	if second.Head != "proton--proton-environment-"+aws.ToString(up.Environment.LastAttemptedDeploymentId) {
		t.Errorf("second pull request %+v", second)
	}
	if _, err := c.CancelEnvironmentDeployment(ctx, &proton.CancelEnvironmentDeploymentInput{EnvironmentName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); gh.pull(t, 2).State != "closed"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("cancelling did not close the pull request")
		}
	}
	if got := git(t, bare, "branch", "--list", second.Head); got == "" {
		t.Error("closing a pull request deleted its branch (GitHub keeps it)")
	}

	waitEnvStatus(t, c, "prod", types.DeploymentStatusCancelled)

	// Merged: the deployment still waits for the automation's report, and a cancel is
	// refused since the pull request cannot be closed any more.
	up, err = c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("prod"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: spec("  team: data\n")})
	if err != nil {
		t.Fatal(err)
	}
	gh.pull(t, 3)
	gh.set(3, "closed", true)
	time.Sleep(500 * time.Millisecond) // several watcher passes
	if env = waitEnvStatus(t, c, "prod", types.DeploymentStatusInProgress); aws.ToString(env.LastAttemptedDeploymentId) != aws.ToString(up.Environment.LastAttemptedDeploymentId) {
		t.Errorf("merged: %+v", env)
	}
	if _, err := c.CancelEnvironmentDeployment(ctx, &proton.CancelEnvironmentDeploymentInput{EnvironmentName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if env = waitEnvStatus(t, c, "prod", types.DeploymentStatusInProgress); !strings.Contains(aws.ToString(env.DeploymentStatusMessage), "merged already") {
		t.Errorf("cancel of a merged request: %q", aws.ToString(env.DeploymentStatusMessage))
	}
	if _, err := c.NotifyResourceDeploymentStatusChange(ctx, &proton.NotifyResourceDeploymentStatusChangeInput{ResourceArn: env.Arn,
		Status: types.ResourceDeploymentStatusSucceeded, Outputs: []types.Output{{Key: aws.String("vpc_id"), ValueString: aws.String("vpc-7")}}}); err != nil {
		t.Fatal(err)
	}
	if env = waitEnvStatus(t, c, "prod", types.DeploymentStatusSucceeded); !strings.Contains(aws.ToString(env.Spec), "team: data") {
		t.Errorf("after the report: %+v", env)
	}
}

// TestSelfManagedPipelinesAndComponents: a service's pipeline goes to the account's
// pipelineProvisioningRepository and a Terraform component to its environment's
// repository, each waiting for its report.
func TestSelfManagedPipelinesAndComponents(t *testing.T) {
	base := t.TempDir()
	infra := bareRepo(t, base, "org/infra")
	pipelines := bareRepo(t, base, "org/pipelines")
	srv := startServerWith(t, func(c *config.Server) { c.RepositoryURLs = "GITHUB=" + base })
	c := srv.admin()
	ctx := context.Background()
	publishEnv(t, srv, "tf", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: tfManifest},
		{Name: "infrastructure/main.tf", Body: tfMain}}, "")
	publishEnv(t, srv, "cm", "", []file{{Name: "schema/schema.yaml", Body: envSchema}}, types.ProvisioningCustomerManaged)
	linkRepo(t, c, types.RepositoryProviderGithub, "org/infra")
	linkRepo(t, c, types.RepositoryProviderGithub, "org/pipelines")
	if _, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineProvisioningRepository: &types.RepositoryBranchInput{
		Provider: types.RepositoryProviderGithub, Name: aws.String("org/pipelines"), Branch: aws.String("main")}}); err != nil {
		t.Fatal(err)
	}
	env, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("dev"), TemplateName: aws.String("tf"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: web\n"), ProvisioningRepository: &types.RepositoryBranchInput{Provider: types.RepositoryProviderGithub, Name: aws.String("org/infra"), Branch: aws.String("main")},
		ComponentRoleArn: aws.String("arn:aws:iam::123456789012:role/components")})
	if err != nil {
		t.Fatal(err)
	}
	report := func(arn *string, outputs ...types.Output) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, err := c.NotifyResourceDeploymentStatusChange(ctx, &proton.NotifyResourceDeploymentStatusChangeInput{ResourceArn: arn,
				Status: types.ResourceDeploymentStatusSucceeded, Outputs: outputs})
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("report for %s: %v", aws.ToString(arn), err)
			}
		}
	}
	report(env.Environment.Arn, types.Output{Key: aws.String("vpc_id"), ValueString: aws.String("vpc-1")})
	waitEnvStatus(t, c, "dev", types.DeploymentStatusSucceeded)

	svcFiles := []file{{Name: "schema/schema.yaml", Body: svcSchema},
		{Name: "instance_infrastructure/manifest.yaml", Body: tfManifest}, {Name: "instance_infrastructure/main.tf", Body: "resource \"null_resource\" \"svc\" {}\n"},
		{Name: "pipeline_infrastructure/manifest.yaml", Body: tfManifest}, {Name: "pipeline_infrastructure/pipeline.tf", Body: "resource \"null_resource\" \"pipeline\" {}\n"}}
	publishSvcWith(t, srv, "app", svcFiles, true, []types.ServiceTemplateSupportedComponentSourceType{types.ServiceTemplateSupportedComponentSourceTypeDirectlyDefined}, "tf:1")
	svc, err := c.CreateService(ctx, &proton.CreateServiceInput{Name: aws.String("shop"), TemplateName: aws.String("app"), TemplateMajorVersion: aws.String("1"),
		Spec: svcSpec("  test_command: go test\n", "front=dev:{port: 81}"), RepositoryConnectionArn: aws.String(repoConn),
		RepositoryId: aws.String("org/app"), BranchName: aws.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	report(aws.String(aws.ToString(svc.Service.Arn)+"/service-instance/front"), types.Output{Key: aws.String("url"), ValueString: aws.String("https://front")})
	// The pipeline follows the instances, on a branch of the pipeline repository.
	pipe, err := c.GetService(ctx, &proton.GetServiceInput{Name: aws.String("shop")})
	for deadline := time.Now().Add(30 * time.Second); err == nil && aws.ToString(pipe.Service.Pipeline.LastAttemptedDeploymentId) == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pipeline never started")
		}
		pipe, err = c.GetService(ctx, &proton.GetServiceInput{Name: aws.String("shop")})
	}
	if err != nil {
		t.Fatal(err)
	}
	pipeBranch := "proton--proton-service_pipeline-" + aws.ToString(pipe.Service.Pipeline.LastAttemptedDeploymentId)
	report(pipe.Service.Pipeline.Arn)
	waitServiceActive(t, c, "shop")
	if tf := git(t, pipelines, "show", pipeBranch+":pipeline/shop/pipeline.tf"); !strings.Contains(tf, "managed by AWS Proton") || !strings.Contains(tf, `"pipeline"`) {
		t.Errorf("pipeline file:\n%s", tf)
	}
	if vars := git(t, pipelines, "show", pipeBranch+":pipeline/shop/proton.auto.tfvars.json"); !strings.Contains(vars, `"test_command" : "go test"`) ||
		!strings.Contains(vars, `"url" : "https://front"`) || !strings.Contains(vars, `"repository_id" : "org/app"`) {
		t.Errorf("pipeline tfvars (pipeline inputs, instance outputs, service repository):\n%s", vars)
	}
	if got := git(t, infra, "branch", "--list", pipeBranch); got != "" {
		t.Errorf("the pipeline went to the environment's repository too")
	}
	// While Terraform pipelines exist the account's pipeline repository may move, but not go.
	if _, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{DeletePipelineProvisioningRepository: aws.Bool(true)}); apiCode(err) != "ConflictException" {
		t.Errorf("removing the pipeline repository under a Terraform pipeline: %v", err)
	}
	if _, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineProvisioningRepository: &types.RepositoryBranchInput{
		Provider: types.RepositoryProviderGithub, Name: aws.String("org/pipelines"), Branch: aws.String("release")}}); err != nil {
		t.Errorf("moving the pipeline repository: %v", err)
	}

	// A Terraform component attached to the instance goes into the environment's folder.
	const tfComponentManifest = "infrastructure:\n  templates:\n    - file: \"queue.tf\"\n      rendering_engine: hcl\n      template_language: terraform\n"
	comp, err := c.CreateComponent(ctx, &proton.CreateComponentInput{Name: aws.String("queue"), ServiceName: aws.String("shop"), ServiceInstanceName: aws.String("front"),
		TemplateFile: aws.String("resource \"aws_sqs_queue\" \"q\" {}\n"), Manifest: aws.String(tfComponentManifest)})
	if err != nil {
		t.Fatal(err)
	}
	compBranch := "proton--proton-component-" + aws.ToString(comp.Component.LastAttemptedDeploymentId)
	report(comp.Component.Arn, types.Output{Key: aws.String("queue_url"), ValueString: aws.String("https://sqs/q")})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err := c.GetComponent(ctx, &proton.GetComponentInput{Name: aws.String("queue")})
		if err == nil && got.Component.DeploymentStatus == types.DeploymentStatusSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("component: %v", err)
		}
	}
	if tf := git(t, infra, "show", compBranch+":dev/queue/queue.tf"); !strings.Contains(tf, "managed by AWS Proton") || !strings.Contains(tf, "aws_sqs_queue") {
		t.Errorf("component file:\n%s", tf)
	}
	if vars := git(t, infra, "show", compBranch+":dev/queue/proton.auto.tfvars.json"); !strings.Contains(vars, `"name" : "queue"`) || !strings.Contains(vars, `"port" : 81`) {
		t.Errorf("component tfvars (its name, the instance's inputs):\n%s", vars)
	}
	outs, err := c.ListComponentOutputs(ctx, &proton.ListComponentOutputsInput{ComponentName: aws.String("queue")})
	if err != nil || len(outs.Outputs) != 1 || aws.ToString(outs.Outputs[0].ValueString) != "https://sqs/q" {
		t.Errorf("component outputs: %v %+v", err, outs)
	}

	// Terraform components need an environment provisioned through a repository.
	if _, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("managed"), TemplateName: aws.String("cm"),
		TemplateMajorVersion: aws.String("1"), Spec: spec("  team: web\n"), ComponentRoleArn: aws.String("arn:aws:iam::123456789012:role/components")}); err != nil {
		t.Fatal(err)
	}
	waitEnvStatus(t, c, "managed", types.DeploymentStatusSucceeded)
	if _, err := c.CreateComponent(ctx, &proton.CreateComponentInput{Name: aws.String("stray"), EnvironmentName: aws.String("managed"),
		TemplateFile: aws.String("resource \"x\" \"y\" {}\n"), Manifest: aws.String(tfComponentManifest)}); apiCode(err) != "ValidationException" ||
		!strings.Contains(err.Error(), "provisioningRepository") {
		t.Errorf("a Terraform component in an environment without a repository: %v", err)
	}
}

// TestRequestClosedAfterRestart: a cancelled deployment's pull request is closed even when
// the provider's API is down at the time and the server restarts meanwhile: the request
// stays recorded as to be closed until it is.
func TestRequestClosedAfterRestart(t *testing.T) {
	base := t.TempDir()
	bareRepo(t, base, "org/infra")
	gh := newFakeGitHub(t, "org/infra")
	configure := func(c *config.Server) {
		c.RepositoryURLs, c.RepositoryToken = "GITHUB="+base, "token"
		c.PullRequestAPIs, c.PullRequestPoll = "GITHUB="+gh.srv.URL, 100*time.Millisecond
	}
	first := startServerWith(t, configure)
	c := first.admin()
	ctx := context.Background()
	publishEnv(t, first, "tf", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: tfManifest},
		{Name: "infrastructure/main.tf", Body: tfMain}}, "")
	linkRepo(t, c, types.RepositoryProviderGithub, "org/infra")
	if _, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("prod"), TemplateName: aws.String("tf"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: web\n"), ProvisioningRepository: &types.RepositoryBranchInput{Provider: types.RepositoryProviderGithub, Name: aws.String("org/infra"), Branch: aws.String("main")}}); err != nil {
		t.Fatal(err)
	}
	gh.pull(t, 1)
	gh.mu.Lock()
	gh.down = true
	gh.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := c.CancelEnvironmentDeployment(ctx, &proton.CancelEnvironmentDeploymentInput{EnvironmentName: aws.String("prod")}); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	// Until its pull request is closed the deployment is CANCELLING, not CANCELLED.
	time.Sleep(500 * time.Millisecond) // several failed attempts to close
	if p := gh.pull(t, 1); p.State != "open" {
		t.Fatalf("closed although the API was down: %+v", p)
	}
	waitEnvStatus(t, c, "prod", types.DeploymentStatusCancelling)
	first.stop(t)

	gh.mu.Lock()
	gh.down = false
	gh.mu.Unlock()
	second := startServerWith(t, func(c *config.Server) {
		configure(c)
		c.DataDir, c.DatabaseURL = first.cfg.DataDir, first.cfg.DatabaseURL
	})
	for deadline := time.Now().Add(30 * time.Second); gh.pull(t, 1).State != "closed"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the restarted server never closed the cancelled deployment's pull request")
		}
	}
	waitEnvStatus(t, second.admin(), "prod", types.DeploymentStatusCancelled)
}
