package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/config"
)

// environmentOps are the operations whose semantics the environment and deployment code
// implements; the fuzzer sends them arbitrary bodies on a real server with real state.
var environmentOps = []string{
	"CreateEnvironment", "GetEnvironment", "UpdateEnvironment", "DeleteEnvironment", "ListEnvironments",
	"CancelEnvironmentDeployment", "ListEnvironmentOutputs", "ListEnvironmentProvisionedResources",
	"GetDeployment", "ListDeployments", "DeleteDeployment", "NotifyResourceDeploymentStatusChange",
	"CreateEnvironmentAccountConnection", "AcceptEnvironmentAccountConnection", "RejectEnvironmentAccountConnection",
	"UpdateEnvironmentAccountConnection", "DeleteEnvironmentAccountConnection", "GetEnvironmentAccountConnection",
	"ListEnvironmentAccountConnections",
}

// FuzzEnvironmentAPI: whatever body arrives at an environment, deployment or connection
// operation of a running server (with a published template and a deployed environment),
// the answer is never a 5xx.
func FuzzEnvironmentAPI(f *testing.F) {
	f.Add(uint8(0), []byte(`{"name":"dev","templateName":"cb","templateMajorVersion":"1","spec":"proton: EnvironmentSpec\nspec:\n  team: ab\n","codebuildRoleArn":"arn:aws:iam::000000000000:role/x"}`))
	f.Add(uint8(2), []byte(`{"name":"seeded","deploymentType":"MAJOR_VERSION","templateMajorVersion":"9"}`))
	f.Add(uint8(2), []byte(`{"name":"seeded","deploymentType":"CURRENT_VERSION","spec":"proton: EnvironmentSpec\nspec:\n  team: \"${Proton::CURRENT_VAL}\"\n"}`))
	f.Add(uint8(3), []byte(`{"name":"seeded"}`))
	f.Add(uint8(4), []byte(`{"environmentTemplates":[{"templateName":"cb","majorVersion":"99999999999999999999"}]}`))
	f.Add(uint8(6), []byte(`{"environmentName":"seeded","deploymentId":"0b7a6f0e-1d2c-4b5a-9e8f-7a6b5c4d3e2f"}`))
	f.Add(uint8(9), []byte(`{"serviceInstanceName":"x","nextToken":"AAAA"}`))
	f.Add(uint8(11), []byte(`{"resourceArn":"arn:aws:proton:us-east-1:000000000000:environment/seeded","status":"FAILED","outputs":[{"key":"a"},{"key":"a"}]}`))
	f.Add(uint8(12), []byte(`{"managementAccountId":"000000000000","environmentName":"e","clientToken":"t"}`))
	f.Add(uint8(18), []byte(`{"requestedBy":"MANAGEMENT_ACCOUNT","statuses":["PENDING","PENDING"]}`))

	srv := startServerWith(f, func(c *config.Server) { c.Provisioner = "noop" })
	publishEnv(f, srv, "cb", "", codebuildEnvBundle(), "")
	if _, err := createCB(srv.admin(), "seeded", "  team: platform\n"); err != nil {
		f.Fatal(err)
	}
	if _, err := waitDeployed(f, srv.admin(), "seeded", 30*time.Second); err != nil {
		f.Fatal(err)
	}
	fuzzOperations(f, srv, environmentOps)
}

// fuzzOperations sends each input's body to ops[op % len(ops)], signed as the root key,
// and fails on any 5xx other than 501.
func fuzzOperations(f *testing.F, srv *testServer, ops []string) {
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := ops[int(op)%len(ops)]
		req, err := http.NewRequest(http.MethodPost, srv.URL()+"/", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "AwsProton20200720."+name)
		if err := signer.SignHTTP(context.Background(), creds, req, payloadHash(body), "proton", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
			t.Fatalf("%s %q: status %d (%s)", name, body, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	})
}

// serviceOps are the service, instance, pipeline and component operations.
var serviceOps = []string{
	"CreateService", "GetService", "UpdateService", "DeleteService", "ListServices",
	"CreateServiceInstance", "GetServiceInstance", "UpdateServiceInstance", "ListServiceInstances",
	"CancelServiceInstanceDeployment", "ListServiceInstanceOutputs", "ListServiceInstanceProvisionedResources",
	"UpdateServicePipeline", "CancelServicePipelineDeployment", "ListServicePipelineOutputs",
	"ListServicePipelineProvisionedResources", "GetResourcesSummary", "NotifyResourceDeploymentStatusChange",
	"CreateComponent", "GetComponent", "UpdateComponent", "DeleteComponent", "ListComponents", "CancelComponentDeployment",
	"ListComponentOutputs", "ListComponentProvisionedResources",
}

// FuzzServiceAPI: whatever body arrives at a service operation of a running server (with
// a deployed environment and an active service), the answer is never a 5xx.
func FuzzServiceAPI(f *testing.F) {
	f.Add(uint8(0), []byte(`{"name":"s2","templateName":"api","templateMajorVersion":"1","spec":"proton: ServiceSpec\ninstances:\n  - name: a\n    environment: dev\n    spec: {port: 1}\n","repositoryConnectionArn":"arn:aws:codestar-connections:us-east-1:000000000000:connection/x","repositoryId":"o/r","branchName":"main"}`))
	f.Add(uint8(2), []byte(`{"name":"seeded","spec":"proton: ServiceSpec\ninstances:\n  - name: b\n    environment: dev\n"}`))
	f.Add(uint8(3), []byte(`{"name":"seeded"}`))
	f.Add(uint8(5), []byte(`{"serviceName":"seeded","name":"c","spec":"proton: ServiceSpec\ninstances:\n  - name: c\n    environment: dev\n","clientToken":"t"}`))
	f.Add(uint8(7), []byte(`{"serviceName":"seeded","name":"a","deploymentType":"MINOR_VERSION","templateMinorVersion":"99999999999"}`))
	f.Add(uint8(8), []byte(`{"sortBy":"createdAt","sortOrder":"DESCENDING","filters":[{"key":"createdAtAfter","value":"1985-04-12T23:20:50.52Z"},{"key":"deployedTemplateVersionStatus","value":"DRAFT"}]}`))
	f.Add(uint8(12), []byte(`{"serviceName":"seeded","deploymentType":"CURRENT_VERSION","spec":"proton: ServiceSpec\npipeline:\n  test_command: [1]\n"}`))
	f.Add(uint8(17), []byte(`{"resourceArn":"arn:aws:proton:us-east-1:000000000000:service/seeded/pipeline","outputs":[{"key":"a","valueString":"b"}]}`))

	srv := startServerWith(f, func(c *config.Server) { c.Provisioner = "noop" })
	c := srv.admin()
	publishEnv(f, srv, "cb", "", codebuildEnvBundle(), "")
	if _, err := createCB(c, "dev", "  team: platform\n"); err != nil {
		f.Fatal(err)
	}
	if _, err := waitDeployed(f, c, "dev", 30*time.Second); err != nil {
		f.Fatal(err)
	}
	if _, err := c.UpdateAccountSettings(context.Background(), &proton.UpdateAccountSettingsInput{PipelineCodebuildRoleArn: aws.String("arn:aws:iam::000000000000:role/p")}); err != nil {
		f.Fatal(err)
	}
	publishSvc(f, srv, "api", codebuildSvcBundle(true), true, "cb:1")
	if _, err := createAPI(c, "seeded", svcSpec("", "a=dev")); err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(18), []byte(`{"name":"c1","environmentName":"dev","templateFile":"Resources: {}","manifest":"infrastructure:\n  templates:\n    - file: t.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n","clientToken":"k"}`))
	f.Add(uint8(20), []byte(`{"name":"c1","deploymentType":"CURRENT_VERSION","serviceName":"seeded","serviceInstanceName":"a"}`))
	if _, err := c.UpdateEnvironment(context.Background(), &proton.UpdateEnvironmentInput{Name: aws.String("dev"), DeploymentType: "NONE",
		ComponentRoleArn: aws.String("arn:aws:iam::000000000000:role/c")}); err != nil {
		f.Fatal(err)
	}
	fuzzOperations(f, srv, serviceOps)
}

func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// repositoryOps are the repository link operations and those that name linked repositories.
var repositoryOps = []string{
	"CreateRepository", "GetRepository", "ListRepositories", "DeleteRepository", "UpdateAccountSettings", "GetAccountSettings",
	"CreateEnvironment", "UpdateEnvironment", "TagResource", "ListTagsForResource",
	"CreateTemplateSyncConfig", "GetTemplateSyncConfig", "UpdateTemplateSyncConfig", "DeleteTemplateSyncConfig",
	"GetTemplateSyncStatus", "GetRepositorySyncStatus", "ListRepositorySyncDefinitions",
	"CreateServiceSyncConfig", "GetServiceSyncConfig", "UpdateServiceSyncConfig", "DeleteServiceSyncConfig",
	"GetServiceInstanceSyncStatus", "GetServiceSyncBlockerSummary", "UpdateServiceSyncBlocker",
}

// FuzzRepositoryAPI: whatever body arrives at a repository operation, or at one naming a
// repository, of a running server with linked repositories, the answer is never a 5xx.
func FuzzRepositoryAPI(f *testing.F) {
	f.Add(uint8(0), []byte(`{"provider":"GITHUB","name":"org/other","connectionArn":"arn:aws:codestar-connections:us-east-1:000000000000:connection/x","tags":[{"key":"k","value":"v"}]}`))
	f.Add(uint8(1), []byte(`{"provider":"GITHUB","name":"org/infra"}`))
	f.Add(uint8(2), []byte(`{"maxResults":1,"nextToken":"AAAA"}`))
	f.Add(uint8(3), []byte(`{"provider":"BITBUCKET","name":"org/infra"}`))
	f.Add(uint8(4), []byte(`{"pipelineProvisioningRepository":{"provider":"GITHUB","name":"org/infra","branch":"main"},"deletePipelineProvisioningRepository":false}`))
	f.Add(uint8(6), []byte(`{"name":"e2","templateName":"tf","templateMajorVersion":"1","spec":"proton: EnvironmentSpec\nspec:\n  team: ab\n","provisioningRepository":{"provider":"GITHUB","name":"org/infra","branch":"no/such/branch"}}`))
	f.Add(uint8(7), []byte(`{"name":"seeded","deploymentType":"NONE","provisioningRepository":{"provider":"GITHUB_ENTERPRISE","name":"a/b","branch":"main"}}`))
	f.Add(uint8(8), []byte(`{"resourceArn":"arn:aws:proton:us-east-1:000000000000:repository/github:org/infra","tags":[{"key":"a","value":"b"}]}`))
	f.Add(uint8(10), []byte(`{"templateName":"tf","templateType":"ENVIRONMENT","repositoryProvider":"GITHUB","repositoryName":"org/infra","branch":"main","subdirectory":"../x"}`))
	f.Add(uint8(12), []byte(`{"templateName":"tf","templateType":"ENVIRONMENT","repositoryProvider":"GITHUB","repositoryName":"org/infra","branch":"dev","subdirectory":"/a/b/"}`))
	f.Add(uint8(14), []byte(`{"templateName":"tf","templateType":"ENVIRONMENT","templateVersion":"99999999999999999999"}`))
	f.Add(uint8(16), []byte(`{"repositoryName":"org/infra","repositoryProvider":"GITHUB","syncType":"SERVICE_SYNC","nextToken":"x"}`))

	base := f.TempDir()
	bareRepoAt(f, base, "org/infra")
	srv := startServerWith(f, func(c *config.Server) { c.RepositoryURLs = "GITHUB=" + base })
	c := srv.admin()
	publishEnv(f, srv, "tf", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: tfManifest},
		{Name: "infrastructure/main.tf", Body: tfMain}}, "")
	if _, err := c.CreateRepository(context.Background(), &proton.CreateRepositoryInput{Provider: "GITHUB", Name: aws.String("org/infra"),
		ConnectionArn: aws.String(testConnection)}); err != nil {
		f.Fatal(err)
	}
	if _, err := c.CreateEnvironment(context.Background(), &proton.CreateEnvironmentInput{Name: aws.String("seeded"), TemplateName: aws.String("tf"),
		TemplateMajorVersion: aws.String("1"), Spec: spec("  team: web\n"), ProvisioningRepository: &types.RepositoryBranchInput{
			Provider: "GITHUB", Name: aws.String("org/infra"), Branch: aws.String("main")}}); err != nil {
		f.Fatal(err)
	}
	fuzzOperations(f, srv, repositoryOps)
}
