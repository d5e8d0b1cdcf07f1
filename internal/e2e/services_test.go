package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"
)

// svcSchema has instance inputs with defaults (one of which makes the provision script fail
// or take long) and a pipeline input with a default.
const svcSchema = `schema:
  format:
    openapi: "3.0.0"
  service_input_type: "SvcInput"
  pipeline_input_type: "PipeInput"
  types:
    SvcInput:
      type: object
      properties:
        port:
          type: integer
          default: 8080
        mode:
          type: string
          default: ok
          enum: [ok, fail, slow]
    PipeInput:
      type: object
      properties:
        test_command:
          type: string
          default: make test
`

// svcManifest reports an output through the API with the resource's own credential and
// hands back proton-inputs.json (base64) through proton-outputs.json.
const svcManifest = `infrastructure:
  templates:
    - rendering_engine: codebuild
      settings:
        image: aws/codebuild/amazonlinux2-x86_64-standard:4.0
        provision:
          - if grep -q '"mode":"fail"' proton-inputs.json; then echo "instance went boom" >&2; exit 4; fi
          - if grep -q '"mode":"slow"' proton-inputs.json; then echo "slow instance"; sleep 60; fi
          - aws proton notify-resource-deployment-status-change --resource-arn "$RESOURCE_ARN" --outputs '[{"key":"url","valueString":"https://'"${RESOURCE_ARN##*/}"'.example"}]'
          - printf '{"inputs":"%s"}' "$(base64 -w0 proton-inputs.json)" > proton-outputs.json
        deprovision:
          - echo "removing $RESOURCE_ARN"
`

const pipelineManifest = `infrastructure:
  templates:
    - rendering_engine: codebuild
      settings:
        image: aws/codebuild/amazonlinux2-x86_64-standard:4.0
        provision:
          - printf '{"inputs":"%s","arn":"%s"}' "$(base64 -w0 proton-inputs.json)" "$RESOURCE_ARN" > proton-outputs.json
        deprovision:
          - echo "removing $RESOURCE_ARN"
`

func codebuildSvcBundle(withPipeline bool) []file {
	files := []file{{Name: "schema/schema.yaml", Body: svcSchema}, {Name: "instance_infrastructure/manifest.yaml", Body: svcManifest}}
	if withPipeline {
		files = append(files, file{Name: "pipeline_infrastructure/manifest.yaml", Body: pipelineManifest})
	} else {
		files[0].Body = strings.Replace(svcSchema, "  pipeline_input_type: \"PipeInput\"\n", "", 1)
	}
	return files
}

// publishSvc registers files as a new major of service template name, compatible with
// the given environment template majors ("cb:1"), and publishes it.
func publishSvc(t testing.TB, srv *testServer, name string, files []file, withPipeline bool, compatible ...string) *types.ServiceTemplateVersion {
	t.Helper()
	return publishSvcWith(t, srv, name, files, withPipeline, nil, compatible...)
}

// publishSvcWith is publishSvc with supportedComponentSources.
func publishSvcWith(t testing.TB, srv *testServer, name string, files []file, withPipeline bool, sources []types.ServiceTemplateSupportedComponentSourceType, compatible ...string) *types.ServiceTemplateVersion {
	t.Helper()
	ctx := context.Background()
	c := srv.admin()
	if _, err := c.GetServiceTemplate(ctx, &proton.GetServiceTemplateInput{Name: &name}); err != nil {
		in := &proton.CreateServiceTemplateInput{Name: &name}
		if !withPipeline {
			in.PipelineProvisioning = types.ProvisioningCustomerManaged
		}
		if _, err := c.CreateServiceTemplate(ctx, in); err != nil {
			t.Fatalf("create service template %s: %v", name, err)
		}
	}
	var compat []types.CompatibleEnvironmentTemplateInput
	for _, ce := range compatible {
		n, m, _ := strings.Cut(ce, ":")
		compat = append(compat, types.CompatibleEnvironmentTemplateInput{TemplateName: aws.String(n), MajorVersion: aws.String(m)})
	}
	key := fmt.Sprintf("%s/%d.tar.gz", name, time.Now().UnixNano())
	srv.upload(t, "bundles", key, tarball(t, name, files))
	out, err := c.CreateServiceTemplateVersion(ctx, &proton.CreateServiceTemplateVersionInput{TemplateName: &name, Source: source("bundles", key),
		CompatibleEnvironmentTemplates: compat, SupportedComponentSources: sources})
	if err != nil {
		t.Fatalf("create version of %s: %v", name, err)
	}
	v := out.ServiceTemplateVersion
	w := proton.NewServiceTemplateVersionRegisteredWaiter(c, func(o *proton.ServiceTemplateVersionRegisteredWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &proton.GetServiceTemplateVersionInput{TemplateName: &name, MajorVersion: v.MajorVersion, MinorVersion: v.MinorVersion}, 30*time.Second); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	pub, err := c.UpdateServiceTemplateVersion(ctx, &proton.UpdateServiceTemplateVersionInput{TemplateName: &name,
		MajorVersion: v.MajorVersion, MinorVersion: v.MinorVersion, Status: types.TemplateVersionStatusPublished})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return pub.ServiceTemplateVersion
}

// svcSpec builds a ServiceSpec: pipeline inputs (YAML lines, may be empty) and instances
// given as name=environment[:inputs YAML flow mapping].
func svcSpec(pipeline string, instances ...string) *string {
	var b strings.Builder
	b.WriteString("proton: ServiceSpec\n")
	if pipeline != "" {
		b.WriteString("pipeline:\n" + pipeline)
	}
	b.WriteString("instances:\n")
	for _, inst := range instances {
		name, rest, _ := strings.Cut(inst, "=")
		env, inputs, _ := strings.Cut(rest, ":")
		if inputs == "" {
			inputs = "{}"
		}
		fmt.Fprintf(&b, "  - name: %s\n    environment: %s\n    spec: %s\n", name, env, inputs)
	}
	return aws.String(b.String())
}

const repoConn = "arn:aws:codestar-connections:us-east-1:000000000000:connection/11111111-2222-3333-4444-555555555555"

// serviceWorld starts a deploying server with environments dev and prod deployed from
// "cb", the account's pipeline CodeBuild role set and service template "api" (with a
// pipeline) published.
func serviceWorld(t *testing.T) (*testServer, *proton.Client) {
	t.Helper()
	srv := startDeployingServer(t, nil)
	c := srv.admin()
	publishEnv(t, srv, "cb", "", codebuildEnvBundle(), "")
	for _, env := range []string{"dev", "prod"} {
		if _, err := createCB(c, env, "  team: "+env+"-team\n"); err != nil {
			t.Fatalf("create %s: %v", env, err)
		}
	}
	for _, env := range []string{"dev", "prod"} {
		if e, err := waitDeployed(t, c, env, 60*time.Second); err != nil {
			t.Fatalf("environment %s: %v (%s)", env, err, aws.ToString(e.DeploymentStatusMessage))
		}
	}
	if _, err := c.UpdateAccountSettings(context.Background(), &proton.UpdateAccountSettingsInput{
		PipelineCodebuildRoleArn: aws.String("arn:aws:iam::000000000000:role/pipeline-codebuild")}); err != nil {
		t.Fatal(err)
	}
	publishSvc(t, srv, "api", codebuildSvcBundle(true), true, "cb:1")
	return srv, c
}

func createAPI(c *proton.Client, name string, specText *string) (*proton.CreateServiceOutput, error) {
	return c.CreateService(context.Background(), &proton.CreateServiceInput{Name: aws.String(name), TemplateName: aws.String("api"),
		TemplateMajorVersion: aws.String("1"), Spec: specText, RepositoryConnectionArn: aws.String(repoConn),
		RepositoryId: aws.String("org/api"), BranchName: aws.String("main")})
}

func fastService[T any](o *T) {
	// Every waiter options struct has MinDelay and MaxDelay; set them through a small switch.
	switch w := any(o).(type) {
	case *proton.ServiceCreatedWaiterOptions:
		w.MinDelay, w.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	case *proton.ServiceUpdatedWaiterOptions:
		w.MinDelay, w.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	case *proton.ServiceDeletedWaiterOptions:
		w.MinDelay, w.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	case *proton.ServicePipelineDeployedWaiterOptions:
		w.MinDelay, w.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	case *proton.ServiceInstanceDeployedWaiterOptions:
		w.MinDelay, w.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	}
}

func getSvc(t testing.TB, c *proton.Client, name string) *types.Service {
	t.Helper()
	out, err := c.GetService(context.Background(), &proton.GetServiceInput{Name: &name})
	if err != nil {
		t.Fatalf("get service %s: %v", name, err)
	}
	return out.Service
}

func instanceOutputs(t testing.TB, c *proton.Client, svc, inst string) map[string]string {
	t.Helper()
	out, err := c.ListServiceInstanceOutputs(context.Background(), &proton.ListServiceInstanceOutputsInput{ServiceName: &svc, ServiceInstanceName: &inst})
	if err != nil {
		t.Fatalf("outputs of %s/%s: %v", svc, inst, err)
	}
	return outputMap(out.Outputs)
}

func pipelineOutputs(t testing.TB, c *proton.Client, svc string) map[string]string {
	t.Helper()
	out, err := c.ListServicePipelineOutputs(context.Background(), &proton.ListServicePipelineOutputsInput{ServiceName: &svc})
	if err != nil {
		t.Fatalf("pipeline outputs of %s: %v", svc, err)
	}
	return outputMap(out.Outputs)
}

func outputMap(list []types.Output) map[string]string {
	m := map[string]string{}
	for _, o := range list {
		m[aws.ToString(o.Key)] = aws.ToString(o.ValueString)
	}
	return m
}

// decodedInputs reads the proton-inputs.json a deployment handed back as output "inputs".
func decodedInputs(t testing.TB, outputs map[string]string, into any) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(outputs["inputs"])
	if err != nil || json.Unmarshal(raw, into) != nil {
		t.Fatalf("output inputs %q is not base64 JSON", outputs["inputs"])
	}
}

type instanceNamespace struct {
	Environment struct {
		AccountID string            `json:"account_id"`
		Name      string            `json:"name"`
		Outputs   map[string]string `json:"outputs"`
	} `json:"environment"`
	Service struct {
		Name, RepositoryID, Branch string
	} `json:"service"`
	ServiceInstance struct {
		Name   string         `json:"name"`
		Inputs map[string]any `json:"inputs"`
	} `json:"service_instance"`
}

type pipelineNamespace struct {
	Pipeline struct {
		Inputs map[string]any `json:"inputs"`
	} `json:"pipeline"`
	Service          map[string]string `json:"service"`
	ServiceInstances []struct {
		Name        string            `json:"name"`
		Inputs      map[string]any    `json:"inputs"`
		Outputs     map[string]string `json:"outputs"`
		Environment struct {
			Name    string            `json:"name"`
			Outputs map[string]string `json:"outputs"`
		} `json:"environment"`
	} `json:"service_instances"`
}

func instanceNames(t testing.TB, c *proton.Client, svc string) []string {
	t.Helper()
	out, err := c.ListServiceInstances(context.Background(), &proton.ListServiceInstancesInput{ServiceName: &svc})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range out.ServiceInstances {
		names = append(names, aws.ToString(i.Name))
	}
	return names
}

func TestServiceLifecycle(t *testing.T) {
	srv, c := serviceWorld(t)
	ctx := context.Background()

	created, err := createAPI(c, "shop", svcSpec("  test_command: go test ./...\n", "east=dev:{port: 9000}", "west=prod"))
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	if created.Service.Status != types.ServiceStatusCreateInProgress || created.Service.Pipeline == nil ||
		created.Service.Pipeline.DeploymentStatus != types.DeploymentStatusInProgress {
		t.Fatalf("create answered %s with pipeline %+v, want CREATE_IN_PROGRESS and a pipeline IN_PROGRESS", created.Service.Status, created.Service.Pipeline)
	}
	out, err := proton.NewServiceCreatedWaiter(c, fastService).WaitForOutput(ctx, &proton.GetServiceInput{Name: aws.String("shop")}, 2*time.Minute)
	if err != nil {
		s := getSvc(t, c, "shop")
		t.Fatalf("ServiceCreated waiter: %v (%s: %s)", err, s.Status, aws.ToString(s.StatusMessage))
	}
	if out.Service.Status != types.ServiceStatusActive || out.Service.Pipeline.DeploymentStatus != types.DeploymentStatusSucceeded {
		t.Fatalf("after ServiceCreated: %s, pipeline %s", out.Service.Status, out.Service.Pipeline.DeploymentStatus)
	}
	if got := aws.ToString(out.Service.Pipeline.Arn); got != "arn:aws:proton:us-east-1:000000000000:service/shop/pipeline" {
		t.Errorf("pipeline arn %s", got)
	}

	// Instances see their environment's outputs, the service and their resolved inputs.
	east := instanceOutputs(t, c, "shop", "east")
	if east["url"] != "https://east.example" {
		t.Errorf("east outputs %v: want the url it reported with its own credential", east)
	}
	var ins instanceNamespace
	decodedInputs(t, east, &ins)
	if ins.Environment.Name != "dev" || ins.Environment.AccountID != accountID || ins.Environment.Outputs["notified"] != "yes" ||
		ins.ServiceInstance.Name != "east" || ins.ServiceInstance.Inputs["port"] != float64(9000) || ins.ServiceInstance.Inputs["mode"] != "ok" {
		t.Errorf("east's proton-inputs.json: %+v", ins)
	}
	var insRaw map[string]map[string]any
	decodedInputs(t, east, &insRaw)
	if insRaw["service"]["name"] != "shop" || insRaw["service"]["repository_id"] != "org/api" || insRaw["service"]["branch_name"] != "main" ||
		insRaw["service"]["repository_connection_arn"] != repoConn {
		t.Errorf("east's service namespace: %v", insRaw["service"])
	}

	// The pipeline deployed after both instances and sees their inputs and outputs.
	var pns pipelineNamespace
	decodedInputs(t, pipelineOutputs(t, c, "shop"), &pns)
	if pns.Pipeline.Inputs["test_command"] != "go test ./..." || len(pns.ServiceInstances) != 2 {
		t.Fatalf("pipeline's proton-inputs.json: %+v", pns)
	}
	for _, si := range pns.ServiceInstances {
		if si.Outputs["url"] != "https://"+si.Name+".example" || si.Inputs["port"] == nil || si.Environment.Outputs["notified"] != "yes" {
			t.Errorf("pipeline sees instance %+v", si)
		}
	}
	deps, err := c.ListDeployments(ctx, &proton.ListDeploymentsInput{ServiceName: aws.String("shop")})
	if err != nil {
		t.Fatal(err)
	}
	var lastInstanceDone, pipelineStarted time.Time
	for _, d := range deps.Deployments {
		switch d.TargetResourceType {
		case types.DeploymentTargetResourceTypeServiceInstance:
			if d.CompletedAt.After(lastInstanceDone) {
				lastInstanceDone = *d.CompletedAt
			}
		case types.DeploymentTargetResourceTypeServicePipeline:
			pipelineStarted = *d.CreatedAt
		}
	}
	if len(deps.Deployments) != 3 || pipelineStarted.Before(lastInstanceDone) {
		t.Errorf("%d deployments; pipeline started %v, last instance finished %v", len(deps.Deployments), pipelineStarted, lastInstanceDone)
	}

	// An environment with instances cannot be deleted.
	if _, err := c.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("prod")}); apiCode(err) != "ConflictException" {
		t.Errorf("delete environment with instances: %v, want ConflictException", err)
	}

	// UpdateServiceInstance with the whole service spec: only its own entry counts.
	upd, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("shop"), Name: aws.String("west"),
		DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: svcSpec("", "east=dev:{port: 1}", "west=prod:{port: 7000}"),
		ClientToken: aws.String("upd-1")})
	if err != nil {
		t.Fatalf("update instance: %v", err)
	}
	if aws.ToString(upd.ServiceInstance.LastClientRequestToken) != "upd-1" {
		t.Errorf("lastClientRequestToken %q", aws.ToString(upd.ServiceInstance.LastClientRequestToken))
	}
	if err := proton.NewServiceInstanceDeployedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInstanceInput{ServiceName: aws.String("shop"),
		Name: aws.String("west")}, time.Minute); err != nil {
		t.Fatalf("ServiceInstanceDeployed: %v", err)
	}
	decodedInputs(t, instanceOutputs(t, c, "shop", "west"), &ins)
	if ins.ServiceInstance.Inputs["port"] != float64(7000) {
		t.Errorf("west port after update = %v", ins.ServiceInstance.Inputs["port"])
	}
	retry, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String("shop"), Name: aws.String("west"),
		DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: svcSpec("", "west=prod:{port: 7000}"), ClientToken: aws.String("upd-1")})
	if err != nil || aws.ToString(retry.ServiceInstance.LastAttemptedDeploymentId) != aws.ToString(upd.ServiceInstance.LastAttemptedDeploymentId) {
		t.Errorf("a retry with the same client token started another deployment: %v", err)
	}

	// UpdateService: add north (in dev), remove east; the pipeline is redeployed with both.
	before := getSvc(t, c, "shop").Pipeline.LastAttemptedDeploymentId
	if _, err := c.UpdateService(ctx, &proton.UpdateServiceInput{Name: aws.String("shop"),
		Spec: svcSpec("  test_command: go test ./...\n", "west=prod:{port: 1}", "north=dev")}); apiCode(err) != "ValidationException" {
		t.Errorf("UpdateService changing west's inputs: %v, want ValidationException", err)
	}
	// west is listed as it now is (UpdateServiceInstance gave it port 7000).
	us, err := c.UpdateService(ctx, &proton.UpdateServiceInput{Name: aws.String("shop"), Description: aws.String("two regions"),
		Spec: svcSpec("  test_command: go test ./...\n", "west=prod:{port: 7000}", "north=dev")})
	if err != nil {
		t.Fatalf("update service: %v", err)
	}
	if us.Service.Status != types.ServiceStatusUpdateInProgress {
		t.Errorf("UpdateService answered %s", us.Service.Status)
	}
	if err := proton.NewServiceUpdatedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInput{Name: aws.String("shop")}, 2*time.Minute); err != nil {
		s := getSvc(t, c, "shop")
		t.Fatalf("ServiceUpdated: %v (%s: %s)", err, s.Status, aws.ToString(s.StatusMessage))
	}
	if names := instanceNames(t, c, "shop"); !slices.Equal(names, []string{"north", "west"}) {
		t.Errorf("instances after update %v, want [north west]", names)
	}
	after := getSvc(t, c, "shop")
	if aws.ToString(after.Pipeline.LastAttemptedDeploymentId) == aws.ToString(before) || aws.ToString(after.Description) != "two regions" {
		t.Errorf("the pipeline was not redeployed after the instances changed (or description %q)", aws.ToString(after.Description))
	}
	decodedInputs(t, pipelineOutputs(t, c, "shop"), &pns)
	var seen []string
	for _, si := range pns.ServiceInstances {
		seen = append(seen, si.Name)
	}
	if !slices.Equal(seen, []string{"north", "west"}) {
		t.Errorf("the redeployed pipeline sees %v", seen)
	}

	// UpdateServicePipeline with a new input.
	if _, err := c.UpdateServicePipeline(ctx, &proton.UpdateServicePipelineInput{ServiceName: aws.String("shop"),
		DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: svcSpec("  test_command: make check\n", "west=prod")}); err != nil {
		t.Fatalf("update pipeline: %v", err)
	}
	if err := proton.NewServicePipelineDeployedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInput{Name: aws.String("shop")}, time.Minute); err != nil {
		t.Fatalf("ServicePipelineDeployed: %v", err)
	}
	decodedInputs(t, pipelineOutputs(t, c, "shop"), &pns)
	if pns.Pipeline.Inputs["test_command"] != "make check" {
		t.Errorf("pipeline inputs after update: %v", pns.Pipeline.Inputs)
	}

	// DeleteService: instances, then the pipeline, then the service.
	del, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("shop")})
	if err != nil || del.Service.Status != types.ServiceStatusDeleteInProgress {
		t.Fatalf("delete service: %v", err)
	}
	if again, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("shop")}); err != nil ||
		(again.Service != nil && again.Service.Status != types.ServiceStatusDeleteInProgress) {
		t.Errorf("a retried delete: %v", err)
	}
	if err := proton.NewServiceDeletedWaiter(c, fastService).Wait(ctx, &proton.GetServiceInput{Name: aws.String("shop")}, 2*time.Minute); err != nil {
		t.Fatalf("ServiceDeleted: %v", err)
	}
	if gone, err := c.DeleteService(ctx, &proton.DeleteServiceInput{Name: aws.String("shop")}); err != nil || gone.Service != nil {
		t.Errorf("delete of a deleted service: %v %+v, want an empty success", err, gone)
	}
	if _, err := c.GetServiceInstance(ctx, &proton.GetServiceInstanceInput{ServiceName: aws.String("shop"), Name: aws.String("west")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("instance after service deletion: %v", err)
	}
	all, err := c.ListDeployments(ctx, &proton.ListDeploymentsInput{ServiceName: aws.String("shop")})
	if err != nil {
		t.Fatal(err)
	}
	var pipelineDeleted, lastInstanceDeleted time.Time
	for _, d := range all.Deployments {
		if d.DeploymentStatus != types.DeploymentStatusDeleteComplete {
			continue
		}
		if d.TargetResourceType == types.DeploymentTargetResourceTypeServicePipeline {
			pipelineDeleted = *d.CreatedAt
		} else if d.CompletedAt.After(lastInstanceDeleted) {
			lastInstanceDeleted = *d.CompletedAt
		}
	}
	if pipelineDeleted.IsZero() || pipelineDeleted.Before(lastInstanceDeleted) {
		t.Errorf("pipeline deletion started %v, before the last instance was deleted at %v", pipelineDeleted, lastInstanceDeleted)
	}
	if _, err := c.DeleteEnvironment(ctx, &proton.DeleteEnvironmentInput{Name: aws.String("prod")}); err != nil {
		t.Errorf("delete environment once its instances are gone: %v", err)
	}
	_ = srv
}

// The aws CLI creates a service and waits for it (service-created, service-instance-deployed,
// service-pipeline-deployed); boto3 updates an instance, waits, pages and deletes.
func TestServiceWithAWSCLIAndBoto3(t *testing.T) {
	needTool(t, "python3", "-c", "import boto3")
	srv, _ := serviceWorld(t)
	env := srv.awsEnv(t, rootKeyID, rootSecret)
	specFile := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(specFile, []byte(*svcSpec("  test_command: cli\n", "one=dev", "two=prod:{port: 81}")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runAWS(t, srv, env, "proton", "create-service", "--name", "cli-svc", "--template-name", "api",
		"--template-major-version", "1", "--spec", "file://"+specFile, "--repository-connection-arn", repoConn,
		"--repository-id", "org/cli", "--branch-name", "main")
	if code != 0 || !strings.Contains(out, `"CREATE_IN_PROGRESS"`) {
		t.Fatalf("create-service: %d %s %s", code, out, stderr)
	}
	for _, args := range [][]string{
		{"proton", "wait", "service-created", "--name", "cli-svc"},
		{"proton", "wait", "service-instance-deployed", "--service-name", "cli-svc", "--name", "two"},
		{"proton", "wait", "service-pipeline-deployed", "--name", "cli-svc"},
	} {
		if _, stderr, code := runAWS(t, srv, env, args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
	}
	out, stderr, code = runAWS(t, srv, env, "proton", "list-service-instance-outputs", "--service-name", "cli-svc", "--service-instance-name", "two")
	if code != 0 || !strings.Contains(out, "https://two.example") {
		t.Fatalf("list-service-instance-outputs: %d %s %s", code, out, stderr)
	}

	script := `
import boto3, sys, json
c = boto3.client("proton", endpoint_url=sys.argv[1])
spec = "proton: ServiceSpec\ninstances:\n  - name: one\n    environment: dev\n    spec:\n      port: 5000\n"
c.update_service_instance(serviceName="cli-svc", name="one", deploymentType="CURRENT_VERSION", spec=spec, clientToken="py-1")
c.get_waiter("service_instance_deployed").wait(serviceName="cli-svc", name="one", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
names = [i["name"] for page in c.get_paginator("list_service_instances").paginate(serviceName="cli-svc", sortBy="name", sortOrder="DESCENDING", PaginationConfig={"PageSize": 1}) for i in page["serviceInstances"]]
one = c.get_service_instance(serviceName="cli-svc", name="one")["serviceInstance"]
c.delete_service(name="cli-svc")
c.get_waiter("service_deleted").wait(name="cli-svc", WaiterConfig={"Delay": 1, "MaxAttempts": 120})
print(json.dumps({"names": names, "token": one["lastClientRequestToken"], "status": one["deploymentStatus"]}))
`
	cmd := exec.Command("python3", "-c", script, srv.URL())
	cmd.Env = env
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, raw)
	}
	var got struct {
		Names         []string
		Token, Status string
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", raw, err)
	}
	if !slices.Equal(got.Names, []string{"two", "one"}) || got.Token != "py-1" || got.Status != "SUCCEEDED" {
		t.Errorf("boto3 saw %+v", got)
	}
}
