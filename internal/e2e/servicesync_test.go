package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/config"
)

const opsFile = `sync:
  services:
    shop:
      a:
        branch: main
        spec: ./specs/shop.yaml
      b:
        branch: main
        spec: ./specs/shop.yaml
`

func shopSpec(portA, portB int) string {
	return fmt.Sprintf("proton: ServiceSpec\ninstances:\n  - name: a\n    environment: dev\n    spec:\n      port: %d\n  - name: b\n    environment: dev\n    spec:\n      port: %d\n", portA, portB)
}

// waitInstance polls a service instance until ok says it is as wanted and its deployment ended.
func waitInstance(t *testing.T, c *proton.Client, name string, ok func(*types.ServiceInstance) bool) *types.ServiceInstance {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := c.GetServiceInstance(context.Background(), &proton.GetServiceInstanceInput{ServiceName: aws.String("shop"), Name: aws.String(name)})
		if err == nil && ok(out.ServiceInstance) && out.ServiceInstance.DeploymentStatus == types.DeploymentStatusSucceeded {
			return out.ServiceInstance
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s never as wanted: %v %+v", name, err, out)
		}
	}
}

func specHas(want string) func(*types.ServiceInstance) bool {
	return func(i *types.ServiceInstance) bool { return strings.Contains(aws.ToString(i.Spec), want) }
}

// TestServiceSync: a proton-ops file in a real git repository creates and updates a
// service's instances from their spec files; a manual change puts up a blocker that
// stops syncing that instance until it is resolved.
func TestServiceSync(t *testing.T) {
	base := t.TempDir()
	repo := newTemplateRepo(t, base, "org/ops")
	srv := startServerWith(t, func(c *config.Server) {
		c.Provisioner, c.RepositoryURLs, c.SyncPoll = "noop", "GITHUB="+base, 100*time.Millisecond
	})
	c := srv.admin()
	ctx := context.Background()
	publishEnv(t, srv, "cb", "", codebuildEnvBundle(), "")
	if _, err := createCB(c, "dev", "  team: platform\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := waitDeployed(t, c, "dev", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	publishSvc(t, srv, "api", codebuildSvcBundle(false), false, "cb:1")
	if _, err := c.CreateService(ctx, &proton.CreateServiceInput{Name: aws.String("shop"), TemplateName: aws.String("api"),
		TemplateMajorVersion: aws.String("1"), Spec: svcSpec("", "a=dev:{port: 70}")}); err != nil {
		t.Fatal(err)
	}
	waitServiceActive(t, c, "shop")
	linkRepo(t, c, types.RepositoryProviderGithub, "org/ops")
	repo.commit("ops", map[string]string{"proton-ops.yaml": opsFile, "specs/shop.yaml": shopSpec(81, 82)})
	in := &proton.CreateServiceSyncConfigInput{ServiceName: aws.String("shop"), RepositoryProvider: types.RepositoryProviderGithub,
		RepositoryName: aws.String("org/ops"), Branch: aws.String("main"), FilePath: aws.String("./proton-ops.yaml")}
	created, err := c.CreateServiceSyncConfig(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.ServiceSyncConfig.FilePath) != "proton-ops.yaml" {
		t.Errorf("file path %q", aws.ToString(created.ServiceSyncConfig.FilePath))
	}
	if _, err := c.CreateServiceSyncConfig(ctx, in); apiCode(err) != "ConflictException" {
		t.Errorf("a second configuration: %v", err)
	}

	// b is created, a updated to its spec file entry.
	waitInstance(t, c, "b", specHas("port: 82"))
	waitInstance(t, c, "a", specHas("port: 81"))
	st, err := c.GetServiceInstanceSyncStatus(ctx, &proton.GetServiceInstanceSyncStatusInput{ServiceName: aws.String("shop"), ServiceInstanceName: aws.String("b")})
	if err != nil || st.LatestSync == nil || st.LatestSync.Status != types.ResourceSyncStatusSucceeded || aws.ToString(st.DesiredState.Directory) != "specs/shop.yaml" {
		t.Errorf("sync status of b: %v %+v", err, st)
	}
	if sum, err := c.GetServiceSyncBlockerSummary(ctx, &proton.GetServiceSyncBlockerSummaryInput{ServiceName: aws.String("shop"),
		ServiceInstanceName: aws.String("b")}); err != nil || len(sum.ServiceSyncBlockerSummary.LatestBlockers) != 0 {
		t.Errorf("changes made by sync put up blockers: %v %+v", err, sum)
	}

	// A manual update of a: a blocker; the next push updates b but leaves a alone.
	if _, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("shop"), Name: aws.String("a"),
		DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: svcSpec("", "a=dev:{port: 75}")}); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, c, "a", specHas("port: 75"))
	sum, err := c.GetServiceSyncBlockerSummary(ctx, &proton.GetServiceSyncBlockerSummaryInput{ServiceName: aws.String("shop"), ServiceInstanceName: aws.String("a")})
	if err != nil || len(sum.ServiceSyncBlockerSummary.LatestBlockers) != 1 || sum.ServiceSyncBlockerSummary.LatestBlockers[0].Status != types.BlockerStatusActive {
		t.Fatalf("blocker after a manual update: %v %+v", err, sum)
	}
	blocker := sum.ServiceSyncBlockerSummary.LatestBlockers[0]
	repo.commit("bump", map[string]string{"specs/shop.yaml": shopSpec(90, 91)})
	waitInstance(t, c, "b", specHas("port: 91"))
	time.Sleep(500 * time.Millisecond)
	if i := waitInstance(t, c, "a", specHas("port: 75")); strings.Contains(aws.ToString(i.Spec), "port: 90") {
		t.Errorf("a blocked instance was synced: %q", aws.ToString(i.Spec))
	}
	st, err = c.GetServiceInstanceSyncStatus(ctx, &proton.GetServiceInstanceSyncStatusInput{ServiceName: aws.String("shop"), ServiceInstanceName: aws.String("a")})
	if err != nil || st.LatestSync == nil || st.LatestSync.Status != types.ResourceSyncStatusFailed {
		t.Errorf("sync status of a blocked instance: %v %+v", err, st)
	}

	// Resolved: a follows its spec file again.
	res, err := c.UpdateServiceSyncBlocker(ctx, &proton.UpdateServiceSyncBlockerInput{Id: blocker.Id, ResolvedReason: aws.String("take it back")})
	if err != nil || res.ServiceSyncBlocker.Status != types.BlockerStatusResolved || aws.ToString(res.ServiceInstanceName) != "a" {
		t.Fatalf("resolve: %v %+v", err, res)
	}
	waitInstance(t, c, "a", specHas("port: 90")) // at once, without another push
	rs, err := c.GetRepositorySyncStatus(ctx, &proton.GetRepositorySyncStatusInput{RepositoryName: aws.String("org/ops"),
		RepositoryProvider: types.RepositoryProviderGithub, Branch: aws.String("main"), SyncType: types.SyncTypeServiceSync})
	if err != nil || rs.LatestSync == nil || rs.LatestSync.Status != types.RepositorySyncStatusSucceeded {
		t.Errorf("repository sync status for service sync: %v %+v", err, rs)
	}
	if _, err := c.DeleteRepository(ctx, &proton.DeleteRepositoryInput{Provider: types.RepositoryProviderGithub, Name: aws.String("org/ops")}); apiCode(err) != "ConflictException" {
		t.Errorf("unlinking a repository a service syncs from: %v", err)
	}

	defs, err := c.ListRepositorySyncDefinitions(ctx, &proton.ListRepositorySyncDefinitionsInput{RepositoryName: aws.String("org/ops"),
		RepositoryProvider: types.RepositoryProviderGithub, SyncType: types.SyncTypeServiceSync})
	if err != nil || len(defs.SyncDefinitions) != 1 || aws.ToString(defs.SyncDefinitions[0].Target) != "shop" {
		t.Errorf("service sync definitions: %v %+v", err, defs)
	}
	if _, err := c.DeleteServiceSyncConfig(ctx, &proton.DeleteServiceSyncConfigInput{ServiceName: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetServiceSyncConfig(ctx, &proton.GetServiceSyncConfigInput{ServiceName: aws.String("shop")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("deleted configuration: %v", err)
	}
}
