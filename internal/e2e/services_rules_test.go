package e2e

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/config"
)

// quickServiceWorld is serviceWorld on the noop provisioner: deployments succeed at once.
func quickServiceWorld(t *testing.T, envs ...string) (*testServer, *proton.Client) {
	t.Helper()
	srv := startServerWith(t, func(c *config.Server) { c.Provisioner = "noop" })
	c := srv.admin()
	publishEnv(t, srv, "cb", "", codebuildEnvBundle(), "")
	for _, env := range envs {
		if _, err := createCB(c, env, "  team: "+env+"-team\n"); err != nil {
			t.Fatalf("create %s: %v", env, err)
		}
		if _, err := waitDeployed(t, c, env, 30*time.Second); err != nil {
			t.Fatalf("environment %s: %v", env, err)
		}
	}
	if _, err := c.UpdateAccountSettings(context.Background(), &proton.UpdateAccountSettingsInput{
		PipelineCodebuildRoleArn: aws.String("arn:aws:iam::000000000000:role/pipeline-codebuild")}); err != nil {
		t.Fatal(err)
	}
	publishSvc(t, srv, "api", codebuildSvcBundle(true), true, "cb:1")
	return srv, c
}

func waitServiceActive(t testing.TB, c *proton.Client, name string) *types.Service {
	t.Helper()
	out, err := proton.NewServiceCreatedWaiter(c, fastService).WaitForOutput(context.Background(), &proton.GetServiceInput{Name: &name}, time.Minute)
	if err != nil {
		s := getSvc(t, c, name)
		t.Fatalf("service %s: %v (%s: %s)", name, err, s.Status, aws.ToString(s.StatusMessage))
	}
	return out.Service
}

func TestInvalidServiceRequestsChangeNothing(t *testing.T) {
	srv, c := quickServiceWorld(t, "dev")
	ctx := context.Background()
	publishEnv(t, srv, "other", "", codebuildEnvBundle(), "")
	publishSvc(t, srv, "solo", codebuildSvcBundle(false), false, "cb:1")
	publishSvc(t, srv, "elsewhere", codebuildSvcBundle(true), true, "other:1")

	create := func(template string, specText *string, withRepo bool) error {
		in := &proton.CreateServiceInput{Name: aws.String("bad"), TemplateName: aws.String(template), TemplateMajorVersion: aws.String("1"), Spec: specText}
		if withRepo {
			in.RepositoryConnectionArn, in.RepositoryId, in.BranchName = aws.String(repoConn), aws.String("org/api"), aws.String("main")
		}
		_, err := c.CreateService(ctx, in)
		return err
	}
	cases := []struct {
		name, code, mention string
		err                 error
	}{
		{"environment spec", "ValidationException", "ServiceSpec", create("api", spec("  team: x\n"), true)},
		{"no instances", "ValidationException", "at least one instance", create("api", aws.String("proton: ServiceSpec\npipeline: {}\n"), true)},
		{"unknown environment", "ResourceNotFoundException", "nowhere", create("api", svcSpec("", "a=nowhere"), true)},
		{"incompatible environment", "ValidationException", "compatible", create("elsewhere", svcSpec("", "a=dev"), true)},
		{"pipeline without repository", "ValidationException", "repositoryConnectionArn", create("api", svcSpec("", "a=dev"), false)},
		{"repository without pipeline", "ValidationException", "no pipeline", create("solo", svcSpec("", "a=dev"), true)},
		{"pipeline inputs without pipeline", "ValidationException", "pipeline", create("solo", svcSpec("  test_command: x\n", "a=dev"), false)},
		{"bad instance input", "ValidationException", "port", create("api", svcSpec("", "a=dev:{port: lots}"), true)},
		{"bad enum", "ValidationException", "mode", create("api", svcSpec("", "a=dev:{mode: sideways}"), true)},
		{"bad pipeline input", "ValidationException", "test_command", create("api", svcSpec("  test_command: [1, 2]\n", "a=dev"), true)},
		{"duplicate instance", "ValidationException", "twice", create("api", svcSpec("", "a=dev", "a=dev"), true)},
		{"unknown template", "ResourceNotFoundException", "nope", create("nope", svcSpec("", "a=dev"), true)},
	}
	_, err := c.CreateServiceInstance(ctx, &proton.CreateServiceInstanceInput{ServiceName: aws.String("ghost"), Name: aws.String("a"), Spec: svcSpec("", "a=dev")})
	cases = append(cases, struct {
		name, code, mention string
		err                 error
	}{"instance of a missing service", "ResourceNotFoundException", "ghost", err})
	for _, tc := range cases {
		if apiCode(tc.err) != tc.code || !strings.Contains(tc.err.Error(), tc.mention) {
			t.Errorf("%s: %v, want %s mentioning %q", tc.name, tc.err, tc.code, tc.mention)
		}
	}

	// A good service, then bad changes to it.
	if _, err := createAPI(c, "good", svcSpec("", "a=dev")); err != nil {
		t.Fatal(err)
	}
	waitServiceActive(t, c, "good")
	for name, err := range map[string]error{
		"instance not in spec": func() error {
			_, err := c.CreateServiceInstance(ctx, &proton.CreateServiceInstanceInput{ServiceName: aws.String("good"), Name: aws.String("b"), Spec: svcSpec("", "a=dev")})
			return err
		}(),
		"remove every instance": func() error {
			_, err := c.UpdateService(ctx, &proton.UpdateServiceInput{Name: aws.String("good"), Spec: aws.String("proton: ServiceSpec\ninstances: []\n")})
			return err
		}(),
		"change the pipeline": func() error {
			_, err := c.UpdateService(ctx, &proton.UpdateServiceInput{Name: aws.String("good"), Spec: svcSpec("  test_command: other\n", "a=dev")})
			return err
		}(),
		"move an instance": func() error {
			_, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("good"), Name: aws.String("a"),
				DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: svcSpec("", "a=other-env")})
			return err
		}(),
		"NONE with a spec": func() error {
			_, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("good"), Name: aws.String("a"),
				DeploymentType: types.DeploymentUpdateTypeNone, Spec: svcSpec("", "a=dev")})
			return err
		}(),
		"MAJOR_VERSION without a higher major": func() error {
			_, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("good"), Name: aws.String("a"),
				DeploymentType: types.DeploymentUpdateTypeMajorVersion})
			return err
		}(),
	} {
		if apiCode(err) != "ValidationException" {
			t.Errorf("%s: %v, want ValidationException", name, err)
		}
	}

	list, err := c.ListServices(ctx, &proton.ListServicesInput{})
	if err != nil || len(list.Services) != 1 {
		t.Fatalf("services after the bad requests: %v %+v, want only good", err, list)
	}
	insts, err := c.ListServiceInstances(ctx, &proton.ListServiceInstancesInput{})
	if err != nil || len(insts.ServiceInstances) != 1 {
		t.Errorf("instances after the bad requests: %v, %d", err, len(insts.ServiceInstances))
	}
	deps, err := c.ListDeployments(ctx, &proton.ListDeploymentsInput{ServiceName: aws.String("good")})
	if err != nil || len(deps.Deployments) != 2 {
		t.Errorf("deployments of good: %v, %d, want the instance's and the pipeline's", err, len(deps.Deployments))
	}
	if s := getSvc(t, c, "good"); s.Status != types.ServiceStatusActive || aws.ToString(s.Spec) != aws.ToString(svcSpec("", "a=dev")) {
		t.Errorf("good changed: %s %q", s.Status, aws.ToString(s.Spec))
	}
}

func TestServiceWithoutPipeline(t *testing.T) {
	srv, c := quickServiceWorld(t, "dev")
	ctx := context.Background()
	publishSvc(t, srv, "solo", codebuildSvcBundle(false), false, "cb:1")
	if _, err := c.CreateService(ctx, &proton.CreateServiceInput{Name: aws.String("worker"), TemplateName: aws.String("solo"),
		TemplateMajorVersion: aws.String("1"), Spec: svcSpec("", "only=dev")}); err != nil {
		t.Fatal(err)
	}
	s := waitServiceActive(t, c, "worker")
	if s.Pipeline != nil {
		t.Errorf("a service without a pipeline shows %+v", s.Pipeline)
	}
	if _, err := c.UpdateServicePipeline(ctx, &proton.UpdateServicePipelineInput{ServiceName: aws.String("worker"), Spec: svcSpec("", "only=dev"),
		DeploymentType: types.DeploymentUpdateTypeCurrentVersion}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("update the pipeline of a service without one: %v", err)
	}
	if _, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("worker")}); err != nil {
		t.Fatal(err)
	}
	if err := proton.NewServiceDeletedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInput{Name: aws.String("worker")}, time.Minute); err != nil {
		t.Fatal(err)
	}
}

func TestServiceInstanceFailureAndCancel(t *testing.T) {
	_, c := serviceWorld(t)
	ctx := context.Background()
	if _, err := createAPI(c, "flaky", svcSpec("", "good=dev", "bad=prod:{mode: fail}")); err != nil {
		t.Fatal(err)
	}
	_, err := proton.NewServiceCreatedWaiter(c, fastService).WaitForOutput(ctx, &proton.GetServiceInput{Name: aws.String("flaky")}, 2*time.Minute)
	s := getSvc(t, c, "flaky")
	if err == nil || s.Status != types.ServiceStatusCreateFailed || !strings.Contains(aws.ToString(s.StatusMessage), "bad") {
		t.Fatalf("ServiceCreated with a failing instance: %v; %s %q", err, s.Status, aws.ToString(s.StatusMessage))
	}
	if s.Pipeline.DeploymentStatus != types.DeploymentStatusFailed || aws.ToString(s.Pipeline.LastAttemptedDeploymentId) != "" {
		t.Errorf("the pipeline of a failed create: %s, deployment %q; want FAILED without a deployment", s.Pipeline.DeploymentStatus, aws.ToString(s.Pipeline.LastAttemptedDeploymentId))
	}
	bad, err := c.GetServiceInstance(ctx, &proton.GetServiceInstanceInput{ServiceName: aws.String("flaky"), Name: aws.String("bad")})
	if err != nil || bad.ServiceInstance.DeploymentStatus != types.DeploymentStatusFailed || !strings.Contains(aws.ToString(bad.ServiceInstance.DeploymentStatusMessage), "instance went boom") {
		t.Fatalf("bad instance: %v %+v", err, bad)
	}

	// Fix the instance, then start a slow update and cancel it: the spec comes back.
	fixed := svcSpec("", "bad=prod:{mode: ok, port: 81}")
	if _, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("flaky"), Name: aws.String("bad"),
		DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: fixed}); err != nil {
		t.Fatal(err)
	}
	if err := proton.NewServiceInstanceDeployedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInstanceInput{ServiceName: aws.String("flaky"),
		Name: aws.String("bad")}, time.Minute); err != nil {
		t.Fatalf("fixed instance: %v", err)
	}
	if _, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("flaky"), Name: aws.String("bad"),
		DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: svcSpec("", "bad=prod:{mode: slow}")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("flaky"), Name: aws.String("bad"),
		DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: fixed}); apiCode(err) != "ConflictException" {
		t.Errorf("update during a deployment: %v, want ConflictException", err)
	}
	if _, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("flaky")}); apiCode(err) != "ConflictException" {
		t.Errorf("delete during an instance deployment: %v, want ConflictException", err)
	}
	time.Sleep(500 * time.Millisecond)
	cancelled, err := c.CancelServiceInstanceDeployment(ctx, &proton.CancelServiceInstanceDeploymentInput{ServiceName: aws.String("flaky"), ServiceInstanceName: aws.String("bad")})
	if err != nil || cancelled.ServiceInstance.DeploymentStatus != types.DeploymentStatusCancelling {
		t.Fatalf("cancel: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var got *types.ServiceInstance
	for time.Now().Before(deadline) {
		out, err := c.GetServiceInstance(ctx, &proton.GetServiceInstanceInput{ServiceName: aws.String("flaky"), Name: aws.String("bad")})
		if err != nil {
			t.Fatal(err)
		}
		if got = out.ServiceInstance; got.DeploymentStatus == types.DeploymentStatusCancelled {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.DeploymentStatus != types.DeploymentStatusCancelled || aws.ToString(got.Spec) != aws.ToString(fixed) {
		t.Errorf("after cancel: %s with spec %q, want CANCELLED with the spec restored", got.DeploymentStatus, aws.ToString(got.Spec))
	}
	if _, err := c.CancelServiceInstanceDeployment(ctx, &proton.CancelServiceInstanceDeploymentInput{ServiceName: aws.String("flaky"),
		ServiceInstanceName: aws.String("bad")}); apiCode(err) != "ConflictException" {
		t.Errorf("cancel with nothing in progress: %v", err)
	}
	if _, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("flaky")}); err != nil {
		t.Fatal(err)
	}
	if err := proton.NewServiceDeletedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInput{Name: aws.String("flaky")}, 2*time.Minute); err != nil {
		t.Fatalf("ServiceDeleted: %v", err)
	}
}

func TestServiceInstanceIdempotencyAndDeveloperRole(t *testing.T) {
	srv, admin := quickServiceWorld(t, "dev")
	ctx := context.Background()
	id, secret := srv.newKey(t, accountID, "developer")
	c := srv.client(id, secret)
	if _, err := createCB(c, "dev2", "  team: x\n"); apiCode(err) != "AccessDeniedException" {
		t.Errorf("a developer creating an environment: %v", err)
	}
	if _, err := createAPI(c, "svc", svcSpec("", "a=dev")); err != nil {
		t.Fatalf("a developer creating a service: %v", err)
	}
	waitServiceActive(t, c, "svc")

	in := &proton.CreateServiceInstanceInput{ServiceName: aws.String("svc"), Name: aws.String("b"), Spec: svcSpec("", "b=dev:{port: 1}"),
		ClientToken: aws.String("tok-1")}
	first, err := c.CreateServiceInstance(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateServiceInstance(ctx, in)
	if err != nil || aws.ToString(again.ServiceInstance.LastAttemptedDeploymentId) != aws.ToString(first.ServiceInstance.LastAttemptedDeploymentId) {
		t.Errorf("a retry with the same token: %v", err)
	}
	other := *in
	other.Spec = svcSpec("", "b=dev:{port: 2}")
	if _, err := c.CreateServiceInstance(ctx, &other); apiCode(err) != "ValidationException" {
		t.Errorf("the token with other parameters: %v", err)
	}
	noToken := *in
	noToken.ClientToken = nil
	if _, err := c.CreateServiceInstance(ctx, &noToken); apiCode(err) != "ConflictException" {
		t.Errorf("a second instance of the same name: %v", err)
	}

	// 10 identical concurrent creates with one token make one instance and one deployment.
	conc := &proton.CreateServiceInstanceInput{ServiceName: aws.String("svc"), Name: aws.String("c"), Spec: svcSpec("", "c=dev"), ClientToken: aws.String("tok-2")}
	var wg sync.WaitGroup
	ids := make([]string, 10)
	errs := make([]error, 10)
	for k := range ids {
		wg.Go(func() {
			out, err := c.CreateServiceInstance(ctx, conc)
			errs[k] = err
			if err == nil {
				ids[k] = aws.ToString(out.ServiceInstance.LastAttemptedDeploymentId)
			}
		})
	}
	wg.Wait()
	for k := range ids {
		if errs[k] != nil || ids[k] != ids[0] {
			t.Errorf("concurrent create %d: %v, deployment %s vs %s", k, errs[k], ids[k], ids[0])
		}
	}
	deps, err := admin.ListDeployments(ctx, &proton.ListDeploymentsInput{ServiceName: aws.String("svc"), ServiceInstanceName: aws.String("c")})
	if err != nil || len(deps.Deployments) != 1 {
		t.Errorf("deployments of c: %v %d, want 1", err, len(deps.Deployments))
	}
	for _, name := range []string{"b", "c"} {
		if err := proton.NewServiceInstanceDeployedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInstanceInput{ServiceName: aws.String("svc"),
			Name: aws.String(name)}, time.Minute); err != nil {
			t.Fatalf("instance %s: %v", name, err)
		}
	}
	if _, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("svc")}); err != nil {
		t.Fatalf("a developer deleting a service: %v", err)
	}
}

// fixedWidth formats times so that they sort as strings.
const fixedWidth = "2006-01-02T15:04:05.000000000Z"

func TestListServiceInstancesOrdersAndFilters(t *testing.T) {
	_, c := quickServiceWorld(t, "dev", "prod")
	ctx := context.Background()
	layout := map[string][]string{
		"alpha": {"zeta=dev", "eta=prod", "beta=dev"},
		"bravo": {"beta=prod", "alpha=dev"},
		"carol": {"mid=prod", "aaa=dev", "zzz=prod", "beta=dev"},
	}
	for _, svc := range []string{"carol", "alpha", "bravo"} {
		if _, err := createAPI(c, svc, svcSpec("", layout[svc]...)); err != nil {
			t.Fatal(err)
		}
		waitServiceActive(t, c, svc)
	}
	list := func(in proton.ListServiceInstancesInput) []types.ServiceInstanceSummary {
		t.Helper()
		in.MaxResults = aws.Int32(2)
		var all []types.ServiceInstanceSummary
		p := proton.NewListServiceInstancesPaginator(c, &in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("list %+v: %v", in, err)
			}
			all = append(all, page.ServiceInstances...)
		}
		return all
	}
	all := list(proton.ListServiceInstancesInput{})
	if len(all) != 9 {
		t.Fatalf("%d instances listed, want 9", len(all))
	}
	key := func(sortBy types.ListServiceInstancesSortBy, i types.ServiceInstanceSummary) string {
		switch sortBy {
		case types.ListServiceInstancesSortByName:
			return aws.ToString(i.Name)
		case types.ListServiceInstancesSortByEnvironmentName:
			return aws.ToString(i.EnvironmentName)
		case types.ListServiceInstancesSortByTemplateName:
			return aws.ToString(i.TemplateName)
		case types.ListServiceInstancesSortByDeploymentStatus:
			return string(i.DeploymentStatus)
		case types.ListServiceInstancesSortByCreatedAt:
			return i.CreatedAt.UTC().Format(fixedWidth)
		case types.ListServiceInstancesSortByLastDeploymentAttemptedAt:
			return i.LastDeploymentAttemptedAt.UTC().Format(fixedWidth)
		}
		return aws.ToString(i.ServiceName)
	}
	for _, sortBy := range append(types.ListServiceInstancesSortBy("").Values(), "") {
		for _, order := range []types.SortOrder{types.SortOrderAscending, types.SortOrderDescending} {
			got := list(proton.ListServiceInstancesInput{SortBy: sortBy, SortOrder: order})
			want := slices.Clone(all)
			timeKey := sortBy == types.ListServiceInstancesSortByCreatedAt || sortBy == types.ListServiceInstancesSortByLastDeploymentAttemptedAt
			slices.SortStableFunc(want, func(a, b types.ServiceInstanceSummary) int {
				r := cmp.Compare(key(sortBy, a), key(sortBy, b))
				if r == 0 && !timeKey { // times tie only at the wire's precision: their order is the database's
					r = cmp.Or(cmp.Compare(aws.ToString(a.ServiceName), aws.ToString(b.ServiceName)), cmp.Compare(aws.ToString(a.Name), aws.ToString(b.Name)))
				}
				if order == types.SortOrderDescending {
					r = -r
				}
				return r
			})
			if len(got) != len(want) {
				t.Fatalf("sortBy %q %s: %d rows, want %d", sortBy, order, len(got), len(want))
			}
			seen := map[string]bool{}
			for k := range got {
				if key(sortBy, got[k]) != key(sortBy, want[k]) || (!timeKey && aws.ToString(got[k].Arn) != aws.ToString(want[k].Arn)) {
					t.Errorf("sortBy %q %s: row %d is %s, want %s", sortBy, order, k, aws.ToString(got[k].Arn), aws.ToString(want[k].Arn))
					break
				}
				seen[aws.ToString(got[k].Arn)] = true
			}
			if len(seen) != len(all) {
				t.Errorf("sortBy %q %s: %d distinct rows over the pages, want %d", sortBy, order, len(seen), len(all))
			}
		}
	}

	count := func(in proton.ListServiceInstancesInput) int { return len(list(in)) }
	f := func(k types.ListServiceInstancesFilterBy, v string) types.ListServiceInstancesFilter {
		return types.ListServiceInstancesFilter{Key: k, Value: aws.String(v)}
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for name, tc := range map[string]struct {
		in   proton.ListServiceInstancesInput
		want int
	}{
		"serviceName parameter":   {proton.ListServiceInstancesInput{ServiceName: aws.String("carol")}, 4},
		"environment dev":         {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("environmentName", "dev")}}, 5},
		"two services":            {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("serviceName", "alpha"), f("serviceName", "bravo")}}, 5},
		"name beta in prod":       {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("name", "beta"), f("environmentName", "prod")}}, 1},
		"succeeded":               {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("deploymentStatus", "SUCCEEDED")}}, 9},
		"failed":                  {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("deploymentStatus", "FAILED")}}, 0},
		"template":                {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("templateName", "api")}}, 9},
		"published version":       {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("deployedTemplateVersionStatus", "PUBLISHED")}}, 9},
		"draft version":           {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("deployedTemplateVersionStatus", "DRAFT")}}, 0},
		"created before the hour": {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("createdAtBefore", future)}}, 9},
		"created after the hour":  {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("createdAtAfter", future)}}, 0},
		"attempted after":         {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("lastDeploymentAttemptedAtAfter", past)}}, 9},
		"attempted before":        {proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("lastDeploymentAttemptedAtBefore", past)}}, 0},
		"service param and other": {proton.ListServiceInstancesInput{ServiceName: aws.String("carol"), Filters: []types.ListServiceInstancesFilter{f("serviceName", "alpha")}}, 0},
	} {
		if got := count(tc.in); got != tc.want {
			t.Errorf("%s: %d instances, want %d", name, got, tc.want)
		}
	}
	_, err := c.ListServiceInstances(ctx, &proton.ListServiceInstancesInput{Filters: []types.ListServiceInstancesFilter{f("createdAtAfter", "yesterday")}})
	if apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), "createdAtAfter") {
		t.Errorf("a bad time filter: %v", err)
	}
	page, err := c.ListServiceInstances(ctx, &proton.ListServiceInstancesInput{MaxResults: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListServiceInstances(ctx, &proton.ListServiceInstancesInput{NextToken: page.NextToken, SortBy: "name"}); apiCode(err) != "ValidationException" {
		t.Errorf("a page token of another listing: %v", err)
	}
}

func TestUpdateServiceSpecRules(t *testing.T) {
	srv, c := quickServiceWorld(t, "dev", "prod")
	ctx := context.Background()
	if _, err := createAPI(c, "svc", svcSpec("", "a=dev")); err != nil {
		t.Fatal(err)
	}
	waitServiceActive(t, c, "svc")

	// The same instances written differently deploy nothing and leave the service ACTIVE.
	reworded := aws.String(*svcSpec("", "a=dev") + "# a comment\n")
	out, err := c.UpdateService(ctx, &proton.UpdateServiceInput{Name: aws.String("svc"), Spec: reworded})
	if err != nil || out.Service.Status != types.ServiceStatusActive || aws.ToString(out.Service.Spec) != *reworded {
		t.Fatalf("a reworded spec: %v %+v", err, out)
	}

	// An instance added alone is kept by an UpdateService that lists it as it was created.
	if _, err := c.CreateServiceInstance(ctx, &proton.CreateServiceInstanceInput{ServiceName: aws.String("svc"), Name: aws.String("b"),
		Spec: svcSpec("", "b=prod:{port: 9000}")}); err != nil {
		t.Fatal(err)
	}
	if err := proton.NewServiceInstanceDeployedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInstanceInput{ServiceName: aws.String("svc"),
		Name: aws.String("b")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateService(ctx, &proton.UpdateServiceInput{Name: aws.String("svc"), Spec: svcSpec("", "a=dev", "b=prod:{port: 9000}", "c=dev")}); err != nil {
		t.Fatalf("keep b, add c: %v", err)
	}
	if err := proton.NewServiceUpdatedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInput{Name: aws.String("svc")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if names := instanceNames(t, c, "svc"); !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("instances %v", names)
	}

	// The summary counts them, up to date, then behind a new minor version.
	summary := func() *types.CountsSummary {
		out, err := c.GetResourcesSummary(ctx, &proton.GetResourcesSummaryInput{})
		if err != nil {
			t.Fatal(err)
		}
		return out.Counts
	}
	n := summary()
	if *n.Services.Total != 1 || *n.Services.UpToDate != 1 || *n.ServiceInstances.Total != 3 || *n.ServiceInstances.UpToDate != 3 ||
		*n.Pipelines.Total != 1 || *n.Pipelines.UpToDate != 1 {
		t.Errorf("summary: services %+v instances %+v pipelines %+v", *n.Services, *n.ServiceInstances, *n.Pipelines)
	}
	publishSvcMinor(t, srv, "api", codebuildSvcBundle(true), "cb:1")
	n = summary()
	if *n.Services.BehindMinor != 1 || *n.ServiceInstances.BehindMinor != 3 || *n.Pipelines.BehindMinor != 1 {
		t.Errorf("summary after a new minor: services %+v instances %+v pipelines %+v", *n.Services, *n.ServiceInstances, *n.Pipelines)
	}

	// Proton's quota: 20 instances per service.
	var many []string
	for k := range 21 {
		many = append(many, fmt.Sprintf("i%02d=dev", k))
	}
	if _, err := createAPI(c, "big", svcSpec("", many...)); apiCode(err) != "ServiceQuotaExceededException" {
		t.Errorf("21 instances: %v", err)
	}
}

func TestConcurrentServicesShareEnvironments(t *testing.T) {
	_, c := quickServiceWorld(t, "dev", "prod")
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for k := range errs {
		wg.Go(func() {
			order := []string{"a=dev", "b=prod"}
			if k%2 == 1 {
				order = []string{"a=prod", "b=dev"}
			}
			_, errs[k] = createAPI(c, fmt.Sprintf("svc-%02d", k), svcSpec("", order...))
		})
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Errorf("create %d: %v", k, err)
		}
	}
	for k := range errs {
		waitServiceActive(t, c, fmt.Sprintf("svc-%02d", k))
	}
}
