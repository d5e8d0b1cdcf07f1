package e2e

import (
	"testing"

	"github.com/openproton/openproton/internal/store/postgres/pgtest"
)

// TestOnPostgres runs the server-level tests whose state lives only in the database again
// with the PostgreSQL store, so both drivers serve the same API behaviour.
func TestOnPostgres(t *testing.T) {
	base := pgtest.URL(t)
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"TemplatesAndTags", TestSDKTemplatesAndTags},
		{"ErrorsDecode", TestSDKErrorsDecodeToModelledTypes},
		{"AccountSettings", TestSDKAccountSettings},
		{"ConcurrentIdenticalCreates", TestConcurrentIdenticalCreatesMakeOneResource},
		{"Pagination", TestPaginationAcrossTemplates},
		{"AccountsAreIsolated", TestAccountsAreIsolated},
		{"VersionNumbering", TestVersionNumberingPublishingAndDeletion},
		{"VersionIdempotency", TestTemplateVersionIdempotency},
		{"TemplateCreateRetryRules", TestTemplateCreateRetryRules},
		{"BackwardCompatibility", TestBackwardCompatibility},
		{"ServiceTemplateVersionRules", TestServiceTemplateVersionRules},
		{"EnvironmentLifecycle", TestEnvironmentLifecycle},
		{"EnvironmentFailureAndCancel", TestEnvironmentFailureAndCancel},
		{"InvalidEnvironmentRequests", TestInvalidEnvironmentRequestsChangeNothing},
		{"CustomerManagedEnvironment", TestCustomerManagedEnvironment},
		{"EnvironmentListFiltersAndNotify", TestEnvironmentListFiltersAndNotify},
		{"EnvironmentAccountConnections", TestEnvironmentAccountConnections},
		{"ServiceLifecycle", TestServiceLifecycle},
		{"InvalidServiceRequests", TestInvalidServiceRequestsChangeNothing},
		{"ServiceWithoutPipeline", TestServiceWithoutPipeline},
		{"ServiceInstanceFailureAndCancel", TestServiceInstanceFailureAndCancel},
		{"ServiceInstanceIdempotency", TestServiceInstanceIdempotencyAndDeveloperRole},
		{"ListServiceInstances", TestListServiceInstancesOrdersAndFilters},
		{"UpdateServiceSpecRules", TestUpdateServiceSpecRules},
		{"ConcurrentServices", TestConcurrentServicesShareEnvironments},
		{"ComponentRules", TestComponentRules},
		{"CloudFormationDeployments", TestCloudFormationDeployments},
		{"CloudFormationRoles", TestCloudFormationNeverUsesServerCredentials},
		{"CloudFormationConnection", TestCloudFormationThroughAccountConnection},
		{"SelfManagedTerraform", TestSelfManagedTerraformEnvironment},
		{"SelfManagedTerraformServices", TestSelfManagedTerraformServices},
		{"Repositories", TestRepositories},
		{"SelfManagedPullRequests", TestSelfManagedPullRequests},
		{"SelfManagedPipelinesAndComponents", TestSelfManagedPipelinesAndComponents},
		{"TerraformDirectApply", TestTerraformDirectApply},
		{"RequestClosedAfterRestart", TestRequestClosedAfterRestart},
		{"TemplateSync", TestTemplateSync},
		{"ServiceSync", TestServiceSync},
		{"SSHRepositories", TestSSHRepositories},
	} {
		t.Run(tc.name, func(t *testing.T) {
			postgresBase = base
			defer func() { postgresBase = "" }()
			tc.fn(t)
		})
	}
}
