package e2e

import (
	"context"
	"fmt"
	"net/http"
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

// templateRepo is a working clone of a bare repository that a test pushes commits from.
type templateRepo struct {
	t          *testing.T
	bare, work string
}

func newTemplateRepo(t *testing.T, base, name string) *templateRepo {
	bare := bareRepo(t, base, name)
	work := t.TempDir()
	git(t, work, "clone", "-q", bare, ".")
	return &templateRepo{t: t, bare: bare, work: work}
}

// commit writes files (path → content; "" deletes) and pushes one commit; it returns its sha.
func (r *templateRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for p, content := range files {
		full := filepath.Join(r.work, filepath.FromSlash(p))
		if content == "" {
			if err := os.RemoveAll(full); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	git(r.t, r.work, "add", "-A")
	git(r.t, r.work, "commit", "-q", "--allow-empty", "-m", msg)
	git(r.t, r.work, "push", "-q", "origin", "HEAD:main")
	return git(r.t, r.work, "rev-parse", "HEAD")
}

func envTemplateFiles(dir, vpcName string) map[string]string {
	return map[string]string{
		dir + "/schema/schema.yaml":                 envSchema,
		dir + "/infrastructure/manifest.yaml":       cfnEnvManifest,
		dir + "/infrastructure/cloudformation.yaml": "Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties:\n      Name: " + vpcName + "\n",
	}
}

// versions lists a template's versions as "major.minor STATUS".
func envVersions(t *testing.T, c *proton.Client, name string) []string {
	t.Helper()
	out, err := c.ListEnvironmentTemplateVersions(context.Background(), &proton.ListEnvironmentTemplateVersionsInput{TemplateName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for _, v := range out.TemplateVersions {
		list = append(list, aws.ToString(v.MajorVersion)+"."+aws.ToString(v.MinorVersion)+" "+string(v.Status))
	}
	return list
}

// waitSynced waits until the branch's latest sync is of sha and has ended.
func waitSynced(t *testing.T, c *proton.Client, sha string) *types.RepositorySyncAttempt {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := c.GetRepositorySyncStatus(context.Background(), &proton.GetRepositorySyncStatusInput{RepositoryName: aws.String("org/templates"),
			RepositoryProvider: types.RepositoryProviderGithub, Branch: aws.String("main"), SyncType: types.SyncTypeTemplateSync})
		if err == nil && out.LatestSync != nil && out.LatestSync.Status != types.RepositorySyncStatusInProgress {
			for _, e := range out.LatestSync.Events {
				if aws.ToString(e.ExternalId) == sha {
					return out.LatestSync
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("commit %s never synced: %v %+v", sha, err, out)
		}
	}
}

// TestTemplateSync: with a real git repository, pushes become template versions as on
// Proton: v1 → 1.0 DRAFT; an unchanged push → nothing new; a change → 1.1; v2/ → 2.0; a
// deleted synced version comes back; service templates take their compatible environments
// from .template-registration.yaml; a bad bundle fails its version and the status says so.
func TestTemplateSync(t *testing.T) {
	base := t.TempDir()
	repo := newTemplateRepo(t, base, "org/templates")
	srv := startServerWith(t, func(c *config.Server) { c.RepositoryURLs, c.SyncPoll = "GITHUB="+base, 100*time.Millisecond })
	c := srv.admin()
	ctx := context.Background()
	if _, err := c.CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: aws.String("vpc")}); err != nil {
		t.Fatal(err)
	}
	syncIn := &proton.CreateTemplateSyncConfigInput{TemplateName: aws.String("vpc"), TemplateType: types.TemplateTypeEnvironment,
		RepositoryProvider: types.RepositoryProviderGithub, RepositoryName: aws.String("org/templates"), Branch: aws.String("main"),
		Subdirectory: aws.String("/templates/")}
	if _, err := c.CreateTemplateSyncConfig(ctx, syncIn); apiCode(err) != "ValidationException" {
		t.Errorf("sync from a repository that is not linked: %v", err)
	}
	linkRepo(t, c, types.RepositoryProviderGithub, "org/templates")
	first := repo.commit("v1", envTemplateFiles("templates/vpc/v1", "one"))
	created, err := c.CreateTemplateSyncConfig(ctx, syncIn)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.TemplateSyncConfig.Subdirectory) != "templates" {
		t.Errorf("subdirectory %q, want it normalised", aws.ToString(created.TemplateSyncConfig.Subdirectory))
	}
	if _, err := c.CreateTemplateSyncConfig(ctx, syncIn); apiCode(err) != "ConflictException" {
		t.Errorf("a second sync configuration: %v", err)
	}
	missing := *syncIn
	missing.TemplateName = aws.String("nope")
	if _, err := c.CreateTemplateSyncConfig(ctx, &missing); apiCode(err) != "ValidationException" { // the model lists no ResourceNotFoundException here
		t.Errorf("sync of a template that does not exist: %v", err)
	}

	waitSynced(t, c, first)
	if got := envVersions(t, c, "vpc"); strings.Join(got, ",") != "1.0 DRAFT" {
		t.Fatalf("after v1: %v", got)
	}
	status, err := c.GetTemplateSyncStatus(ctx, &proton.GetTemplateSyncStatusInput{TemplateName: aws.String("vpc"),
		TemplateType: types.TemplateTypeEnvironment, TemplateVersion: aws.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	if status.LatestSync == nil || status.LatestSync.Status != types.ResourceSyncStatusSucceeded || aws.ToString(status.DesiredState.Sha) != first ||
		aws.ToString(status.DesiredState.Directory) != "templates/vpc/v1" || status.LatestSuccessfulSync == nil {
		t.Errorf("sync status after v1: %+v", status)
	}

	// An unchanged bundle: nothing new.
	unchanged := repo.commit("docs", map[string]string{"README.md": "templates\n"})
	waitSynced(t, c, unchanged)
	if got := envVersions(t, c, "vpc"); strings.Join(got, ",") != "1.0 DRAFT" {
		t.Errorf("after an unchanged push: %v", got)
	}

	// A change: the next minor. A new major folder: that major.
	changed := repo.commit("bigger", envTemplateFiles("templates/vpc/v1", "two"))
	waitSynced(t, c, changed)
	v2 := repo.commit("v2", envTemplateFiles("templates/vpc/v2", "three"))
	waitSynced(t, c, v2)
	if got := envVersions(t, c, "vpc"); strings.Join(got, ",") != "2.0 DRAFT,1.1 DRAFT,1.0 DRAFT" && strings.Join(got, ",") != "1.0 DRAFT,1.1 DRAFT,2.0 DRAFT" {
		t.Errorf("after a change and v2/: %v", got)
	}

	// A synced version deleted: the next push registers the bundle again.
	if _, err := c.DeleteEnvironmentTemplateVersion(ctx, &proton.DeleteEnvironmentTemplateVersionInput{TemplateName: aws.String("vpc"),
		MajorVersion: aws.String("1"), MinorVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	again := repo.commit("nudge", map[string]string{"README.md": "templates, again\n"})
	waitSynced(t, c, again)
	if got := envVersions(t, c, "vpc"); len(got) != 3 {
		t.Errorf("after deleting 1.1 and pushing: %v", got)
	}

	// A service template syncs with its registration file.
	if _, err := c.CreateServiceTemplate(ctx, &proton.CreateServiceTemplateInput{Name: aws.String("api"), PipelineProvisioning: types.ProvisioningCustomerManaged}); err != nil {
		t.Fatal(err)
	}
	svcFiles := map[string]string{
		"templates/api/v1/.template-registration.yaml":                 "compatible_environments:\n  - vpc:1\n  - vpc:2\nsupported_component_sources:\n  - DIRECTLY_DEFINED\n",
		"templates/api/v1/schema/schema.yaml":                          strings.Replace(svcSchema, "  pipeline_input_type: \"PipeInput\"\n", "", 1),
		"templates/api/v1/instance_infrastructure/manifest.yaml":       cfnEnvManifest,
		"templates/api/v1/instance_infrastructure/cloudformation.yaml": "Resources:\n  Svc:\n    Type: AWS::ECS::Service\n",
	}
	svcCommit := repo.commit("api", svcFiles)
	if _, err := c.CreateTemplateSyncConfig(ctx, &proton.CreateTemplateSyncConfigInput{TemplateName: aws.String("api"), TemplateType: types.TemplateTypeService,
		RepositoryProvider: types.RepositoryProviderGithub, RepositoryName: aws.String("org/templates"), Branch: aws.String("main"),
		Subdirectory: aws.String("templates")}); err != nil {
		t.Fatal(err)
	}
	// The branch was synced at svcCommit for vpc already: a new configuration still syncs
	// at once, without waiting for another push.
	_ = svcCommit
	var sv *proton.GetServiceTemplateVersionOutput
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := c.GetServiceTemplateVersion(ctx, &proton.GetServiceTemplateVersionInput{TemplateName: aws.String("api"), MajorVersion: aws.String("1"), MinorVersion: aws.String("0")})
		if err == nil && out.ServiceTemplateVersion.Status != types.TemplateVersionStatusRegistrationInProgress {
			sv = out
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new configuration never synced: %v", err)
		}
	}
	if sv.ServiceTemplateVersion.Status != types.TemplateVersionStatusDraft || len(sv.ServiceTemplateVersion.CompatibleEnvironmentTemplates) != 2 ||
		len(sv.ServiceTemplateVersion.SupportedComponentSources) != 1 {
		t.Errorf("synced service version: %+v", sv.ServiceTemplateVersion)
	}

	// A bundle that does not register fails its version, and the status says why.
	bad := repo.commit("broken v3", map[string]string{"templates/vpc/v3/schema/schema.yaml": "schema: [", "templates/vpc/v3/infrastructure/manifest.yaml": cfnEnvManifest,
		"templates/vpc/v3/infrastructure/cloudformation.yaml": "Resources: {}\n"})
	waitSynced(t, c, bad)
	st, err := c.GetTemplateSyncStatus(ctx, &proton.GetTemplateSyncStatusInput{TemplateName: aws.String("vpc"),
		TemplateType: types.TemplateTypeEnvironment, TemplateVersion: aws.String("3")})
	if err != nil || st.LatestSync == nil || st.LatestSync.Status != types.ResourceSyncStatusFailed || st.LatestSuccessfulSync != nil {
		t.Errorf("status of a broken major: %v %+v", err, st)
	}
	// Unchanged, the broken bundle is not registered again on the next pushes.
	for i := range 2 {
		waitSynced(t, c, repo.commit(fmt.Sprintf("docs %d", i), map[string]string{"README.md": fmt.Sprintf("again %d\n", i)}))
	}
	if got := envVersions(t, c, "vpc"); len(got) != 4 {
		t.Errorf("after pushes that leave the broken v3 as it was: %v", got)
	}

	defs, err := c.ListRepositorySyncDefinitions(ctx, &proton.ListRepositorySyncDefinitionsInput{RepositoryName: aws.String("org/templates"),
		RepositoryProvider: types.RepositoryProviderGithub, SyncType: types.SyncTypeTemplateSync})
	if err != nil || len(defs.SyncDefinitions) != 2 {
		t.Errorf("sync definitions: %v %+v", err, defs)
	}

	// The aws CLI and boto3 read the same status.
	needTool(t, "aws", "--version")
	out, stderr, code := runAWS(t, srv, srv.awsEnv(t, rootKeyID, rootSecret), "proton", "get-template-sync-status",
		"--template-name", "vpc", "--template-type", "ENVIRONMENT", "--template-version", "2")
	if code != 0 || !strings.Contains(out, `"status": "SUCCEEDED"`) || !strings.Contains(out, `"directory": "templates/vpc/v2"`) {
		t.Errorf("aws get-template-sync-status: %d %s %s", code, out, stderr)
	}
	needTool(t, "python3", "-c", "import boto3")
	script := `
import boto3, sys
c = boto3.client("proton", endpoint_url=sys.argv[1])
cfg = c.get_template_sync_config(templateName="api", templateType="SERVICE")["templateSyncConfig"]
st = c.get_repository_sync_status(repositoryName="org/templates", repositoryProvider="GITHUB", branch="main", syncType="TEMPLATE_SYNC")
print(cfg["subdirectory"], st["latestSync"]["status"], st["latestSync"]["startedAt"].year)
`
	cmd := exec.Command("python3", "-c", script, srv.URL())
	cmd.Env = srv.awsEnv(t, rootKeyID, rootSecret)
	if got, err := cmd.CombinedOutput(); err != nil || !strings.HasPrefix(string(got), "templates SUCCEEDED 20") {
		t.Errorf("boto3: %v %s", err, got)
	}

	// The webhook makes the server look at once.
	resp, err := http.Post(srv.URL()+"/_openproton/sync-webhook", "application/json", strings.NewReader(`{"ref":"refs/heads/main"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("webhook answered %d", resp.StatusCode)
	}

	if _, err := c.DeleteRepository(ctx, &proton.DeleteRepositoryInput{Provider: types.RepositoryProviderGithub, Name: aws.String("org/templates")}); apiCode(err) != "ConflictException" {
		t.Errorf("unlinking a repository templates sync from: %v", err)
	}

	// Deleting the configuration stops syncing.
	if _, err := c.DeleteTemplateSyncConfig(ctx, &proton.DeleteTemplateSyncConfigInput{TemplateName: aws.String("vpc"), TemplateType: types.TemplateTypeEnvironment}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetTemplateSyncConfig(ctx, &proton.GetTemplateSyncConfigInput{TemplateName: aws.String("vpc"), TemplateType: types.TemplateTypeEnvironment}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("deleted configuration: %v", err)
	}
}
