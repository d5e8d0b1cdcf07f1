package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"
)

const componentManifest = `infrastructure:
  templates:
    - file: "cloudformation.yaml"
      rendering_engine: jinja
      template_language: cloudformation
`

// componentTemplate is a CloudFormation template using the component namespace.
const componentTemplate = `Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: "{{ service_instance.name }}-{{ component.name }}-{{ service_instance.inputs.port }}"
Outputs:
  QueueName:
    Value: "{{ service_instance.name }}-{{ component.name }}"
`

func componentsWorld(t *testing.T) (*testServer, *proton.Client) {
	t.Helper()
	srv, c := quickServiceWorld(t, "dev", "prod")
	publishSvcWith(t, srv, "withcomp", codebuildSvcBundle(false), false,
		[]types.ServiceTemplateSupportedComponentSourceType{types.ServiceTemplateSupportedComponentSourceTypeDirectlyDefined}, "cb:1")
	if _, err := c.UpdateEnvironment(context.Background(), &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeNone,
		ComponentRoleArn: aws.String("arn:aws:iam::000000000000:role/component")}); err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func waitComponent(t testing.TB, c *proton.Client, name string) *types.Component {
	t.Helper()
	out, err := proton.NewComponentDeployedWaiter(c, func(o *proton.ComponentDeployedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	}).WaitForOutput(context.Background(), &proton.GetComponentInput{Name: &name}, time.Minute)
	if err != nil {
		t.Fatalf("component %s: %v", name, err)
	}
	return out.Component
}

func TestComponentRules(t *testing.T) {
	srv, admin := componentsWorld(t)
	ctx := context.Background()
	// Developers write components (and services); they cannot touch environments.
	id, secret := srv.newKey(t, accountID, "developer")
	c := srv.client(id, secret)
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeNone,
		ComponentRoleArn: aws.String("arn:aws:iam::000000000000:role/other")}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("a developer changing an environment's component role: %v", err)
	}
	for _, svc := range []struct{ name, template string }{{"plain", "api"}, {"open", "withcomp"}} {
		in := &proton.CreateServiceInput{Name: aws.String(svc.name), TemplateName: aws.String(svc.template), TemplateMajorVersion: aws.String("1"),
			Spec: svcSpec("", "a=dev", "b=prod", "c=dev")}
		if svc.template == "api" {
			in.RepositoryConnectionArn, in.RepositoryId, in.BranchName = aws.String(repoConn), aws.String("o/r"), aws.String("main")
		}
		if _, err := c.CreateService(ctx, in); err != nil {
			t.Fatal(err)
		}
		waitServiceActive(t, c, svc.name)
	}
	create := func(name, service, instance, env string) error {
		in := &proton.CreateComponentInput{Name: aws.String(name), TemplateFile: aws.String(componentTemplate), Manifest: aws.String(componentManifest)}
		if service != "" {
			in.ServiceName, in.ServiceInstanceName = aws.String(service), aws.String(instance)
		}
		if env != "" {
			in.EnvironmentName = aws.String(env)
		}
		_, err := c.CreateComponent(ctx, in)
		return err
	}
	for name, tc := range map[string]struct {
		err  error
		code string
	}{
		"half an attachment":         {create("x", "open", "", ""), "ValidationException"},
		"neither instance nor env":   {create("x", "", "", ""), "ValidationException"},
		"template without support":   {create("x", "plain", "a", ""), "ValidationException"},
		"environment without a role": {create("x", "open", "b", ""), "ValidationException"},
		"missing instance":           {create("x", "open", "zz", ""), "ResourceNotFoundException"},
		"wrong environment":          {create("x", "open", "a", "prod"), "ValidationException"},
		"codebuild manifest": {func() error {
			_, err := c.CreateComponent(ctx, &proton.CreateComponentInput{Name: aws.String("x"), EnvironmentName: aws.String("dev"),
				TemplateFile: aws.String("x"), Manifest: aws.String(svcManifest)})
			return err
		}(), "ValidationException"},
	} {
		if apiCode(tc.err) != tc.code {
			t.Errorf("%s: %v, want %s", name, tc.err, tc.code)
		}
	}

	// Attached: one per instance, blocks deleting the instance, the service and the environment.
	if err := create("att", "open", "a", ""); err != nil {
		t.Fatal(err)
	}
	if got := waitComponent(t, c, "att"); got.EnvironmentName == nil || *got.EnvironmentName != "dev" {
		t.Errorf("an attached component is in its instance's environment: %+v", got.EnvironmentName)
	}
	if err := create("second", "open", "a", ""); apiCode(err) != "ConflictException" {
		t.Errorf("a second component on one instance: %v", err)
	}
	if _, err := c.DeleteComponent(ctx, &proton.DeleteComponentInput{Name: aws.String("att")}); apiCode(err) != "ConflictException" {
		t.Errorf("delete an attached component: %v", err)
	}
	if _, err := c.UpdateService(ctx, &proton.UpdateServiceInput{Name: aws.String("open"), Spec: svcSpec("", "b=prod", "c=dev")}); apiCode(err) != "ValidationException" {
		t.Errorf("remove an instance with a component: %v", err)
	}
	if _, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("open")}); apiCode(err) != "ConflictException" {
		t.Errorf("delete a service with a component: %v", err)
	}
	if _, err := c.UpdateComponent(ctx, &proton.UpdateComponentInput{Name: aws.String("att"), DeploymentType: types.ComponentDeploymentUpdateTypeCurrentVersion,
		ServiceName: aws.String("open"), ServiceInstanceName: aws.String("c")}); apiCode(err) != "ValidationException" {
		t.Errorf("move an attached component: %v", err)
	}
	if _, err := c.UpdateComponent(ctx, &proton.UpdateComponentInput{Name: aws.String("att"), DeploymentType: types.ComponentDeploymentUpdateTypeNone,
		TemplateFile: aws.String("x")}); apiCode(err) != "ValidationException" {
		t.Errorf("NONE with a template: %v", err)
	}

	// Detach (empty names), then it may be deleted, and the service with it.
	up, err := c.UpdateComponent(ctx, &proton.UpdateComponentInput{Name: aws.String("att"), DeploymentType: types.ComponentDeploymentUpdateTypeCurrentVersion,
		ServiceName: aws.String(""), ServiceInstanceName: aws.String(""), ClientToken: aws.String("detach-1")})
	if err != nil {
		t.Fatalf("detach: %v", err)
	}
	// The detach takes effect when its deployment succeeds; until then the component holds
	// its instance.
	if aws.ToString(up.Component.ServiceInstanceName) != "a" || up.Component.DeploymentStatus != types.DeploymentStatusInProgress {
		t.Errorf("while detaching: %s attached to %q", up.Component.DeploymentStatus, aws.ToString(up.Component.ServiceInstanceName))
	}
	if detached := waitComponent(t, c, "att"); aws.ToString(detached.ServiceInstanceName) != "" || aws.ToString(detached.ServiceName) != "" {
		t.Errorf("after the detach: attached to %q/%q", aws.ToString(detached.ServiceName), aws.ToString(detached.ServiceInstanceName))
	}
	again, err := c.UpdateComponent(ctx, &proton.UpdateComponentInput{Name: aws.String("att"), DeploymentType: types.ComponentDeploymentUpdateTypeCurrentVersion,
		ServiceName: aws.String(""), ServiceInstanceName: aws.String(""), ClientToken: aws.String("detach-1")})
	if err != nil || aws.ToString(again.Component.LastAttemptedDeploymentId) != aws.ToString(up.Component.LastAttemptedDeploymentId) {
		t.Errorf("a retried update with the same token deployed again: %v", err)
	}
	if _, err := admin.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("dev")}); apiCode(err) != "ConflictException" {
		t.Errorf("delete an environment with a component: %v", err)
	}
	list, err := c.ListComponents(ctx, &proton.ListComponentsInput{EnvironmentName: aws.String("dev")})
	if err != nil || len(list.Components) != 1 || list.Components[0].ServiceName != nil && *list.Components[0].ServiceName != "" {
		t.Errorf("list components in dev: %v %+v", err, list)
	}
	if _, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("open")}); err != nil {
		t.Errorf("delete the service once the component is detached: %v", err)
	}
	del, err := c.DeleteComponent(ctx, &proton.DeleteComponentInput{Name: aws.String("att")})
	if err != nil || del.Component.DeploymentStatus != types.DeploymentStatusDeleteInProgress {
		t.Fatalf("delete a detached component: %v", err)
	}
	if err := proton.NewComponentDeletedWaiter(c, func(o *proton.ComponentDeletedWaiterOptions) { o.MinDelay = 100 * time.Millisecond }).Wait(ctx,
		&proton.GetComponentInput{Name: aws.String("att")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if gone, err := c.DeleteComponent(ctx, &proton.DeleteComponentInput{Name: aws.String("att")}); err != nil || gone.Component != nil {
		t.Errorf("delete a deleted component: %v", err)
	}

	// Detached in an environment, by client token.
	in := &proton.CreateComponentInput{Name: aws.String("loose"), EnvironmentName: aws.String("dev"), TemplateFile: aws.String(componentTemplate),
		Manifest: aws.String(componentManifest), ClientToken: aws.String("tok")}
	first, err := c.CreateComponent(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.CreateComponent(ctx, in)
	if err != nil || aws.ToString(second.Component.LastAttemptedDeploymentId) != aws.ToString(first.Component.LastAttemptedDeploymentId) {
		t.Errorf("retry with the token: %v", err)
	}
	sum, err := c.GetResourcesSummary(ctx, &proton.GetResourcesSummaryInput{})
	if err != nil || *sum.Counts.Components.Total != 1 {
		t.Errorf("summary counts components: %v %+v", err, sum)
	}
	in.Description = aws.String("other")
	if _, err := c.CreateComponent(ctx, in); apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), "IdempotentParameterMismatch") {
		t.Errorf("the token with other parameters: %v", err)
	}
}
