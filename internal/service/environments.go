package service

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/google/uuid"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/deploy"
	"github.com/openproton/openproton/internal/store"
)

// Environments: created, updated and deleted through deployments. A write stores the
// environment and its deployment and enqueues the deployment's job in one transaction; the
// deploy runner does the rest (see environmentDeployer).

func (s *Service) envARN(accountID, name string) string { return s.arn(accountID, "environment/"+name) }

func (s *Service) environmentOut(e *store.Environment) *types.Environment {
	out := &types.Environment{
		Name: e.Name, Description: e.Description, Arn: s.envARN(e.AccountID, e.Name),
		CreatedAt: types.TimeOf(e.CreatedAt), LastDeploymentAttemptedAt: types.TimeOf(e.LastDeploymentAttemptedAt),
		LastDeploymentSucceededAt: types.TimeOf(e.LastDeploymentSucceededAt),
		TemplateName:              e.TemplateName, TemplateMajorVersion: strconv.Itoa(e.TemplateMajor),
		TemplateMinorVersion: strconv.Itoa(e.TemplateMinor), DeploymentStatus: types.DeploymentStatus(e.DeploymentStatus),
		DeploymentStatusMessage: e.DeploymentStatusMessage, ProtonServiceRoleArn: e.ProtonServiceRoleArn,
		EnvironmentAccountConnectionId: e.EnvironmentAccountConnectionID, EnvironmentAccountId: e.EnvironmentAccountID,
		Spec: e.Spec, Provisioning: types.Provisioning(e.Provisioning), ComponentRoleArn: e.ComponentRoleArn,
		CodebuildRoleArn: e.CodebuildRoleArn, LastAttemptedDeploymentId: e.LastAttemptedDeploymentID,
		LastSucceededDeploymentId: e.LastSucceededDeploymentID,
	}
	if e.LastDeploymentSucceededAt.IsZero() || e.LastDeploymentSucceededAt.Unix() <= 0 {
		// Required by the model; before any success Proton reports the creation time.
		out.LastDeploymentSucceededAt = types.TimeOf(e.CreatedAt)
	}
	if r := e.ProvisioningRepository; r != nil {
		out.ProvisioningRepository = &types.RepositoryBranch{Arn: r.ARN, Provider: types.RepositoryProvider(r.Provider), Name: r.Name, Branch: r.Branch}
	}
	return out
}

func (s *Service) environmentSummaryOut(e *store.Environment) types.EnvironmentSummary {
	o := s.environmentOut(e)
	return types.EnvironmentSummary{
		Name: o.Name, Description: o.Description, CreatedAt: o.CreatedAt, LastDeploymentAttemptedAt: o.LastDeploymentAttemptedAt,
		LastDeploymentSucceededAt: o.LastDeploymentSucceededAt, Arn: o.Arn, TemplateName: o.TemplateName,
		TemplateMajorVersion: o.TemplateMajorVersion, TemplateMinorVersion: o.TemplateMinorVersion,
		DeploymentStatus: o.DeploymentStatus, DeploymentStatusMessage: o.DeploymentStatusMessage,
		ProtonServiceRoleArn: o.ProtonServiceRoleArn, EnvironmentAccountConnectionId: o.EnvironmentAccountConnectionId,
		EnvironmentAccountId: o.EnvironmentAccountId, Provisioning: o.Provisioning, ComponentRoleArn: o.ComponentRoleArn,
		LastAttemptedDeploymentId: o.LastAttemptedDeploymentId, LastSucceededDeploymentId: o.LastSucceededDeploymentId,
	}
}

// envTarget is a resolved environment deployment target: a published template version, its
// bundle, and the spec's inputs checked against the bundle's schema.
type envTarget struct {
	template *store.EnvironmentTemplate
	version  *store.TemplateVersion
	bundle   *bundle.Bundle
	spec     string
	inputs   string // JSON of the resolved inputs
}

// resolveEnvVersion finds the published version an environment deploys: the given minor,
// or the recommended (highest published) minor of the major.
func (s *Service) resolveEnvVersion(ctx context.Context, accountID, templateName string, major int, minor string) (*store.TemplateVersion, error) {
	return s.resolveVersion(ctx, store.EnvironmentTemplateType, accountID, templateName, major, minor)
}

// resolveVersion finds a published template version: the given minor, or the recommended
// (highest published) minor of the major.
func (s *Service) resolveVersion(ctx context.Context, templateType, accountID, templateName string, major int, minor string) (*store.TemplateVersion, error) {
	what := "environment template"
	if templateType == store.ServiceTemplateType {
		what = "service template"
	}
	if minor == "" {
		v, err := s.store.TemplateVersionLatest(ctx, accountID, templateType, templateName, major, true)
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.Validationf("%s %s has no published version in major version %d", what, templateName, major)
		}
		return v, err
	}
	mi, err := parsePart("templateMinorVersion", minor)
	if err != nil {
		return nil, err
	}
	v, err := s.store.TemplateVersionGet(ctx, store.VersionKey{AccountID: accountID, TemplateType: templateType,
		TemplateName: templateName, Major: major, Minor: mi})
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("%s version %s:%d.%d not found", what, templateName, major, mi)
	}
	if err != nil {
		return nil, err
	}
	if v.Status != string(types.TemplateVersionStatusPublished) {
		return nil, api.Validationf("%s version %s:%d.%d is %s; only PUBLISHED versions can be deployed", what, templateName, major, mi, v.Status)
	}
	return v, nil
}

// checkEnvTarget loads v's bundle and checks spec against it. current holds the inputs the
// environment has now, for ${Proton::CURRENT_VAL}.
func (s *Service) checkEnvTarget(ctx context.Context, t *store.EnvironmentTemplate, v *store.TemplateVersion, spec string, current map[string]any) (*envTarget, error) {
	b, err := s.bundleCache.load(ctx, s.store, v, bundle.Environment, bundle.Options{CustomerManaged: t.Provisioning == string(types.ProvisioningCustomerManaged)})
	var stale *bundle.Error
	if errors.As(err, &stale) {
		// Registered under older bundle rules that it no longer meets.
		return nil, api.Validationf("environment template version %s:%d.%d cannot be deployed: %s", v.TemplateName, v.Major, v.Minor, stale.Message)
	}
	if err != nil {
		return nil, err
	}
	inputs, err := envInputs(b, spec, current)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(inputs)
	if err != nil {
		return nil, api.Validationf("spec: inputs cannot be represented as JSON: %v", err)
	}
	return &envTarget{template: t, version: v, bundle: b, spec: spec, inputs: string(raw)}, nil
}

// envInputs resolves a spec's inputs against a bundle's schema; problems are
// ValidationExceptions naming the input.
func envInputs(b *bundle.Bundle, spec string, current map[string]any) (map[string]any, error) {
	parsed, err := bundle.ParseEnvironmentSpec(spec)
	if err != nil {
		return nil, api.Validationf("spec: %v", err)
	}
	inputs, err := b.Schema.Inputs(b.Schema.EnvironmentInputType, parsed.Inputs, current)
	if err != nil {
		return nil, api.Validationf("spec: %v", err)
	}
	return inputs, nil
}

// envRoles are the roles an environment deploys with: codebuild for CodeBuild
// provisioning, service (protonServiceRoleArn, or its account connection's role) for
// CloudFormation.
type envRoles struct {
	codebuild, service string
	selfManaged        bool // a provisioningRepository takes the rendered files
	terraformDirect    bool // the server applies Terraform templates itself
}

// checkProvisioning enforces what each way of provisioning needs, and refuses honestly what
// openproton cannot provision yet.
func checkProvisioning(b *bundle.Bundle, roles envRoles) error {
	if b.Infrastructure == nil {
		return nil // CUSTOMER_MANAGED: nothing to provision
	}
	t := b.Infrastructure.Manifest.Templates[0]
	switch t.RenderingEngine {
	case "codebuild":
		if roles.codebuild == "" {
			return api.Validationf("codebuildRoleArn is required to deploy an environment from a CodeBuild provisioning template")
		}
		return nil
	case "jinja":
		if roles.selfManaged {
			return api.Validationf("provisioningRepository is for Terraform templates (self-managed provisioning); this template is CloudFormation")
		}
		if roles.service == "" {
			return api.Validationf("protonServiceRoleArn (or an environment account connection) is required to deploy an environment from a CloudFormation template")
		}
		return nil
	case "hcl":
		if roles.selfManaged || roles.terraformDirect {
			return nil
		}
		return api.Validationf("a Terraform template needs a provisioningRepository (self-managed provisioning); this server does not apply Terraform directly (--terraform-bin)")
	default:
		return api.NotImplementedf("provisioning %s/%s templates yet; CodeBuild provisioning and CloudFormation templates and CUSTOMER_MANAGED environments deploy today", t.RenderingEngine, t.TemplateLanguage)
	}
}

func marshalState(st *types.DeploymentState) string {
	if st == nil {
		return ""
	}
	b, _ := json.Marshal(st)
	return string(b)
}

func envState(e *store.Environment) *types.DeploymentState {
	return &types.DeploymentState{Environment: &types.EnvironmentState{Spec: e.Spec, TemplateName: e.TemplateName,
		TemplateMajorVersion: strconv.Itoa(e.TemplateMajor), TemplateMinorVersion: strconv.Itoa(e.TemplateMinor)}}
}

// newEnvDeployment starts a deployment of e (already set to its target) in q: the record,
// the environment's status, and the job.
func (s *Service) newEnvDeployment(ctx context.Context, q store.Queries, e *store.Environment, action string, initial *types.DeploymentState, initialInputs string) (*store.Deployment, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	now := s.now()
	status := store.StatusInProgress
	if action == actionDeprovision {
		status = store.StatusDeleteInProgress
	}
	d := &store.Deployment{
		ID: id.String(), AccountID: e.AccountID, TargetType: store.TargetEnvironment, TargetARN: s.envARN(e.AccountID, e.Name),
		TargetCreatedAt: e.CreatedAt, EnvironmentName: e.Name, Action: action, Status: status,
		InitialState: marshalState(initial), TargetState: marshalState(envState(e)), Inputs: e.Inputs, InitialInputs: initialInputs,
		LastAttemptedDeploymentID: e.LastAttemptedDeploymentID, LastSucceededDeploymentID: e.LastSucceededDeploymentID,
		CreatedAt: now, LastModifiedAt: now,
	}
	if action == actionDeprovision {
		d.TargetState, d.Inputs = "", ""
		d.InitialState, d.InitialInputs = marshalState(envState(e)), e.Inputs
	}
	if err := q.DeploymentCreate(ctx, d); err != nil {
		return nil, err
	}
	e.DeploymentStatus, e.DeploymentStatusMessage = status, ""
	e.LastAttemptedDeploymentID, e.LastDeploymentAttemptedAt = d.ID, now
	if err := s.queue.EnqueueTx(ctx, q, deploy.Args{AccountID: d.AccountID, DeploymentID: d.ID}, nil); err != nil {
		return nil, err
	}
	return d, nil
}

const (
	actionProvision   = "PROVISION"
	actionDeprovision = "DEPROVISION"
)

func (s *Service) CreateEnvironment(ctx context.Context, in *types.CreateEnvironmentInput) (*types.CreateEnvironmentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var repo *store.RepositoryBranch
	if r := in.ProvisioningRepository; r != nil {
		if repo, err = s.linkedRepository(ctx, s.store, c.AccountID, "provisioningRepository", r); err != nil {
			return nil, err
		}
	}
	var conn *store.AccountConnection
	codebuildRole := in.CodebuildRoleArn
	if in.EnvironmentAccountConnectionId != "" {
		if in.ProtonServiceRoleArn != "" {
			return nil, api.Validationf("specify either environmentAccountConnectionId or protonServiceRoleArn, not both")
		}
		if conn, err = s.connectedFor(ctx, c.AccountID, in.EnvironmentAccountConnectionId, in.Name); err != nil {
			return nil, err
		}
		if codebuildRole == "" {
			codebuildRole = conn.CodebuildRoleArn
		}
	}
	t, err := s.store.EnvironmentTemplateGet(ctx, c.AccountID, in.TemplateName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("environment template %s not found", in.TemplateName)
	}
	if err != nil {
		return nil, err
	}
	major, err := parsePart("templateMajorVersion", in.TemplateMajorVersion)
	if err != nil {
		return nil, err
	}
	v, err := s.resolveEnvVersion(ctx, c.AccountID, in.TemplateName, major, in.TemplateMinorVersion)
	if err != nil {
		return nil, err
	}
	target, err := s.checkEnvTarget(ctx, t, v, in.Spec, nil)
	if err != nil {
		return nil, err
	}
	serviceRole := in.ProtonServiceRoleArn
	if conn != nil {
		serviceRole = conn.RoleArn
	}
	if err := checkProvisioning(target.bundle, envRoles{codebuild: codebuildRole, service: serviceRole, selfManaged: repo != nil, terraformDirect: s.terraformDirect}); err != nil {
		return nil, err
	}
	now := s.now()
	e := &store.Environment{
		AccountID: c.AccountID, Name: in.Name, Description: deref(in.Description), TemplateName: t.Name,
		TemplateMajor: v.Major, TemplateMinor: v.Minor, Spec: in.Spec, Inputs: target.inputs, Provisioning: t.Provisioning,
		ProtonServiceRoleArn: in.ProtonServiceRoleArn, CodebuildRoleArn: in.CodebuildRoleArn, ComponentRoleArn: in.ComponentRoleArn,
		ProvisioningRepository: repo, CreatedAt: now,
	}
	if conn != nil {
		e.EnvironmentAccountConnectionID, e.EnvironmentAccountID = conn.ID, conn.EnvironmentAccountID
	}
	arn := s.envARN(c.AccountID, in.Name)
	err = s.createWithTags(ctx, c.AccountID, arn, in.Tags, func(q store.Queries) error {
		if conn != nil {
			if err := holdConnection(ctx, q, conn.ID); err != nil {
				return err
			}
		}
		if in.ProvisioningRepository != nil {
			if _, err := s.linkedRepository(ctx, q, c.AccountID, "provisioningRepository", in.ProvisioningRepository); err != nil {
				return err
			}
		}
		if _, err := s.newEnvDeployment(ctx, q, e, actionProvision, nil, ""); err != nil {
			return err
		}
		return q.EnvironmentCreate(ctx, e)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		cur, err := s.store.EnvironmentGet(ctx, c.AccountID, in.Name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.Conflictf("environment %s was being deleted while this request created it; retry", in.Name)
		}
		if err != nil {
			return nil, err
		}
		same := cur.TemplateName == e.TemplateName && cur.TemplateMajor == e.TemplateMajor && cur.TemplateMinor == e.TemplateMinor &&
			cur.Spec == e.Spec && cur.Description == e.Description && cur.ProtonServiceRoleArn == e.ProtonServiceRoleArn &&
			cur.CodebuildRoleArn == e.CodebuildRoleArn && cur.ComponentRoleArn == e.ComponentRoleArn &&
			cur.EnvironmentAccountConnectionID == e.EnvironmentAccountConnectionID
		if err := s.sameRetry(ctx, c.AccountID, arn, in.Tags, same, false, "environment "+in.Name); err != nil {
			return nil, err
		}
		return &types.CreateEnvironmentOutput{Environment: s.environmentOut(cur)}, nil
	}
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("environment account connection %s changed while environment %s was created; retry", in.EnvironmentAccountConnectionId, in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &types.CreateEnvironmentOutput{Environment: s.environmentOut(e)}, nil
}

func (s *Service) GetEnvironment(ctx context.Context, in *types.GetEnvironmentInput) (*types.GetEnvironmentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.getEnvironment(ctx, s.store, c.AccountID, in.Name)
	if err != nil {
		return nil, err
	}
	return &types.GetEnvironmentOutput{Environment: s.environmentOut(e)}, nil
}

func (s *Service) getEnvironment(ctx context.Context, q store.Queries, accountID, name string) (*store.Environment, error) {
	e, err := q.EnvironmentGet(ctx, accountID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("environment %s not found", name)
	}
	return e, err
}

func (s *Service) ListEnvironments(ctx context.Context, in *types.ListEnvironmentsInput) (*types.ListEnvironmentsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var filters []store.TemplateRef
	for _, f := range in.EnvironmentTemplates {
		major, err := parsePart("environmentTemplates.majorVersion", f.MajorVersion)
		if err != nil {
			return nil, err
		}
		filters = append(filters, store.TemplateRef{Name: f.TemplateName, Major: major})
	}
	scope := "environments/" + c.AccountID + "/" + paramsHash(in.EnvironmentTemplates)
	p, err := s.openPage(scope, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	list, next, err := s.store.EnvironmentList(ctx, c.AccountID, filters, p)
	if err != nil {
		return nil, err
	}
	out := &types.ListEnvironmentsOutput{Environments: []types.EnvironmentSummary{}, NextToken: s.sealPage(scope, next)}
	for _, e := range list {
		out.Environments = append(out.Environments, s.environmentSummaryOut(e))
	}
	return out, nil
}

func (s *Service) UpdateEnvironment(ctx context.Context, in *types.UpdateEnvironmentInput) (*types.UpdateEnvironmentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.getEnvironment(ctx, s.store, c.AccountID, in.Name)
	if err != nil {
		return nil, err
	}
	var repo *store.RepositoryBranch
	if in.ProvisioningRepository != nil {
		// Another repository for a self-managed environment: its next deployments go
		// there. The provisioning method itself cannot change.
		if e.ProvisioningRepository == nil {
			return nil, api.Validationf("provisioningRepository: environment %s is not provisioned through a repository (self-managed provisioning); its provisioning method cannot change", e.Name)
		}
		if repo, err = s.linkedRepository(ctx, s.store, c.AccountID, "provisioningRepository", in.ProvisioningRepository); err != nil {
			return nil, err
		}
	}
	var conn *store.AccountConnection
	if in.EnvironmentAccountConnectionId != "" {
		// Proton: only an environment that has a connection may move to another one, of the
		// same environment account, and not together with protonServiceRoleArn.
		switch {
		case in.ProtonServiceRoleArn != "":
			return nil, api.Validationf("update either environmentAccountConnectionId or protonServiceRoleArn, not both")
		case e.EnvironmentAccountConnectionID == "":
			return nil, api.Validationf("environmentAccountConnectionId: environment %s is not associated with an environment account connection", e.Name)
		}
		if conn, err = s.connectedFor(ctx, c.AccountID, in.EnvironmentAccountConnectionId, e.Name); err != nil {
			return nil, err
		}
		if conn.EnvironmentAccountID != e.EnvironmentAccountID {
			return nil, api.Validationf("environmentAccountConnectionId: connection %s is for environment account %s; the environment is in %s", conn.ID, conn.EnvironmentAccountID, e.EnvironmentAccountID)
		}
	}
	if err := updatable(e); err != nil {
		return nil, err
	}
	target, err := s.updateTarget(ctx, e, in)
	if err != nil {
		return nil, err
	}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		cur, err := s.getEnvironment(ctx, q, c.AccountID, in.Name)
		if err != nil {
			return err
		}
		if err := updatable(cur); err != nil {
			return err
		}
		if cur.Version != e.Version {
			return api.Conflictf("environment %s changed while it was being updated; retry", in.Name)
		}
		initial := envState(cur)
		if in.Description != nil {
			cur.Description = *in.Description
		}
		if in.ProtonServiceRoleArn != "" {
			cur.ProtonServiceRoleArn = in.ProtonServiceRoleArn
		}
		if in.CodebuildRoleArn != "" {
			cur.CodebuildRoleArn = in.CodebuildRoleArn
		}
		if in.ComponentRoleArn != "" {
			cur.ComponentRoleArn = in.ComponentRoleArn
		}
		if repo != nil {
			if _, err := s.linkedRepository(ctx, q, c.AccountID, "provisioningRepository", in.ProvisioningRepository); err != nil {
				return err
			}
			cur.ProvisioningRepository = repo
		}
		if conn != nil {
			if err := holdConnection(ctx, q, conn.ID); err != nil {
				return err
			}
			cur.EnvironmentAccountConnectionID = conn.ID
		}
		if target != nil {
			roles := envRoles{codebuild: cur.CodebuildRoleArn, service: cur.ProtonServiceRoleArn, selfManaged: cur.ProvisioningRepository != nil, terraformDirect: s.terraformDirect}
			if cur.EnvironmentAccountConnectionID != "" {
				if linked, err := q.AccountConnectionGet(ctx, cur.EnvironmentAccountConnectionID); err == nil {
					roles.service = linked.RoleArn
					if roles.codebuild == "" {
						roles.codebuild = linked.CodebuildRoleArn
					}
				}
			}
			if err := checkProvisioning(target.bundle, roles); err != nil {
				return err
			}
			initialInputs := cur.Inputs
			cur.TemplateMajor, cur.TemplateMinor, cur.Spec, cur.Inputs = target.version.Major, target.version.Minor, target.spec, target.inputs
			if _, err := s.newEnvDeployment(ctx, q, cur, actionProvision, initial, initialInputs); err != nil {
				return err
			}
		}
		if err := q.EnvironmentUpdate(ctx, cur); err != nil {
			return err
		}
		e = cur
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("environment %s changed while it was being updated; retry", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &types.UpdateEnvironmentOutput{Environment: s.environmentOut(e)}, nil
}

// updatable refuses changes while a deployment runs.
func updatable(e *store.Environment) error {
	if store.InFlight(e.DeploymentStatus) {
		return api.Conflictf("environment %s has a deployment in progress (%s); wait for it or cancel it", e.Name, e.DeploymentStatus)
	}
	return nil
}

// updateTarget applies Proton's deployment types: NONE changes metadata only (nil target);
// CURRENT_VERSION redeploys the version in use with the new (or same) spec; MINOR_VERSION
// moves to the given or recommended minor of the major in use; MAJOR_VERSION to a higher
// major, by default the template's recommended version.
func (s *Service) updateTarget(ctx context.Context, e *store.Environment, in *types.UpdateEnvironmentInput) (*envTarget, error) {
	switch in.DeploymentType {
	case types.DeploymentUpdateTypeNone:
		if in.Spec != "" || in.TemplateMajorVersion != "" || in.TemplateMinorVersion != "" {
			return nil, api.Validationf("deploymentType NONE updates metadata only; spec, templateMajorVersion and templateMinorVersion need a deployment (CURRENT_VERSION, MINOR_VERSION or MAJOR_VERSION)")
		}
		return nil, nil
	case types.DeploymentUpdateTypeCurrentVersion:
		if in.TemplateMajorVersion != "" || in.TemplateMinorVersion != "" {
			return nil, api.Validationf("deploymentType CURRENT_VERSION keeps the template version; omit templateMajorVersion and templateMinorVersion")
		}
	}
	t, err := s.store.EnvironmentTemplateGet(ctx, e.AccountID, e.TemplateName)
	if err != nil {
		return nil, err
	}
	var v *store.TemplateVersion
	switch in.DeploymentType {
	case types.DeploymentUpdateTypeCurrentVersion:
		v, err = s.store.TemplateVersionGet(ctx, store.VersionKey{AccountID: e.AccountID, TemplateType: store.EnvironmentTemplateType,
			TemplateName: e.TemplateName, Major: e.TemplateMajor, Minor: e.TemplateMinor})
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.Validationf("the environment's template version %s:%d.%d no longer exists", e.TemplateName, e.TemplateMajor, e.TemplateMinor)
		}
	case types.DeploymentUpdateTypeMinorVersion:
		if in.TemplateMajorVersion != "" && in.TemplateMajorVersion != strconv.Itoa(e.TemplateMajor) {
			return nil, api.Validationf("deploymentType MINOR_VERSION stays in major version %d; use MAJOR_VERSION to change templateMajorVersion", e.TemplateMajor)
		}
		v, err = s.resolveEnvVersion(ctx, e.AccountID, e.TemplateName, e.TemplateMajor, in.TemplateMinorVersion)
	case types.DeploymentUpdateTypeMajorVersion:
		major := -1
		if in.TemplateMajorVersion != "" {
			if major, err = parsePart("templateMajorVersion", in.TemplateMajorVersion); err != nil {
				return nil, err
			}
		} else {
			latest, lerr := s.store.TemplateVersionLatest(ctx, e.AccountID, store.EnvironmentTemplateType, e.TemplateName, -1, true)
			if lerr != nil && !errors.Is(lerr, store.ErrNotFound) {
				return nil, lerr
			}
			if latest != nil {
				major = latest.Major
			}
		}
		if major <= e.TemplateMajor {
			return nil, api.Validationf("deploymentType MAJOR_VERSION needs a published major version higher than %d", e.TemplateMajor)
		}
		v, err = s.resolveEnvVersion(ctx, e.AccountID, e.TemplateName, major, in.TemplateMinorVersion)
	default:
		return nil, api.Validationf("deploymentType must be NONE, CURRENT_VERSION, MINOR_VERSION or MAJOR_VERSION")
	}
	if err != nil {
		return nil, err
	}
	spec := in.Spec
	if spec == "" {
		spec = e.Spec
	}
	return s.checkEnvTarget(ctx, t, v, spec, currentEnvInputs(e))
}

// currentEnvInputs are the inputs the environment deploys with now.
func currentEnvInputs(e *store.Environment) map[string]any {
	m, err := bundle.DecodeInputs(e.Inputs)
	if err != nil {
		return nil
	}
	return m
}

func (s *Service) DeleteEnvironment(ctx context.Context, in *types.DeleteEnvironmentInput) (*types.DeleteEnvironmentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Environment
	err = s.store.Tx(ctx, func(q store.Queries) error {
		// The lock comes before counting instances: see holdEnvironment.
		e, err := q.EnvironmentLock(ctx, c.AccountID, in.Name)
		if errors.Is(err, store.ErrNotFound) {
			return nil // already gone: deletes are idempotent
		}
		if err != nil {
			return err
		}
		out = e
		switch e.DeploymentStatus {
		case store.StatusDeleteInProgress:
			return nil // a retry while deleting returns the environment being deleted
		case store.StatusInProgress, store.StatusCancelling:
			return api.Conflictf("environment %s has a deployment in progress (%s); wait for it or cancel it before deleting", e.Name, e.DeploymentStatus)
		}
		n, err := q.ServiceInstanceCountInEnvironment(ctx, c.AccountID, e.Name)
		if err != nil {
			return err
		}
		if n > 0 {
			return api.Conflictf("environment %s has %d service instance(s); delete them first", e.Name, n)
		}
		if comps, _, err := q.ComponentList(ctx, c.AccountID, e.Name, "", "", store.Page{Limit: 1}); err != nil {
			return err
		} else if len(comps) > 0 {
			return api.Conflictf("environment %s has components (%s); delete them first", e.Name, comps[0].Name)
		}
		if _, err := s.newEnvDeployment(ctx, q, e, actionDeprovision, nil, ""); err != nil {
			return err
		}
		return q.EnvironmentUpdate(ctx, e)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("environment %s changed while it was being deleted; retry", in.Name)
	}
	if err != nil {
		return nil, err
	}
	if out == nil {
		return &types.DeleteEnvironmentOutput{}, nil
	}
	return &types.DeleteEnvironmentOutput{Environment: s.environmentOut(out)}, nil
}

func (s *Service) CancelEnvironmentDeployment(ctx context.Context, in *types.CancelEnvironmentDeploymentInput) (*types.CancelEnvironmentDeploymentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Environment
	err = s.txRetrying(ctx, func(q store.Queries) error {
		e, err := s.getEnvironment(ctx, q, c.AccountID, in.EnvironmentName)
		if err != nil {
			return err
		}
		if e.DeploymentStatus != store.StatusInProgress {
			return api.Conflictf("environment %s has no deployment in progress to cancel (status %s)", e.Name, e.DeploymentStatus)
		}
		d, err := q.DeploymentGet(ctx, c.AccountID, e.LastAttemptedDeploymentID)
		if err != nil {
			return err
		}
		if d.Awaiting {
			settled, err := s.cancelHandedOn(ctx, q, d)
			if err != nil {
				return err
			}
			if settled {
				out, err = s.getEnvironment(ctx, q, c.AccountID, in.EnvironmentName)
				return err
			}
			e.DeploymentStatus = store.StatusCancelling
			out = e
			return q.EnvironmentUpdate(ctx, e)
		}
		d.Status, d.LastModifiedAt = store.StatusCancelling, s.now()
		if err := q.DeploymentUpdate(ctx, d); err != nil {
			return err
		}
		e.DeploymentStatus = store.StatusCancelling
		out = e
		return q.EnvironmentUpdate(ctx, e)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("environment %s changed while it was being cancelled; retry", in.EnvironmentName)
	}
	if err != nil {
		return nil, err
	}
	s.kickWatcher() // a cancelled hand-on's request is to be closed
	return &types.CancelEnvironmentDeploymentOutput{Environment: s.environmentOut(out)}, nil
}

func (s *Service) ListEnvironmentOutputs(ctx context.Context, in *types.ListEnvironmentOutputsInput) (*types.ListEnvironmentOutputsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.getEnvironment(ctx, s.store, c.AccountID, in.EnvironmentName)
	if err != nil {
		return nil, err
	}
	outputs := e.Outputs
	if in.DeploymentId != "" {
		d, err := s.store.DeploymentGet(ctx, c.AccountID, in.DeploymentId)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (d.TargetType != store.TargetEnvironment || d.EnvironmentName != e.Name)) {
			return nil, api.NotFoundf("deployment %s of environment %s not found", in.DeploymentId, e.Name)
		}
		if err != nil {
			return nil, err
		}
		outputs = d.Outputs
	}
	return &types.ListEnvironmentOutputsOutput{Outputs: outputsOut(outputs)}, nil
}

func outputsOut(list []store.Output) []types.Output {
	out := make([]types.Output, 0, len(list))
	for _, o := range list {
		out = append(out, types.Output{Key: o.Key, ValueString: o.Value})
	}
	return out
}

// ListEnvironmentProvisionedResources lists what the environment's provisioner reported
// creating. CodeBuild provisioning and CUSTOMER_MANAGED environments report none, as on
// Proton.
func (s *Service) ListEnvironmentProvisionedResources(ctx context.Context, in *types.ListEnvironmentProvisionedResourcesInput) (*types.ListEnvironmentProvisionedResourcesOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.getEnvironment(ctx, s.store, c.AccountID, in.EnvironmentName)
	if err != nil {
		return nil, err
	}
	list, err := s.provisionedResources(ctx, c.AccountID, e.LastSucceededDeploymentID)
	if err != nil {
		return nil, err
	}
	return &types.ListEnvironmentProvisionedResourcesOutput{ProvisionedResources: list}, nil
}
