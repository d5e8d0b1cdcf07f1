package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/provision/cloudformation/cfntest"
)

const cfnEnvManifest = `infrastructure:
  templates:
    - file: "cloudformation.yaml"
      rendering_engine: jinja
      template_language: cloudformation
`

const cfnEnvTemplate = `Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
      Tags:
        - Key: team
          Value: "{{ environment.inputs.team }}"
{%- if environment.inputs.mode == "fail" %}
      TestFail: "The CIDR block 10.0.0.0/16 overlaps"
{%- elif environment.inputs.mode == "slow" %}
      TestHang: true
{%- endif %}
Outputs:
  VpcName:
    Value: "{{ environment.name }}-vpc-{{ environment.inputs.size }}"
  VpcId:
    Value: !Ref Vpc
`

const cfnInstanceTemplate = `Resources:
  Service:
    Type: AWS::ECS::Service
    Properties:
      Cluster: "{{ environment.outputs.VpcName }}"
      Port: {{ service_instance.inputs.port }}
      Queue: "{{ service_instance.components.default.outputs.QueueName | default('no-queue') }}"
Outputs:
  Endpoint:
    Value: "{{ service.name }}.{{ service_instance.name }}:{{ service_instance.inputs.port }}"
  SawQueue:
    Value: "{{ service_instance.components.default.outputs.QueueName | default('no-queue') }}"
`

const (
	envRole  = "arn:aws:iam::000000000000:role/proton-service"
	compRole = "arn:aws:iam::000000000000:role/component"
)

// TestCloudFormationDeployments deploys an environment, a service instance and an attached
// component through the CloudFormation provisioner against an in-process CloudFormation
// double: rendered templates, stacks, outputs, provisioned resources, roles, updates,
// failure and deletion.
func TestCloudFormationDeployments(t *testing.T) {
	cfn, srv := cloudFormationWorld(t)
	c := srv.admin()
	ctx := context.Background()
	publishEnv(t, srv, "vpc", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: cfnEnvManifest},
		{Name: "infrastructure/cloudformation.yaml", Body: cfnEnvTemplate}}, "")

	createEnv := func(name, inputs, role string) error {
		in := &proton.CreateEnvironmentInput{Name: aws.String(name), TemplateName: aws.String("vpc"), TemplateMajorVersion: aws.String("1"),
			Spec: spec(inputs), ComponentRoleArn: aws.String(compRole)}
		if role != "" {
			in.ProtonServiceRoleArn = aws.String(role)
		}
		_, err := c.CreateEnvironment(ctx, in)
		return err
	}
	if err := createEnv("norole", "  team: web\n", ""); apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), "protonServiceRoleArn") {
		t.Errorf("a CloudFormation environment without a service role: %v", err)
	}
	if err := createEnv("dev", "  team: web\n", envRole); err != nil {
		t.Fatal(err)
	}
	env, err := waitDeployed(t, c, "dev", time.Minute)
	if err != nil {
		t.Fatalf("environment: %v (%s)", err, aws.ToString(env.DeploymentStatusMessage))
	}
	out := outputs(t, c, "dev", nil)
	if out["VpcName"] != "dev-vpc-3" || out["VpcId"] == "" {
		t.Errorf("environment outputs %v: want the stack's outputs", out)
	}
	creates := cfn.Calls("CreateStack")
	if len(creates) != 1 || !strings.Contains(creates[0].Params.Get("TemplateBody"), `Value: "web"`) ||
		strings.Contains(creates[0].Params.Get("TemplateBody"), "{{") || creates[0].AccessKeyID != cfntest.AssumedAccessKeyID {
		t.Fatalf("CreateStack calls %+v: want one, with the rendered template, signed with the assumed role", creates)
	}
	if roles := cfn.Calls("AssumeRole"); len(roles) == 0 || roles[0].Params.Get("RoleArn") != envRole {
		t.Errorf("AssumeRole calls %+v, want the environment's protonServiceRoleArn", roles)
	}
	res, err := c.ListEnvironmentProvisionedResources(ctx, &proton.ListEnvironmentProvisionedResourcesInput{EnvironmentName: aws.String("dev")})
	if err != nil || len(res.ProvisionedResources) != 1 || aws.ToString(res.ProvisionedResources[0].Name) != "Vpc" ||
		res.ProvisionedResources[0].ProvisioningEngine != types.ProvisionedResourceEngineCloudformation || aws.ToString(res.ProvisionedResources[0].Identifier) != out["VpcId"] {
		t.Errorf("provisioned resources: %v %+v", err, res)
	}

	// An update that fails rolls the stack back; the environment keeps its spec and outputs.
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  team: web\n  mode: fail\n")}); err != nil {
		t.Fatal(err)
	}
	env, _ = waitDeployed(t, c, "dev", time.Minute)
	if env.DeploymentStatus != types.DeploymentStatusFailed || !strings.Contains(aws.ToString(env.DeploymentStatusMessage), "overlaps") ||
		strings.Contains(aws.ToString(env.Spec), "fail") {
		t.Errorf("failed update: %s %q, spec %q", env.DeploymentStatus, aws.ToString(env.DeploymentStatusMessage), aws.ToString(env.Spec))
	}
	// A cancelled update stops the stack update (CancelUpdateStack) and is CANCELLED.
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  team: web\n  mode: slow\n")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); len(cfn.Calls("UpdateStack")) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the slow update never reached CloudFormation")
		}
	}
	if _, err := c.CancelEnvironmentDeployment(ctx, &proton.CancelEnvironmentDeploymentInput{EnvironmentName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got, err := c.GetEnvironment(ctx, &proton.GetEnvironmentInput{Name: aws.String("dev")})
		if err != nil {
			t.Fatal(err)
		}
		if env = got.Environment; !(env.DeploymentStatus == types.DeploymentStatusCancelling || env.DeploymentStatus == types.DeploymentStatusInProgress) {
			break
		}
	}
	if env.DeploymentStatus != types.DeploymentStatusCancelled || len(cfn.Calls("CancelUpdateStack")) != 1 {
		t.Errorf("cancelled update: %s, %d CancelUpdateStack calls", env.DeploymentStatus, len(cfn.Calls("CancelUpdateStack")))
	}
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  team: web\n  size: 4\n")}); err != nil {
		t.Fatal(err)
	}
	if _, err := waitDeployed(t, c, "dev", time.Minute); err != nil {
		t.Fatalf("update: %v", err)
	}
	if got := outputs(t, c, "dev", nil)["VpcName"]; got != "dev-vpc-4" {
		t.Errorf("VpcName after the update %q", got)
	}

	// A service instance in it, then a component attached to the instance.
	svcFiles := []file{{Name: "schema/schema.yaml", Body: strings.Replace(svcSchema, "  pipeline_input_type: \"PipeInput\"\n", "", 1)},
		{Name: "instance_infrastructure/manifest.yaml", Body: cfnEnvManifest}, {Name: "instance_infrastructure/cloudformation.yaml", Body: cfnInstanceTemplate}}
	publishSvcWith(t, srv, "web", svcFiles, false, []types.ServiceTemplateSupportedComponentSourceType{types.ServiceTemplateSupportedComponentSourceTypeDirectlyDefined}, "vpc:1")
	if _, err := c.CreateService(ctx, &proton.CreateServiceInput{Name: aws.String("shop"), TemplateName: aws.String("web"), TemplateMajorVersion: aws.String("1"),
		Spec: svcSpec("", "front=dev:{port: 8443}")}); err != nil {
		t.Fatal(err)
	}
	waitServiceActive(t, c, "shop")
	inst := instanceOutputs(t, c, "shop", "front")
	if inst["Endpoint"] != "shop.front:8443" || inst["SawQueue"] != "no-queue" {
		t.Errorf("instance outputs %v", inst)
	}
	body := lastTemplate(t, cfn, "CreateStack")
	if !strings.Contains(body, `Cluster: "dev-vpc-4"`) || !strings.Contains(body, "Port: 8443\n") {
		t.Errorf("the instance's rendered template does not use the environment's outputs and the integer input:\n%s", body)
	}

	if _, err := c.CreateComponent(ctx, &proton.CreateComponentInput{Name: aws.String("queue"), ServiceName: aws.String("shop"),
		ServiceInstanceName: aws.String("front"), TemplateFile: aws.String(componentTemplate), Manifest: aws.String(componentManifest)}); err != nil {
		t.Fatal(err)
	}
	comp := waitComponent(t, c, "queue")
	co, err := c.ListComponentOutputs(ctx, &proton.ListComponentOutputsInput{ComponentName: aws.String("queue")})
	if err != nil || outputMap(co.Outputs)["QueueName"] != "front-queue" {
		t.Errorf("component outputs: %v %+v (status %s)", err, co, comp.DeploymentStatus)
	}
	if body := lastTemplate(t, cfn, "CreateStack"); !strings.Contains(body, `QueueName: "front-queue-8443"`) {
		t.Errorf("the component's rendered template:\n%s", body)
	}
	if roles := cfn.Calls("AssumeRole"); roles[len(roles)-1].Params.Get("RoleArn") != compRole {
		t.Errorf("the component deployed with %s, want the environment's component role", roles[len(roles)-1].Params.Get("RoleArn"))
	}
	cr, err := c.ListComponentProvisionedResources(ctx, &proton.ListComponentProvisionedResourcesInput{ComponentName: aws.String("queue")})
	if err != nil || len(cr.ProvisionedResources) != 1 || aws.ToString(cr.ProvisionedResources[0].Name) != "Queue" {
		t.Errorf("component resources: %v %+v", err, cr)
	}

	// The instance, redeployed, sees the component's outputs.
	if _, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("shop"), Name: aws.String("front"),
		DeploymentType: types.DeploymentUpdateTypeCurrentVersion}); err != nil {
		t.Fatal(err)
	}
	if err := proton.NewServiceInstanceDeployedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInstanceInput{ServiceName: aws.String("shop"),
		Name: aws.String("front")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := instanceOutputs(t, c, "shop", "front")["SawQueue"]; got != "front-queue" {
		t.Errorf("service_instance.components.default.outputs.QueueName = %q", got)
	}

	// Detach and delete the component, delete the service and the environment: their stacks go.
	if _, err := c.UpdateComponent(ctx, &proton.UpdateComponentInput{Name: aws.String("queue"), DeploymentType: types.ComponentDeploymentUpdateTypeCurrentVersion,
		ServiceName: aws.String(""), ServiceInstanceName: aws.String(""),
		TemplateFile: aws.String("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\nOutputs:\n  QueueName:\n    Value: detached\n")}); err != nil {
		t.Fatal(err)
	}
	waitComponent(t, c, "queue")
	if _, err := c.DeleteComponent(ctx, &proton.DeleteComponentInput{Name: aws.String("queue")}); err != nil {
		t.Fatal(err)
	}
	if err := proton.NewComponentDeletedWaiter(c, func(o *proton.ComponentDeletedWaiterOptions) { o.MinDelay = 50 * time.Millisecond }).Wait(ctx,
		&proton.GetComponentInput{Name: aws.String("queue")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	if err := proton.NewServiceDeletedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInput{Name: aws.String("shop")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		_, err := c.GetEnvironment(ctx, &proton.GetEnvironmentInput{Name: aws.String("dev")})
		if apiCode(err) == "ResourceNotFoundException" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the environment was not deleted: %v", err)
		}
	}
	if deletes := cfn.Calls("DeleteStack"); len(deletes) != 3 {
		t.Errorf("%d DeleteStack calls, want the component's, the instance's and the environment's", len(deletes))
	}
	for _, st := range cfn.Calls("CreateStack") {
		if s, ok := cfn.Stack(st.Params.Get("StackName")); ok {
			t.Errorf("stack %s is still %s", s.Name, s.Status)
		}
	}
}

// cloudFormationWorld starts a CloudFormation double and a server whose CloudFormation
// and STS calls go to it, signed with the server's own key AKIASERVER.
func cloudFormationWorld(t *testing.T) (*cfntest.Server, *testServer) {
	t.Helper()
	cfn := cfntest.New(t)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", cfn.URL)
	t.Setenv("AWS_ENDPOINT_URL_STS", cfn.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIASERVER")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
	return cfn, startServerWith(t, func(c *config.Server) { c.CloudFormationPoll = 20 * time.Millisecond })
}

// lastTemplate is the TemplateBody of the last call of an action to the double.
func lastTemplate(t *testing.T, cfn *cfntest.Server, action string) string {
	t.Helper()
	calls := cfn.Calls(action)
	if len(calls) == 0 {
		t.Fatalf("no %s call", action)
	}
	return calls[len(calls)-1].Params.Get("TemplateBody")
}

// With its role gone, a CloudFormation deployment fails instead of falling back to the
// server's own credentials (which may reach another account): here a pipeline whose
// account pipelineServiceRoleArn was cleared cannot be deleted, and the service is
// DELETE_FAILED.
func TestCloudFormationNeverUsesServerCredentials(t *testing.T) {
	cfn, srv := cloudFormationWorld(t)
	c := srv.admin()
	ctx := context.Background()
	publishEnv(t, srv, "vpc", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: cfnEnvManifest},
		{Name: "infrastructure/cloudformation.yaml", Body: cfnEnvTemplate}}, "")
	if _, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("dev"), TemplateName: aws.String("vpc"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: web\n"), ProtonServiceRoleArn: aws.String(envRole)}); err != nil {
		t.Fatal(err)
	}
	if _, err := waitDeployed(t, c, "dev", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineServiceRoleArn: aws.String("arn:aws:iam::000000000000:role/pipeline")}); err != nil {
		t.Fatal(err)
	}
	pipeline := "Resources:\n  Build:\n    Type: AWS::CodeBuild::Project\nOutputs:\n  Stages:\n    Value: \"{{ service_instances | length }}\"\n"
	files := []file{{Name: "schema/schema.yaml", Body: svcSchema}, {Name: "instance_infrastructure/manifest.yaml", Body: cfnEnvManifest},
		{Name: "instance_infrastructure/cloudformation.yaml", Body: cfnInstanceTemplate}, {Name: "pipeline_infrastructure/manifest.yaml", Body: cfnEnvManifest},
		{Name: "pipeline_infrastructure/cloudformation.yaml", Body: pipeline}}
	publishSvc(t, srv, "web", files, true, "vpc:1")
	if _, err := c.CreateService(ctx, &proton.CreateServiceInput{Name: aws.String("shop"), TemplateName: aws.String("web"), TemplateMajorVersion: aws.String("1"),
		Spec: svcSpec("", "a=dev", "b=dev"), RepositoryConnectionArn: aws.String(repoConn), RepositoryId: aws.String("o/r"), BranchName: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	waitServiceActive(t, c, "shop")
	if got := pipelineOutputs(t, c, "shop")["Stages"]; got != "2" {
		t.Errorf("the pipeline saw %q instances, want 2", got)
	}

	if _, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineServiceRoleArn: aws.String("")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	err := proton.NewServiceDeletedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInput{Name: aws.String("shop")}, time.Minute)
	s := getSvc(t, c, "shop")
	if err == nil || s.Status != types.ServiceStatusDeleteFailed || !strings.Contains(aws.ToString(s.Pipeline.DeploymentStatusMessage), "no role") {
		t.Errorf("deleting with the pipeline role gone: %v; %s, pipeline %q", err, s.Status, aws.ToString(s.Pipeline.DeploymentStatusMessage))
	}
	for _, call := range cfn.Calls() {
		if call.Service == "cloudformation" && call.AccessKeyID == "AKIASERVER" {
			t.Errorf("%s was signed with the server's own key", call.Action)
		}
	}
}

// An environment in another account, through a connection: it and its components deploy
// with the connection's roles.
func TestCloudFormationThroughAccountConnection(t *testing.T) {
	cfn, srv := cloudFormationWorld(t)
	ctx := context.Background()
	mgmt := srv.admin()
	envID, envSecret := srv.newKey(t, environmentAccount, "admin")
	envAcct := srv.client(envID, envSecret)
	const connRole, connComponentRole = "arn:aws:iam::222222222222:role/proton", "arn:aws:iam::222222222222:role/components"
	created, err := envAcct.CreateEnvironmentAccountConnection(ctx, &proton.CreateEnvironmentAccountConnectionInput{ManagementAccountId: aws.String(accountID),
		EnvironmentName: aws.String("remote"), RoleArn: aws.String(connRole), ComponentRoleArn: aws.String(connComponentRole)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgmt.AcceptEnvironmentAccountConnection(ctx, &proton.AcceptEnvironmentAccountConnectionInput{Id: created.EnvironmentAccountConnection.Id}); err != nil {
		t.Fatal(err)
	}
	publishEnv(t, srv, "vpc", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: cfnEnvManifest},
		{Name: "infrastructure/cloudformation.yaml", Body: cfnEnvTemplate}}, "")
	if _, err := mgmt.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("remote"), TemplateName: aws.String("vpc"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: web\n"), EnvironmentAccountConnectionId: created.EnvironmentAccountConnection.Id}); err != nil {
		t.Fatal(err)
	}
	if env, err := waitDeployed(t, mgmt, "remote", time.Minute); err != nil {
		t.Fatalf("%v (%s)", err, aws.ToString(env.DeploymentStatusMessage))
	}
	if _, err := mgmt.CreateComponent(ctx, &proton.CreateComponentInput{Name: aws.String("extra"), EnvironmentName: aws.String("remote"),
		TemplateFile: aws.String("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"), Manifest: aws.String(componentManifest)}); err != nil {
		t.Fatalf("a component in a connected environment (the connection has a component role): %v", err)
	}
	waitComponent(t, mgmt, "extra")
	var roles []string
	for _, call := range cfn.Calls("AssumeRole") {
		roles = append(roles, call.Params.Get("RoleArn"))
	}
	if len(roles) != 2 || roles[0] != connRole || roles[1] != connComponentRole {
		t.Errorf("roles assumed %v, want the connection's role, then its component role", roles)
	}
}

// TestNumbersRenderAsProtonDid: a spec's numbers reach the template as Python gave them to
// Jinja: 1.0 stays 1.0, 3 stays 3, 2.5e-05 is printed as Python prints it.
func TestNumbersRenderAsProtonDid(t *testing.T) {
	cfn, srv := cloudFormationWorld(t)
	c := srv.admin()
	ctx := context.Background()
	schema := "schema:\n  format:\n    openapi: \"3.0.0\"\n  environment_input_type: \"In\"\n  types:\n    In:\n      type: object\n      properties:\n" +
		"        ratio:\n          type: number\n        count:\n          type: integer\n        tiny:\n          type: number\n"
	template := "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\nOutputs:\n  Numbers:\n    Value: '{{ environment.inputs.ratio }} {{ environment.inputs.count }} {{ environment.inputs.tiny }} {{ environment.inputs | tojson }}'\n"
	publishEnv(t, srv, "nums", "", []file{{Name: "schema/schema.yaml", Body: schema}, {Name: "infrastructure/manifest.yaml", Body: cfnEnvManifest},
		{Name: "infrastructure/cloudformation.yaml", Body: template}}, "")
	if _, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("dev"), TemplateName: aws.String("nums"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  ratio: 1.0\n  count: 3\n  tiny: 0.000025\n"), ProtonServiceRoleArn: aws.String(envRole)}); err != nil {
		t.Fatal(err)
	}
	if env, err := waitDeployed(t, c, "dev", time.Minute); err != nil {
		t.Fatalf("%v: %s", err, aws.ToString(env.DeploymentStatusMessage))
	}
	want := `Value: '1.0 3 2.5e-05 {"count": 3, "ratio": 1.0, "tiny": 2.5e-05}'`
	if body := lastTemplate(t, cfn, "CreateStack"); !strings.Contains(body, want) {
		t.Errorf("rendered:\n%s\nwant a line with %s", body, want)
	}
	// CURRENT_VAL carries the stored number on unchanged.
	if _, err := c.UpdateEnvironment(ctx, &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: types.DeploymentUpdateTypeCurrentVersion,
		Spec: spec("  ratio: \"${Proton::CURRENT_VAL}\"\n  count: 4\n  tiny: 0.000025\n")}); err != nil {
		t.Fatal(err)
	}
	if _, err := waitDeployed(t, c, "dev", time.Minute); err != nil {
		t.Fatal(err)
	}
	if body := lastTemplate(t, cfn, "UpdateStack"); !strings.Contains(body, `Value: '1.0 4 2.5e-05`) {
		t.Errorf("rendered after the update:\n%s", body)
	}
}
