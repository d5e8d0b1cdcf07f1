// Package store is openproton's persistence seam: the Store interface, the records it keeps
// and its errors. Drivers (sqlite, postgres) implement it; storetest is the one conformance
// suite every driver must pass.
package store

import (
	"context"
	"errors"
	"slices"
	"time"
)

var (
	ErrNotFound      = errors.New("store: not found")
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrConflict reports a lost optimistic-concurrency race: the record changed after it
	// was read.
	ErrConflict = errors.New("store: concurrent modification")
)

// Store is a database: its queries, run alone or in a transaction.
type Store interface {
	Queries
	// Tx runs fn in one transaction; an error or panic from fn rolls everything back.
	// Inside fn use only q: on SQLite a write through the Store itself blocks until ctx ends.
	// The sentinel errors leave the transaction usable, so fn may carry on after one.
	// Nesting is not supported.
	Tx(ctx context.Context, fn func(q Queries) error) error
	Close() error
}

// Queries are the reads and writes; names are noun then verb.
type Queries interface {
	// AccessKeyCreate returns ErrAlreadyExists for a duplicate id.
	AccessKeyCreate(ctx context.Context, k *AccessKey) error
	// AccessKeyGet includes the secret, which signature checks need.
	AccessKeyGet(ctx context.Context, accessKeyID string) (*AccessKey, error)
	// AccessKeyList returns every key ordered by CreatedAt, then id, without secrets.
	AccessKeyList(ctx context.Context) ([]*AccessKey, error)
	AccessKeyDelete(ctx context.Context, accessKeyID string) error

	// SecretGetOrCreate returns the named server secret, storing generate() first if there
	// is none, so that concurrent replicas agree on one value.
	SecretGetOrCreate(ctx context.Context, name string, generate func() []byte) ([]byte, error)

	// AccountSettingsGet returns an account's settings; an account that never wrote any gets
	// a zero record with Version 0.
	AccountSettingsGet(ctx context.Context, accountID string) (*AccountSettings, error)
	// AccountSettingsPut writes s if s.Version is the stored version (0: never written) and
	// bumps s.Version; ErrConflict otherwise.
	AccountSettingsPut(ctx context.Context, s *AccountSettings) error

	// Tags belong to (accountID, resource ARN), one value per key.
	// TagsPut sets each tag, replacing the value of an existing key.
	TagsPut(ctx context.Context, accountID, arn string, tags []Tag) error
	// TagsDelete removes the given keys; absent keys are ignored.
	TagsDelete(ctx context.Context, accountID, arn string, keys []string) error
	TagsDeleteAll(ctx context.Context, accountID, arn string) error
	TagsCount(ctx context.Context, accountID, arn string) (int, error)
	// TagsList pages through a resource's tags by key.
	TagsList(ctx context.Context, accountID, arn string, p Page) ([]Tag, string, error)

	// Templates are unique by (account, name). Create sets Version to 1 or returns
	// ErrAlreadyExists; Update writes t only if t.Version is the stored version and bumps it,
	// else returns ErrConflict (or ErrNotFound); Get and Delete return ErrNotFound.
	EnvironmentTemplateCreate(ctx context.Context, t *EnvironmentTemplate) error
	EnvironmentTemplateGet(ctx context.Context, accountID, name string) (*EnvironmentTemplate, error)
	EnvironmentTemplateUpdate(ctx context.Context, t *EnvironmentTemplate) error
	EnvironmentTemplateDelete(ctx context.Context, accountID, name string) error
	EnvironmentTemplateList(ctx context.Context, accountID string, p Page) ([]*EnvironmentTemplate, string, error)
	EnvironmentTemplateCount(ctx context.Context, accountID string) (int, error)

	ServiceTemplateCreate(ctx context.Context, t *ServiceTemplate) error
	ServiceTemplateGet(ctx context.Context, accountID, name string) (*ServiceTemplate, error)
	ServiceTemplateUpdate(ctx context.Context, t *ServiceTemplate) error
	ServiceTemplateDelete(ctx context.Context, accountID, name string) error
	ServiceTemplateList(ctx context.Context, accountID string, p Page) ([]*ServiceTemplate, string, error)
	ServiceTemplateCount(ctx context.Context, accountID string) (int, error)

	// Template versions, of environment and service templates alike (TemplateType tells).
	// TemplateVersionCreate returns ErrAlreadyExists for a taken major.minor.
	TemplateVersionCreate(ctx context.Context, v *TemplateVersion) error
	// TemplateVersionGet and the lists return versions without their Bundle.
	TemplateVersionGet(ctx context.Context, k VersionKey) (*TemplateVersion, error)
	// TemplateVersionBundle returns the bundle a version registered.
	TemplateVersionBundle(ctx context.Context, k VersionKey) ([]byte, error)
	// TemplateVersionUpdate writes v if v.Version is current and bumps it; the stored bundle
	// is replaced only when v.Bundle is not nil.
	TemplateVersionUpdate(ctx context.Context, v *TemplateVersion) error
	TemplateVersionDelete(ctx context.Context, k VersionKey) error
	// TemplateVersionList pages through a template's versions in version order; major < 0
	// lists every major.
	TemplateVersionList(ctx context.Context, accountID, templateType, templateName string, major int, p Page) ([]*TemplateVersion, string, error)
	// TemplateVersionLatest returns the highest version of a template (of one major when
	// major >= 0), optionally only PUBLISHED ones; ErrNotFound when there is none.
	TemplateVersionLatest(ctx context.Context, accountID, templateType, templateName string, major int, publishedOnly bool) (*TemplateVersion, error)
	// TemplateVersionCount counts a template's versions.
	TemplateVersionCount(ctx context.Context, accountID, templateType, templateName string) (int, error)
	// TemplateVersionsRegistering lists versions still REGISTRATION_IN_PROGRESS, oldest first.
	TemplateVersionsRegistering(ctx context.Context, limit int) ([]*TemplateVersion, error)

	// Environments are unique by (account, name); Create returns ErrAlreadyExists, Update
	// is versioned like templates, Get and Delete return ErrNotFound.
	EnvironmentCreate(ctx context.Context, e *Environment) error
	EnvironmentGet(ctx context.Context, accountID, name string) (*Environment, error)
	// EnvironmentLock takes the environment's row lock for the rest of the transaction
	// without changing it (its version stays) and returns it: creating a service instance
	// and deleting the environment serialise on it.
	EnvironmentLock(ctx context.Context, accountID, name string) (*Environment, error)
	EnvironmentUpdate(ctx context.Context, e *Environment) error
	EnvironmentDelete(ctx context.Context, accountID, name string) error
	// EnvironmentList pages by name, keeping environments of any of the given template
	// majors (all when none are given).
	EnvironmentList(ctx context.Context, accountID string, templates []TemplateRef, p Page) ([]*Environment, string, error)
	EnvironmentCount(ctx context.Context, accountID string) (int, error)
	// EnvironmentCountUsing counts environments deployed from a template version (minor < 0:
	// any minor of the major).
	EnvironmentCountUsing(ctx context.Context, accountID, templateName string, major, minor int) (int, error)

	// Deployments are unique by id. DeploymentUpdate is versioned; DeploymentGet returns the
	// record without its Log, DeploymentLog the log alone.
	DeploymentCreate(ctx context.Context, d *Deployment) error
	DeploymentGet(ctx context.Context, accountID, id string) (*Deployment, error)
	DeploymentUpdate(ctx context.Context, d *Deployment) error
	// DeploymentClaim takes the run lease of an in-flight deployment at the given attempt
	// for owner until until, if no lease is valid at now (not even owner's own: a second
	// job for the same attempt must not run beside the first), and returns the deployment;
	// ErrNotFound when it cannot be claimed.
	DeploymentClaim(ctx context.Context, accountID, id string, attempt int, owner string, now, until time.Time) (*Deployment, error)
	DeploymentDelete(ctx context.Context, accountID, id string) error
	DeploymentLog(ctx context.Context, accountID, id string) ([]byte, error)
	// DeploymentList pages newest first.
	DeploymentList(ctx context.Context, accountID string, f DeploymentFilter, p Page) ([]*Deployment, string, error)
	// DeploymentsOrphaned lists in-flight deployments whose runner's lease ran out before
	// now (the replica running them stopped), and those without a lease untouched since
	// idleBefore (their job was lost), oldest first.
	DeploymentsOrphaned(ctx context.Context, now, idleBefore time.Time, limit int) ([]*Deployment, error)
	// DeploymentsWithOpenRequest lists deployments of every account whose handed-on
	// request is open (RequestOpen) and due (RequestCheckAt not after now), most overdue
	// first.
	DeploymentsWithOpenRequest(ctx context.Context, now time.Time, limit int) ([]*Deployment, error)

	// Template sync configurations, unique by (account, template type, template name).
	// Update is versioned.
	TemplateSyncConfigCreate(ctx context.Context, c *TemplateSyncConfig) error
	TemplateSyncConfigGet(ctx context.Context, accountID, templateType, templateName string) (*TemplateSyncConfig, error)
	TemplateSyncConfigUpdate(ctx context.Context, c *TemplateSyncConfig) error
	TemplateSyncConfigDelete(ctx context.Context, accountID, templateType, templateName string) error
	// TemplateSyncConfigList pages through every account's configurations (accountID "")
	// or one account's, by account, type and name.
	TemplateSyncConfigList(ctx context.Context, accountID string, p Page) ([]*TemplateSyncConfig, string, error)
	// TemplateSyncConfigsOfRepository lists an account's configurations that follow a
	// repository (branch "" = any branch).
	TemplateSyncConfigsOfRepository(ctx context.Context, accountID, provider, repository, branch string) ([]*TemplateSyncConfig, error)

	// Service sync configurations, unique by (account, service). Update is versioned.
	ServiceSyncConfigCreate(ctx context.Context, c *ServiceSyncConfig) error
	ServiceSyncConfigGet(ctx context.Context, accountID, serviceName string) (*ServiceSyncConfig, error)
	ServiceSyncConfigUpdate(ctx context.Context, c *ServiceSyncConfig) error
	ServiceSyncConfigDelete(ctx context.Context, accountID, serviceName string) error
	// ServiceSyncConfigList pages through every account's configurations by account and
	// service.
	ServiceSyncConfigList(ctx context.Context, p Page) ([]*ServiceSyncConfig, string, error)

	// Sync blockers are unique by (account, id); Update is versioned.
	SyncBlockerCreate(ctx context.Context, b *SyncBlocker) error
	SyncBlockerGet(ctx context.Context, accountID, id string) (*SyncBlocker, error)
	SyncBlockerUpdate(ctx context.Context, b *SyncBlocker) error
	// SyncBlockerList lists up to limit blockers of a service (instance "") or of one of
	// its instances, newest first; activeOnly leaves resolved ones out.
	SyncBlockerList(ctx context.Context, accountID, serviceName, instanceName string, activeOnly bool, limit int) ([]*SyncBlocker, error)

	// Sync attempts are unique by (account, id); Update is versioned.
	SyncAttemptCreate(ctx context.Context, a *SyncAttempt) error
	SyncAttemptUpdate(ctx context.Context, a *SyncAttempt) error
	// SyncAttemptLatest is the newest attempt on a target, or the newest that succeeded.
	SyncAttemptLatest(ctx context.Context, accountID, syncType, target string, succeeded bool) (*SyncAttempt, error)
	// SyncAttemptLatestWithDigest is the newest attempt on a target that recorded a
	// digest (one that registered a version), whatever its status.
	SyncAttemptLatestWithDigest(ctx context.Context, accountID, syncType, target string) (*SyncAttempt, error)

	// SyncHead is the commit last synced from a branch; ErrNotFound before the first.
	SyncHeadGet(ctx context.Context, accountID, provider, repository, branch, syncType string) (*SyncHead, error)
	SyncHeadPut(ctx context.Context, h *SyncHead) error

	// Repositories are linked git repositories, unique by (account, provider, name).
	// RepositoryCreate returns ErrAlreadyExists for a duplicate.
	RepositoryCreate(ctx context.Context, r *Repository) error
	RepositoryGet(ctx context.Context, accountID, provider, name string) (*Repository, error)
	RepositoryDelete(ctx context.Context, accountID, provider, name string) error
	// RepositoryList pages by provider, then name.
	RepositoryList(ctx context.Context, accountID string, p Page) ([]*Repository, string, error)
	// RepositoryHold returns a repository after locking its row (a no-op update), so that
	// a concurrent RepositoryDelete waits for the holding transaction.
	RepositoryHold(ctx context.Context, accountID, provider, name string) (*Repository, error)
	// EnvironmentsUsingRepository names up to limit environments whose provisioning
	// repository is provider's name.
	EnvironmentsUsingRepository(ctx context.Context, accountID, provider, name string, limit int) ([]string, error)

	// Account connections are unique by id. Update is versioned.
	AccountConnectionCreate(ctx context.Context, c *AccountConnection) error
	AccountConnectionGet(ctx context.Context, id string) (*AccountConnection, error)
	AccountConnectionUpdate(ctx context.Context, c *AccountConnection) error
	AccountConnectionDelete(ctx context.Context, id string) error
	// AccountConnectionList pages by id (creation order).
	AccountConnectionList(ctx context.Context, f AccountConnectionFilter, p Page) ([]*AccountConnection, string, error)

	// Services are unique by (account, name), versioned like templates. ServiceLock bumps
	// a service's version and returns it: it serialises every change to a service's
	// instances and pipeline against the service row (PostgreSQL waits on the row lock).
	ServiceCreate(ctx context.Context, s *Service) error
	ServiceGet(ctx context.Context, accountID, name string) (*Service, error)
	ServiceLock(ctx context.Context, accountID, name string) (*Service, error)
	ServiceUpdate(ctx context.Context, s *Service) error
	ServiceDelete(ctx context.Context, accountID, name string) error
	ServiceList(ctx context.Context, accountID string, p Page) ([]*Service, string, error)
	ServiceCount(ctx context.Context, accountID string) (int, error)

	// Service instances are unique by (account, service, name), versioned.
	ServiceInstanceCreate(ctx context.Context, i *ServiceInstance) error
	ServiceInstanceGet(ctx context.Context, accountID, serviceName, name string) (*ServiceInstance, error)
	ServiceInstanceUpdate(ctx context.Context, i *ServiceInstance) error
	ServiceInstanceDelete(ctx context.Context, accountID, serviceName, name string) error
	// ServiceInstancesOf returns all of a service's instances by name.
	ServiceInstancesOf(ctx context.Context, accountID, serviceName string) ([]*ServiceInstance, error)
	// ServiceInstanceList pages through instances in the filter's order; Page.After is the
	// opaque key the previous page returned.
	ServiceInstanceList(ctx context.Context, accountID string, f ServiceInstanceFilter, p Page) ([]*ServiceInstance, string, error)
	ServiceInstanceCountInEnvironment(ctx context.Context, accountID, environmentName string) (int, error)

	// A service has at most one pipeline, keyed by the service.
	ServicePipelineCreate(ctx context.Context, sp *ServicePipeline) error
	ServicePipelineGet(ctx context.Context, accountID, serviceName string) (*ServicePipeline, error)
	ServicePipelineUpdate(ctx context.Context, sp *ServicePipeline) error
	ServicePipelineDelete(ctx context.Context, accountID, serviceName string) error

	// Components are unique by (account, name), versioned.
	ComponentCreate(ctx context.Context, c *Component) error
	ComponentGet(ctx context.Context, accountID, name string) (*Component, error)
	ComponentUpdate(ctx context.Context, c *Component) error
	ComponentDelete(ctx context.Context, accountID, name string) error
	// ComponentList pages by name; empty filter fields match everything.
	ComponentList(ctx context.Context, accountID, environment, service, instance string, p Page) ([]*Component, string, error)

	// ServiceTemplateCountUsing counts instances and pipelines deployed from a service
	// template version (minor < 0: any minor of the major).
	ServiceTemplateCountUsing(ctx context.Context, accountID, templateName string, major, minor int) (int, error)

	// Idempotency records map a client token to the resource its first request made.
	// IdempotencyPut returns ErrAlreadyExists when the token is taken.
	IdempotencyPut(ctx context.Context, r *IdempotencyRecord) error
	IdempotencyGet(ctx context.Context, accountID, operation, token string) (*IdempotencyRecord, error)
	IdempotencyDelete(ctx context.Context, accountID, operation, token string) error
}

// Page selects one page of a keyset-paged list: the rows whose sort key is after After.
// Lists return the next page's After (the last key returned), or "" on the last page.
// Records' times come back in UTC, truncated to microseconds.
type Page struct {
	After string
	Limit int // 1..1000; 0 or less means 100
}

// Size is the page size to fetch.
func (p Page) Size() int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > 1000:
		return 1000
	}
	return p.Limit
}

type AccessKey struct {
	AccessKeyID     string
	SecretAccessKey string
	AccountID       string
	Role            string // admin | developer | readonly
	Description     string
	CreatedAt       time.Time
}

type RepositoryBranch struct{ ARN, Provider, Name, Branch string }

// TemplateSyncConfig makes a template follow <Subdirectory>/<TemplateName>/v<N>/ on a
// branch of a linked repository.
type TemplateSyncConfig struct {
	AccountID                    string
	TemplateType, TemplateName   string
	Provider, Repository, Branch string
	Subdirectory                 string
	CreatedAt                    time.Time
	Version                      int64
}

// ServiceSyncConfig makes a service's instances follow the proton-ops file FilePath on
// Branch of a linked repository.
type ServiceSyncConfig struct {
	AccountID, ServiceName       string
	Provider, Repository, Branch string
	FilePath                     string
	CreatedAt                    time.Time
	Version                      int64
}

// SyncBlocker stops service sync for an instance (or a whole service, InstanceName "")
// after a manual change, until someone resolves it.
type SyncBlocker struct {
	AccountID, ID             string
	ServiceName, InstanceName string
	Type, Status              string // AUTOMATED; ACTIVE | RESOLVED
	CreatedReason             string
	CreatedAt                 time.Time
	Contexts                  []Tag // key/value pairs
	ResolvedReason            string
	ResolvedAt                time.Time
	Version                   int64
}

// SyncAttempt is one sync of a target: a template major ("environment/NAME/MAJOR") or a
// repository branch. Revisions and events are JSON of the API's shapes.
type SyncAttempt struct {
	AccountID, ID                   string
	SyncType                        string // TEMPLATE_SYNC | SERVICE_SYNC
	Target                          string
	StartedAt                       time.Time
	Status                          string // INITIATED | IN_PROGRESS | SUCCEEDED | FAILED
	InitialRevision, TargetRevision string
	Events                          string
	// Digest identifies what the attempt synced (a template bundle's digest), so that an
	// unchanged bundle is not registered again.
	Digest  string
	Version int64
}

// SyncHead is the last commit synced from a branch.
type SyncHead struct {
	AccountID, Provider, Repository, Branch, SyncType string
	SHA                                               string
	SyncedAt                                          time.Time
}

// Repository is a linked git repository: Proton's repository link. ConnectionARN names
// the credentials the server uses for it (never stored here).
type Repository struct {
	AccountID      string
	Provider, Name string // GITHUB | GITHUB_ENTERPRISE | BITBUCKET; owner/name
	ARN            string
	ConnectionARN  string
	EncryptionKey  string
	CreatedAt      time.Time
}

type AccountSettings struct {
	AccountID                      string
	PipelineServiceRoleArn         string
	PipelineCodebuildRoleArn       string
	PipelineProvisioningRepository *RepositoryBranch
	Version                        int64
	UpdatedAt                      time.Time
}

type Tag struct{ Key, Value string }

type EnvironmentTemplate struct {
	AccountID, Name, DisplayName, Description, EncryptionKey string
	Provisioning                                             string // "" or CUSTOMER_MANAGED
	RecommendedVersion                                       string
	CreatedAt, LastModifiedAt                                time.Time
	Version                                                  int64
}

type ServiceTemplate struct {
	AccountID, Name, DisplayName, Description, EncryptionKey string
	PipelineProvisioning                                     string
	RecommendedVersion                                       string
	CreatedAt, LastModifiedAt                                time.Time
	Version                                                  int64
}

// Template types.
const (
	EnvironmentTemplateType = "ENVIRONMENT"
	ServiceTemplateType     = "SERVICE"
)

// VersionKey names one template version.
type VersionKey struct {
	AccountID, TemplateType, TemplateName string
	Major, Minor                          int
}

// CompatibleTemplate is an environment template major a service template version runs on.
type CompatibleTemplate struct {
	TemplateName string `json:"templateName"`
	MajorVersion string `json:"majorVersion"`
}

type TemplateVersion struct {
	VersionKey
	Description                    string
	Status                         string // REGISTRATION_IN_PROGRESS | REGISTRATION_FAILED | DRAFT | PUBLISHED
	StatusMessage                  string
	SourceBucket, SourceKey        string
	Schema                         string // schema/schema.yaml as registered
	Bundle                         []byte // the bundle as registered; later changes to the S3 object do not affect it
	BundleDigest                   string
	CompatibleEnvironmentTemplates []CompatibleTemplate // service templates
	SupportedComponentSources      []string             // service templates
	CreatedAt, LastModifiedAt      time.Time
	Version                        int64
}

// IdempotencyRecord remembers a client token: which request it came with (a hash of the
// parameters) and which resource it made.
type IdempotencyRecord struct {
	AccountID, Operation, Token string
	ParamsHash                  string
	Resource                    string
	CreatedAt                   time.Time
}

// Deployment statuses (Proton's DeploymentStatus).
const (
	StatusInProgress       = "IN_PROGRESS"
	StatusSucceeded        = "SUCCEEDED"
	StatusFailed           = "FAILED"
	StatusCancelling       = "CANCELLING"
	StatusCancelled        = "CANCELLED"
	StatusDeleteInProgress = "DELETE_IN_PROGRESS"
	StatusDeleteFailed     = "DELETE_FAILED"
	StatusDeleteComplete   = "DELETE_COMPLETE"
)

// InFlight reports whether a deployment status is not final.
func InFlight(status string) bool {
	return status == StatusInProgress || status == StatusCancelling || status == StatusDeleteInProgress
}

// Output is one named output of a deployed resource.
type Output struct {
	Key   string `json:"key"`
	Value string `json:"valueString"`
}

// SetOutputs sets each of next over outputs with the same key in cur, keeping cur's order
// and appending new keys; cur is not changed.
func SetOutputs(cur, next []Output) []Output {
	out := append([]Output(nil), cur...)
	for _, o := range next {
		i := slices.IndexFunc(out, func(c Output) bool { return c.Key == o.Key })
		if i >= 0 {
			out[i].Value = o.Value
		} else {
			out = append(out, o)
		}
	}
	return out
}

// Environment is a deployed (or deploying) environment. Its template version, spec and
// outputs are those of its current deployment; a failed or cancelled update restores them
// from the deployment's initial state.
type Environment struct {
	AccountID, Name, Description   string
	TemplateName                   string
	TemplateMajor, TemplateMinor   int
	Spec                           string
	Provisioning                   string // "" or CUSTOMER_MANAGED
	ProtonServiceRoleArn           string
	CodebuildRoleArn               string
	ComponentRoleArn               string
	EnvironmentAccountConnectionID string
	EnvironmentAccountID           string
	ProvisioningRepository         *RepositoryBranch
	DeploymentStatus               string
	DeploymentStatusMessage        string
	LastAttemptedDeploymentID      string
	LastSucceededDeploymentID      string
	LastDeploymentAttemptedAt      time.Time
	LastDeploymentSucceededAt      time.Time
	Inputs                         string // JSON: the spec's inputs resolved against the schema
	Outputs                        []Output
	CreatedAt                      time.Time
	Version                        int64
}

// TemplateRef names one major version of a template, for list filters.
type TemplateRef struct {
	Name  string
	Major int
}

// Deployment target types (Proton's DeploymentTargetResourceType).
const (
	TargetEnvironment     = "ENVIRONMENT"
	TargetServicePipeline = "SERVICE_PIPELINE"
	TargetServiceInstance = "SERVICE_INSTANCE"
	TargetComponent       = "COMPONENT"
)

// Deployment is one attempt to bring a resource to a target state. The engine owns it while
// it is in flight: Attempt counts runs (a run lost with its replica is started again) and
// the lease says which replica runs it until when.
type Deployment struct {
	ID, AccountID                                                string
	TargetType, TargetARN                                        string
	TargetCreatedAt                                              time.Time
	EnvironmentName, ServiceName, ServiceInstanceName, Component string
	Action                                                       string // PROVISION | DEPROVISION
	Status, StatusMessage                                        string
	InitialState, TargetState                                    string // JSON of the API's DeploymentState
	// Inputs are the resolved inputs the deployment deploys; InitialInputs those the
	// resource had before (restored when an update does not complete). JSON.
	Inputs, InitialInputs string
	Outputs               []Output
	// Reported is what the resource's own commands told NotifyResourceDeploymentStatusChange
	// while the deployment ran: a status ("" = none) and its message.
	ReportedStatus, ReportedMessage string
	// Log is the captured output, kept apart: DeploymentGet leaves it nil, DeploymentUpdate
	// writes it only when not nil.
	Log []byte
	// Resources are what the provisioner reported provisioning (CloudFormation stack
	// resources), for List…ProvisionedResources.
	Resources []ProvisionedResource
	// Awaiting: the engine handed the work on (a pull request of self-managed
	// provisioning) and the deployment stays in flight, unleased, until
	// NotifyResourceDeploymentStatusChange reports how it ended.
	Awaiting bool
	// Request is where the work was handed on (JSON: the pushed branch and its pull
	// request), "" when it was not. RequestOpen means the request still needs watching
	// (an open pull request whose closing cancels the deployment) or closing (its
	// deployment was cancelled).
	Request     string
	RequestOpen bool
	// RequestCheckAt is when the open request is next due to be looked at (zero: now).
	RequestCheckAt                                       time.Time
	LastAttemptedDeploymentID, LastSucceededDeploymentID string
	Attempt                                              int
	LeaseOwner                                           string
	LeaseExpiresAt                                       time.Time
	CreatedAt, LastModifiedAt, CompletedAt               time.Time
	Version                                              int64
}

// DeploymentFilter narrows ListDeployments; empty fields match everything.
type DeploymentFilter struct {
	EnvironmentName, ServiceName, ServiceInstanceName, ComponentName string
}

// AccountConnection is an environment account connection: a request from an environment
// account to let a management account deploy one environment into it.
type AccountConnection struct {
	ID                                          string
	EnvironmentAccountID, ManagementAccountID   string
	EnvironmentName                             string
	RoleArn, ComponentRoleArn, CodebuildRoleArn string
	Status                                      string // PENDING | CONNECTED | REJECTED
	RequestedAt, LastModifiedAt                 time.Time
	Version                                     int64
}

// AccountConnectionFilter selects connections one side of them sees.
type AccountConnectionFilter struct {
	// ManagementSide lists the connections AccountID manages; otherwise those it requested
	// as the environment account.
	ManagementSide  bool
	AccountID       string
	EnvironmentName string   // "" = any
	Statuses        []string // empty = any
}

// Deployed is what every deployed resource (service instance, pipeline) keeps of its
// deployments: the template version, spec and inputs of its current deployment, its status
// and its outputs. A failed or cancelled update restores them from the deployment's
// initial state.
type Deployed struct {
	TemplateName                                         string
	TemplateMajor, TemplateMinor                         int
	Spec                                                 string
	DeploymentStatus, DeploymentStatusMessage            string
	LastAttemptedDeploymentID, LastSucceededDeploymentID string
	LastDeploymentAttemptedAt, LastDeploymentSucceededAt time.Time
	Inputs                                               string // JSON of the resolved inputs
	Outputs                                              []Output
}

// Service statuses (Proton's ServiceStatus) openproton sets.
const (
	ServiceCreateInProgress = "CREATE_IN_PROGRESS"
	ServiceCreateFailed     = "CREATE_FAILED"
	ServiceActive           = "ACTIVE"
	ServiceDeleteInProgress = "DELETE_IN_PROGRESS"
	ServiceDeleteFailed     = "DELETE_FAILED"
	ServiceUpdateInProgress = "UPDATE_IN_PROGRESS"
	ServiceUpdateFailed     = "UPDATE_FAILED"
)

// Service is a service made from a service template: its instances and pipeline are kept
// apart; Status follows their deployments while the service is created, updated or deleted.
type Service struct {
	AccountID, Name, Description                      string
	TemplateName                                      string
	Spec                                              string
	Status, StatusMessage                             string
	RepositoryConnectionArn, RepositoryID, BranchName string
	// Change counts the creates, updates and deletes of the service's instances;
	// the instances and pipeline a change deploys carry its number.
	Change                    int64
	CreatedAt, LastModifiedAt time.Time
	Version                   int64
}

// ServiceInstance is one instance of a service, deployed into an environment.
type ServiceInstance struct {
	AccountID, ServiceName, Name, EnvironmentName string
	Deployed
	Change                 int64 // the service change that last deployed it
	LastClientRequestToken string
	CreatedAt              time.Time
	Version                int64
}

// ServicePipeline is a service's CI/CD pipeline. Until the service's instances have
// deployed it waits, IN_PROGRESS with no deployment yet.
type ServicePipeline struct {
	AccountID, ServiceName string
	Deployed
	// Pending: the pipeline deploys once the service's instances have (its status is
	// IN_PROGRESS meanwhile, with no deployment yet).
	Pending   bool
	Change    int64 // the service change that last deployed it
	CreatedAt time.Time
	Version   int64
}

// Service instance list orders (ListServiceInstancesSortBy).
const (
	SortByServiceName   = "serviceName"
	SortByName          = "name"
	SortByStatus        = "deploymentStatus"
	SortByTemplateName  = "templateName"
	SortByEnvironment   = "environmentName"
	SortByLastAttempted = "lastDeploymentAttemptedAt"
	SortByCreatedAt     = "createdAt"
)

// ServiceInstanceFilter narrows and orders ListServiceInstances. Values of one key match
// any of them; different keys must all match. Zero times do not filter.
type ServiceInstanceFilter struct {
	Service                                                        string // "" = any
	Names, Statuses, TemplateNames, ServiceNames, EnvironmentNames []string
	// VersionStatuses keeps instances whose deployed template version has one of these
	// statuses (DRAFT, PUBLISHED, ...).
	VersionStatuses                 []string
	AttemptedBefore, AttemptedAfter time.Time
	CreatedBefore, CreatedAfter     time.Time
	SortBy                          string // one of the SortBy constants; "" = serviceName
	Descending                      bool
}

// ProvisionedResource is one resource a deployment's engine reported.
type ProvisionedResource struct {
	Name       string `json:"name"`
	Identifier string `json:"identifier"`
	Engine     string `json:"provisioningEngine"`
}

// Component is a directly defined component: its own IaC template, attached to a service
// instance or detached in an environment.
type Component struct {
	AccountID, Name, Description        string
	EnvironmentName                     string
	ServiceName, ServiceInstanceName    string // both "" when detached
	ServiceSpec, TemplateFile, Manifest string
	Deployed                            // template fields unused
	LastClientRequestToken              string
	CreatedAt, LastModifiedAt           time.Time
	Version                             int64
}
