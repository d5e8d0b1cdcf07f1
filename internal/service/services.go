package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/store"
)

// Services: a service is made of instances (one per environment) and, when its template has
// one, a pipeline. CreateService, UpdateService (adding or removing instances) and
// DeleteService start the instances' deployments; as each finishes, the deployer calls
// settleService, which deploys the pipeline once every instance has, and finally sets the
// service's status (see settle.go).

func (s *Service) serviceARN(accountID, name string) string { return s.arn(accountID, "service/"+name) }

func (s *Service) instanceARN(accountID, service, name string) string {
	return s.arn(accountID, "service/"+service+"/service-instance/"+name)
}

func (s *Service) pipelineARN(accountID, service string) string {
	return s.arn(accountID, "service/"+service+"/pipeline")
}

func (s *Service) serviceOut(svc *store.Service, p *store.ServicePipeline) *types.Service {
	out := &types.Service{
		Name: svc.Name, Description: svc.Description, Arn: s.serviceARN(svc.AccountID, svc.Name), TemplateName: svc.TemplateName,
		CreatedAt: types.TimeOf(svc.CreatedAt), LastModifiedAt: types.TimeOf(svc.LastModifiedAt), Status: types.ServiceStatus(svc.Status),
		StatusMessage: svc.StatusMessage, Spec: svc.Spec, RepositoryConnectionArn: svc.RepositoryConnectionArn,
		RepositoryId: svc.RepositoryID, BranchName: svc.BranchName,
	}
	if p != nil {
		out.Pipeline = s.pipelineOut(p)
	}
	return out
}

func (s *Service) serviceSummaryOut(svc *store.Service) types.ServiceSummary {
	return types.ServiceSummary{
		Name: svc.Name, Description: svc.Description, Arn: s.serviceARN(svc.AccountID, svc.Name), TemplateName: svc.TemplateName,
		CreatedAt: types.TimeOf(svc.CreatedAt), LastModifiedAt: types.TimeOf(svc.LastModifiedAt), Status: types.ServiceStatus(svc.Status),
		StatusMessage: svc.StatusMessage,
	}
}

func (s *Service) pipelineOut(p *store.ServicePipeline) *types.ServicePipeline {
	return &types.ServicePipeline{
		Arn: s.pipelineARN(p.AccountID, p.ServiceName), CreatedAt: types.TimeOf(p.CreatedAt),
		LastDeploymentAttemptedAt: types.TimeOf(p.LastDeploymentAttemptedAt), LastDeploymentSucceededAt: lastSucceededAt(&p.Deployed, p.CreatedAt),
		TemplateName: p.TemplateName, TemplateMajorVersion: strconv.Itoa(p.TemplateMajor), TemplateMinorVersion: strconv.Itoa(p.TemplateMinor),
		DeploymentStatus: types.DeploymentStatus(p.DeploymentStatus), DeploymentStatusMessage: p.DeploymentStatusMessage, Spec: p.Spec,
		LastAttemptedDeploymentId: p.LastAttemptedDeploymentID, LastSucceededDeploymentId: p.LastSucceededDeploymentID,
	}
}

// svcTarget is a published service template version with its bundle.
type svcTarget struct {
	template *store.ServiceTemplate
	version  *store.TemplateVersion
	bundle   *bundle.Bundle
}

// loadSvcTarget resolves a service template version (minor "" = recommended minor of the
// major) and loads its bundle.
func (s *Service) loadSvcTarget(ctx context.Context, accountID, templateName string, major int, minor string) (*svcTarget, error) {
	t, err := s.store.ServiceTemplateGet(ctx, accountID, templateName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("service template %s not found", templateName)
	}
	if err != nil {
		return nil, err
	}
	v, err := s.resolveVersion(ctx, store.ServiceTemplateType, accountID, templateName, major, minor)
	if err != nil {
		return nil, err
	}
	return s.svcTargetOf(ctx, t, v)
}

func (s *Service) svcTargetOf(ctx context.Context, t *store.ServiceTemplate, v *store.TemplateVersion) (*svcTarget, error) {
	b, err := s.bundleCache.load(ctx, s.store, v, bundle.Service, bundle.Options{})
	var stale *bundle.Error
	if errors.As(err, &stale) {
		return nil, api.Validationf("service template version %s:%d.%d cannot be deployed: %s", v.TemplateName, v.Major, v.Minor, stale.Message)
	}
	if err != nil {
		return nil, err
	}
	return &svcTarget{template: t, version: v, bundle: b}, nil
}

// instancePlan is an instance checked and ready to be created or redeployed.
type instancePlan struct {
	name, environment string
	spec              string // the service spec it was given (UpdateServiceInstance)
	inputs            string // JSON of the resolved inputs
}

// planInstance checks one instance of a spec against the target version: its environment
// exists, has deployed, runs a compatible template, can provision the instance, and the
// inputs match the schema.
func (s *Service) planInstance(ctx context.Context, accountID string, t *svcTarget, in bundle.InstanceSpec, current map[string]any) (*instancePlan, error) {
	e, err := s.store.EnvironmentGet(ctx, accountID, in.Environment)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("environment %s (of service instance %s) not found", in.Environment, in.Name)
	}
	if err != nil {
		return nil, err
	}
	if err := instanceEnvironmentReady(e, in.Name); err != nil {
		return nil, err
	}
	v := t.version
	if !slices.ContainsFunc(v.CompatibleEnvironmentTemplates, func(c store.CompatibleTemplate) bool {
		return c.TemplateName == e.TemplateName && c.MajorVersion == strconv.Itoa(e.TemplateMajor)
	}) {
		return nil, api.Validationf("service instance %s: environment %s runs %s:%d, which service template version %s:%d.%d is not compatible with",
			in.Name, e.Name, e.TemplateName, e.TemplateMajor, v.TemplateName, v.Major, v.Minor)
	}
	role, serviceRole := e.CodebuildRoleArn, e.ProtonServiceRoleArn
	if e.EnvironmentAccountConnectionID != "" {
		if conn, err := s.store.AccountConnectionGet(ctx, e.EnvironmentAccountConnectionID); err == nil {
			serviceRole = conn.RoleArn
			if role == "" {
				role = conn.CodebuildRoleArn
			}
		}
	}
	if err := checkSectionProvisioning(t.bundle.Infrastructure, "service instances", func() error {
		if role == "" {
			return api.Validationf("service instance %s: environment %s has no codebuildRoleArn, which CodeBuild provisioning of its service instances uses", in.Name, e.Name)
		}
		return nil
	}, func() error {
		if serviceRole == "" {
			return api.Validationf("service instance %s: environment %s has no protonServiceRoleArn, which CloudFormation provisioning of its service instances uses", in.Name, e.Name)
		}
		return nil
	}, e.ProvisioningRepository != nil || s.terraformDirect); err != nil {
		return nil, err
	}
	inputs, err := t.bundle.Schema.Inputs(t.bundle.Schema.ServiceInputType, in.Inputs, current)
	if err != nil {
		return nil, api.Validationf("spec: instance %s: %v", in.Name, err)
	}
	raw, err := jsonString(inputs)
	if err != nil {
		return nil, api.Validationf("spec: instance %s: inputs cannot be represented as JSON: %v", in.Name, err)
	}
	return &instancePlan{name: in.Name, environment: e.Name, inputs: raw}, nil
}

// instanceEnvironmentReady refuses environments an instance cannot be deployed into.
func instanceEnvironmentReady(e *store.Environment, instance string) error {
	switch {
	case e.DeploymentStatus == store.StatusDeleteInProgress || e.DeploymentStatus == store.StatusDeleteFailed:
		return api.Validationf("service instance %s: environment %s is being deleted (%s)", instance, e.Name, e.DeploymentStatus)
	case e.LastSucceededDeploymentID == "":
		return api.Validationf("service instance %s: environment %s has not deployed successfully yet", instance, e.Name)
	}
	return nil
}

// checkSectionProvisioning enforces what a service bundle folder's provisioning needs
// (codebuild runs needCodeBuild, CloudFormation needService; terraform says whether a
// provisioning repository or direct apply takes Terraform) and refuses honestly what
// openproton cannot provision.
func checkSectionProvisioning(sec *bundle.Section, what string, needCodeBuild, needService func() error, terraform bool) error {
	if sec == nil {
		return nil
	}
	t := sec.Manifest.Templates[0]
	switch t.RenderingEngine {
	case "codebuild":
		return needCodeBuild()
	case "jinja":
		return needService()
	case "hcl":
		if terraform {
			return nil
		}
		return api.Validationf("provisioning %s from Terraform templates needs a provisioning repository (self-managed provisioning); this server does not apply Terraform directly (--terraform-bin)", what)
	}
	return api.NotImplementedf("provisioning %s from %s/%s templates", what, t.RenderingEngine, t.TemplateLanguage)
}

// planPipeline checks the pipeline inputs of a spec; nil when the template has no pipeline.
func (s *Service) planPipeline(ctx context.Context, accountID string, t *svcTarget, inputs, current map[string]any) (string, error) {
	b := t.bundle
	if b.Pipeline == nil {
		return "", nil
	}
	settings, err := s.store.AccountSettingsGet(ctx, accountID)
	if err != nil {
		return "", err
	}
	if err := checkSectionProvisioning(b.Pipeline, "service pipelines", func() error {
		if settings.PipelineCodebuildRoleArn == "" {
			return api.Validationf("the account has no pipelineCodebuildRoleArn (UpdateAccountSettings), which CodeBuild provisioning of service pipelines uses")
		}
		return nil
	}, func() error {
		if settings.PipelineServiceRoleArn == "" {
			return api.Validationf("the account has no pipelineServiceRoleArn (UpdateAccountSettings), which CloudFormation provisioning of service pipelines uses")
		}
		return nil
	}, settings.PipelineProvisioningRepository != nil || s.terraformDirect); err != nil {
		return "", err
	}
	resolved, err := b.Schema.Inputs(b.Schema.PipelineInputType, inputs, current)
	if err != nil {
		return "", api.Validationf("spec: pipeline: %v", err)
	}
	raw, err := jsonString(resolved)
	if err != nil {
		return "", api.Validationf("spec: pipeline: inputs cannot be represented as JSON: %v", err)
	}
	return raw, nil
}

func parseServiceSpec(spec string) (*bundle.ServiceSpec, error) {
	parsed, err := bundle.ParseServiceSpec(spec)
	if err != nil {
		return nil, api.Validationf("spec: %v", err)
	}
	return parsed, nil
}

func (s *Service) CreateService(ctx context.Context, in *types.CreateServiceInput) (*types.CreateServiceOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	major, err := parsePart("templateMajorVersion", in.TemplateMajorVersion)
	if err != nil {
		return nil, err
	}
	t, err := s.loadSvcTarget(ctx, c.AccountID, in.TemplateName, major, in.TemplateMinorVersion)
	if err != nil {
		return nil, err
	}
	spec, err := parseServiceSpec(in.Spec)
	if err != nil {
		return nil, err
	}
	hasPipeline := t.bundle.Pipeline != nil
	repo := in.RepositoryConnectionArn != "" || in.RepositoryId != "" || in.BranchName != ""
	switch {
	case hasPipeline && (in.RepositoryConnectionArn == "" || in.RepositoryId == "" || in.BranchName == ""):
		return nil, api.Validationf("repositoryConnectionArn, repositoryId and branchName are required: service template %s has a pipeline", t.template.Name)
	case !hasPipeline && repo:
		return nil, api.Validationf("service template %s has no pipeline; omit repositoryConnectionArn, repositoryId and branchName", t.template.Name)
	case !hasPipeline && len(spec.Pipeline) > 0:
		return nil, api.Validationf("spec: service template %s has no pipeline; remove the pipeline inputs", t.template.Name)
	case len(spec.Instances) == 0:
		return nil, api.Validationf("spec: a service needs at least one instance")
	case len(spec.Instances) > maxInstancesPerService:
		return nil, api.QuotaExceededf("a service has at most %d instances; the spec lists %d", maxInstancesPerService, len(spec.Instances))
	}
	var plans []*instancePlan
	for _, inst := range spec.Instances {
		p, err := s.planInstance(ctx, c.AccountID, t, inst, nil)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	pipelineInputs, err := s.planPipeline(ctx, c.AccountID, t, spec.Pipeline, nil)
	if err != nil {
		return nil, err
	}
	now := s.now()
	svc := &store.Service{
		AccountID: c.AccountID, Name: in.Name, Description: deref(in.Description), TemplateName: t.template.Name, Spec: in.Spec,
		Status: store.ServiceCreateInProgress, RepositoryConnectionArn: in.RepositoryConnectionArn, RepositoryID: in.RepositoryId,
		BranchName: in.BranchName, Change: 1, CreatedAt: now, LastModifiedAt: now,
	}
	var pipeline *store.ServicePipeline
	arn := s.serviceARN(c.AccountID, in.Name)
	create := func(q store.Queries) error {
		if err := q.ServiceCreate(ctx, svc); err != nil {
			return err
		}
		if err := s.addInstances(ctx, q, svc, t, plans, now); err != nil {
			return err
		}
		if hasPipeline {
			pipeline = &store.ServicePipeline{AccountID: c.AccountID, ServiceName: svc.Name, Pending: true, CreatedAt: now,
				Deployed: store.Deployed{TemplateName: t.version.TemplateName, TemplateMajor: t.version.Major, TemplateMinor: t.version.Minor,
					Spec: in.Spec, DeploymentStatus: store.StatusInProgress, Inputs: pipelineInputs}}
			return q.ServicePipelineCreate(ctx, pipeline)
		}
		return nil
	}
	for attempt := 0; ; attempt++ {
		// A race with an environment's deletion or deployment is retried.
		err = s.createWithTags(ctx, c.AccountID, arn, in.Tags, create)
		if !errors.Is(err, store.ErrConflict) || attempt == 4 {
			break
		}
	}
	if errors.Is(err, store.ErrAlreadyExists) {
		cur, err := s.store.ServiceGet(ctx, c.AccountID, in.Name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.Conflictf("service %s was being deleted while this request created it; retry", in.Name)
		}
		if err != nil {
			return nil, err
		}
		if cur.Status == store.ServiceDeleteInProgress {
			return nil, api.Conflictf("service %s is being deleted", in.Name)
		}
		same := cur.TemplateName == svc.TemplateName && cur.Spec == svc.Spec && cur.Description == svc.Description &&
			cur.RepositoryConnectionArn == svc.RepositoryConnectionArn && cur.RepositoryID == svc.RepositoryID && cur.BranchName == svc.BranchName
		if err := s.sameRetry(ctx, c.AccountID, arn, in.Tags, same, false, "service "+in.Name); err != nil {
			return nil, err
		}
		p, err := s.pipelineOrNil(ctx, s.store, c.AccountID, in.Name)
		if err != nil {
			return nil, err
		}
		return &types.CreateServiceOutput{Service: s.serviceOut(cur, p)}, nil
	}
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("an environment of service %s changed while the service was created; retry", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &types.CreateServiceOutput{Service: s.serviceOut(svc, pipeline)}, nil
}

// addInstances stores planned instances of svc and starts their deployments. Each
// environment is written (unchanged) so that a concurrent DeleteEnvironment conflicts
// instead of deleting an environment that gains an instance.
func (s *Service) addInstances(ctx context.Context, q store.Queries, svc *store.Service, t *svcTarget, plans []*instancePlan, now time.Time) error {
	envs := map[string]string{}
	for _, p := range plans {
		envs[p.environment] = p.name
	}
	// In name order, so that two transactions holding several never wait on each other.
	for _, env := range slices.Sorted(maps.Keys(envs)) {
		if err := holdEnvironment(ctx, q, svc.AccountID, env, envs[env]); err != nil {
			return err
		}
	}
	for _, p := range plans {
		i := &store.ServiceInstance{AccountID: svc.AccountID, ServiceName: svc.Name, Name: p.name, EnvironmentName: p.environment,
			Change: svc.Change, CreatedAt: now, Deployed: store.Deployed{TemplateName: t.version.TemplateName, TemplateMajor: t.version.Major,
				TemplateMinor: t.version.Minor, Spec: svc.Spec, Inputs: p.inputs}}
		if _, err := s.startDeployment(ctx, q, s.instanceDeployment(i, actionProvision, nil, "")); err != nil {
			return err
		}
		if err := q.ServiceInstanceCreate(ctx, i); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return api.Conflictf("service instance %s of service %s already exists", p.name, svc.Name)
			}
			return err
		}
	}
	return nil
}

// holdEnvironment takes an instance's environment's row lock and checks it again: a
// concurrent DeleteEnvironment (which takes the same lock before counting instances) then
// either sees the new instance or has marked the environment deleting first.
func holdEnvironment(ctx context.Context, q store.Queries, accountID, name, instance string) error {
	e, err := q.EnvironmentLock(ctx, accountID, name)
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFoundf("environment %s (of service instance %s) not found", name, instance)
	}
	if err != nil {
		return err
	}
	return instanceEnvironmentReady(e, instance)
}

func (s *Service) pipelineOrNil(ctx context.Context, q store.Queries, accountID, service string) (*store.ServicePipeline, error) {
	p, err := q.ServicePipelineGet(ctx, accountID, service)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return p, err
}

func (s *Service) getService(ctx context.Context, q store.Queries, accountID, name string) (*store.Service, error) {
	svc, err := q.ServiceGet(ctx, accountID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("service %s not found", name)
	}
	return svc, err
}

// lockService takes the service's row lock for the rest of the transaction.
func lockService(ctx context.Context, q store.Queries, accountID, name string) (*store.Service, error) {
	svc, err := q.ServiceLock(ctx, accountID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("service %s not found", name)
	}
	return svc, err
}

func (s *Service) GetService(ctx context.Context, in *types.GetServiceInput) (*types.GetServiceOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := s.getService(ctx, s.store, c.AccountID, in.Name)
	if err != nil {
		return nil, err
	}
	p, err := s.pipelineOrNil(ctx, s.store, c.AccountID, in.Name)
	if err != nil {
		return nil, err
	}
	return &types.GetServiceOutput{Service: s.serviceOut(svc, p)}, nil
}

func (s *Service) ListServices(ctx context.Context, in *types.ListServicesInput) (*types.ListServicesOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	scope := "services/" + c.AccountID
	p, err := s.openPage(scope, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	list, next, err := s.store.ServiceList(ctx, c.AccountID, p)
	if err != nil {
		return nil, err
	}
	out := &types.ListServicesOutput{Services: []types.ServiceSummary{}, NextToken: s.sealPage(scope, next)}
	for _, svc := range list {
		out.Services = append(out.Services, s.serviceSummaryOut(svc))
	}
	return out, nil
}

// serviceBusy refuses changes while the service is being created, updated or deleted, and
// after a failed deletion (only DeleteService may go on from there).
func serviceBusy(svc *store.Service) error {
	switch svc.Status {
	case store.ServiceCreateInProgress, store.ServiceUpdateInProgress, store.ServiceDeleteInProgress:
		return api.Conflictf("service %s is %s; wait for it to finish", svc.Name, svc.Status)
	case store.ServiceDeleteFailed:
		return api.Conflictf("service %s failed to delete; only DeleteService can be retried", svc.Name)
	}
	return nil
}

// maxInstancesPerService is Proton's default quota of service instances per service.
const maxInstancesPerService = 20

// UpdateService changes the description, and adds or removes instances through the spec.
// Existing instances and the pipeline cannot be changed here (Proton's rule); removed
// instances are deleted, new ones deployed, then the pipeline redeployed so that it sees
// the instances it serves.
func (s *Service) UpdateService(ctx context.Context, in *types.UpdateServiceInput) (*types.UpdateServiceOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := s.getService(ctx, s.store, c.AccountID, in.Name)
	if err != nil {
		return nil, err
	}
	if svc.Status == store.ServiceDeleteInProgress || svc.Status == store.ServiceDeleteFailed {
		return nil, serviceBusy(svc)
	}
	var change *serviceChange
	if in.Spec != "" && in.Spec != svc.Spec {
		if err := serviceBusy(svc); err != nil {
			return nil, err
		}
		if change, err = s.planServiceChange(ctx, svc, in.Spec); err != nil {
			return nil, err
		}
	}
	var out *store.Service
	err = s.txRetrying(ctx, func(q store.Queries) error {
		cur, err := lockService(ctx, q, c.AccountID, in.Name)
		if err != nil {
			return err
		}
		if cur.Status == store.ServiceDeleteInProgress || cur.Status == store.ServiceDeleteFailed {
			return serviceBusy(cur)
		}
		now := s.now()
		if in.Description != nil {
			cur.Description = *in.Description
		}
		cur.LastModifiedAt = now
		if change != nil {
			if cur.Spec != svc.Spec {
				return api.Conflictf("service %s changed while it was being updated; retry", cur.Name)
			}
			if err := serviceBusy(cur); err != nil {
				return err
			}
			if err := s.applyServiceChange(ctx, q, cur, change, in.Spec, now); err != nil {
				return err
			}
		}
		if err := q.ServiceUpdate(ctx, cur); err != nil {
			return err
		}
		out = cur
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("service %s changed while it was being updated; retry", in.Name)
	}
	if err != nil {
		return nil, err
	}
	if change != nil && len(change.remove) > 0 {
		s.noteManualChange(ctx, c.AccountID, in.Name, "", "Service instance(s) "+strings.Join(change.remove, ", ")+" were removed outside service sync")
	}
	if change != nil {
		for _, add := range change.add {
			s.noteManualChange(ctx, c.AccountID, in.Name, add.name, "Service instance "+add.name+" was created outside service sync")
		}
	}
	p, err := s.pipelineOrNil(ctx, s.store, c.AccountID, in.Name)
	if err != nil {
		return nil, err
	}
	return &types.UpdateServiceOutput{Service: s.serviceOut(out, p)}, nil
}

// serviceChange is an UpdateService spec checked against the service.
type serviceChange struct {
	target  *svcTarget
	add     []*instancePlan
	remove  []string
	current map[string]*store.ServiceInstance
}

func (s *Service) planServiceChange(ctx context.Context, svc *store.Service, specText string) (*serviceChange, error) {
	spec, err := parseServiceSpec(specText)
	if err != nil {
		return nil, err
	}
	pipelineSpec := svc.Spec
	p, err := s.pipelineOrNil(ctx, s.store, svc.AccountID, svc.Name)
	if err != nil {
		return nil, err
	}
	if p != nil {
		if store.InFlight(p.DeploymentStatus) && !p.Pending {
			return nil, api.Conflictf("the pipeline of service %s has a deployment in progress (%s); wait for it", svc.Name, p.DeploymentStatus)
		}
		pipelineSpec = p.Spec
	}
	if was, err := bundle.ParseServiceSpec(pipelineSpec); err == nil && !reflect.DeepEqual(normalise(spec.Pipeline), normalise(was.Pipeline)) {
		return nil, api.Validationf("spec: UpdateService cannot change the pipeline's inputs; use UpdateServicePipeline")
	}
	switch {
	case len(spec.Instances) == 0:
		return nil, api.Validationf("spec: a service needs at least one instance")
	case len(spec.Instances) > maxInstancesPerService:
		return nil, api.QuotaExceededf("a service has at most %d instances; the spec lists %d", maxInstancesPerService, len(spec.Instances))
	}
	insts, err := s.store.ServiceInstancesOf(ctx, svc.AccountID, svc.Name)
	if err != nil {
		return nil, err
	}
	ch := &serviceChange{current: map[string]*store.ServiceInstance{}}
	for _, i := range insts {
		ch.current[i.Name] = i
	}
	var added []bundle.InstanceSpec
	for _, want := range spec.Instances {
		i, exists := ch.current[want.Name]
		if !exists {
			added = append(added, want)
			continue
		}
		// Compared with the spec the instance last deployed with (its own entry).
		var was bundle.InstanceSpec
		if own, err := bundle.ParseServiceSpec(i.Spec); err == nil {
			was, _ = own.Instance(i.Name)
		}
		if want.Environment != i.EnvironmentName || !reflect.DeepEqual(normalise(want.Inputs), normalise(was.Inputs)) {
			return nil, api.Validationf("spec: UpdateService cannot change existing instance %s; use UpdateServiceInstance", want.Name)
		}
	}
	for _, i := range insts {
		if _, kept := spec.Instance(i.Name); !kept {
			if comp, err := attachedComponent(ctx, s.store, svc.AccountID, svc.Name, i.Name); err != nil {
				return nil, err
			} else if comp != nil {
				return nil, api.Validationf("spec: service instance %s has component %s attached; detach it before removing the instance", i.Name, comp.Name)
			}
			if store.InFlight(i.DeploymentStatus) {
				return nil, api.Conflictf("service instance %s has a deployment in progress (%s); wait for it before removing it", i.Name, i.DeploymentStatus)
			}
			ch.remove = append(ch.remove, i.Name)
		}
	}
	if len(added) > 0 {
		// New instances use the template version of the service's newest instance.
		if len(insts) == 0 {
			return nil, api.Conflictf("service %s has no instance to take a template version from", svc.Name)
		}
		base := insts[0]
		for _, i := range insts {
			if i.CreatedAt.After(base.CreatedAt) {
				base = i
			}
		}
		t, err := s.loadSvcTarget(ctx, svc.AccountID, svc.TemplateName, base.TemplateMajor, strconv.Itoa(base.TemplateMinor))
		if err != nil {
			return nil, err
		}
		ch.target = t
		for _, a := range added {
			p, err := s.planInstance(ctx, svc.AccountID, t, a, nil)
			if err != nil {
				return nil, err
			}
			ch.add = append(ch.add, p)
		}
	}
	return ch, nil
}

// normalise makes decoded YAML comparable: nil and empty maps are equal.
func normalise(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func (s *Service) applyServiceChange(ctx context.Context, q store.Queries, svc *store.Service, ch *serviceChange, spec string, now time.Time) error {
	svc.Spec = spec
	if len(ch.add) == 0 && len(ch.remove) == 0 {
		return nil // the same instances, written differently: nothing deploys
	}
	p, err := s.pipelineOrNil(ctx, q, svc.AccountID, svc.Name)
	if err != nil {
		return err
	}
	if p != nil && store.InFlight(p.DeploymentStatus) && !p.Pending {
		return api.Conflictf("the pipeline of service %s has a deployment in progress (%s); wait for it", svc.Name, p.DeploymentStatus)
	}
	svc.Status, svc.StatusMessage = store.ServiceUpdateInProgress, ""
	svc.Change++
	if len(ch.add) > 0 {
		if err := s.addInstances(ctx, q, svc, ch.target, ch.add, now); err != nil {
			return err
		}
	}
	for _, name := range ch.remove {
		i, err := q.ServiceInstanceGet(ctx, svc.AccountID, svc.Name, name)
		if err != nil {
			return err
		}
		if store.InFlight(i.DeploymentStatus) {
			return api.Conflictf("service instance %s has a deployment in progress (%s); wait for it before removing it", i.Name, i.DeploymentStatus)
		}
		// Again under the service's lock, which attaching a component takes too.
		if comp, err := attachedComponent(ctx, q, svc.AccountID, svc.Name, i.Name); err != nil {
			return err
		} else if comp != nil {
			return api.Validationf("spec: service instance %s has component %s attached; detach it before removing the instance", i.Name, comp.Name)
		}
		if err := s.deleteInstance(ctx, q, svc, i); err != nil {
			return err
		}
	}
	if p != nil {
		// Redeployed (same version and inputs) once the instances have.
		p.Pending = true
		return q.ServicePipelineUpdate(ctx, p)
	}
	return nil
}

// deleteInstance starts an instance's deprovisioning as part of svc's current change.
func (s *Service) deleteInstance(ctx context.Context, q store.Queries, svc *store.Service, i *store.ServiceInstance) error {
	i.Change = svc.Change
	if _, err := s.startDeployment(ctx, q, s.instanceDeployment(i, actionDeprovision, nil, "")); err != nil {
		return err
	}
	return q.ServiceInstanceUpdate(ctx, i)
}

// DeleteService deletes the instances, then the pipeline, then the service, asynchronously.
// A retry while deleting returns the service; once it is gone, an empty answer.
func (s *Service) DeleteService(ctx context.Context, in *types.DeleteServiceInput) (*types.DeleteServiceOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Service
	err = s.txRetrying(ctx, func(q store.Queries) error {
		out = nil
		svc, err := q.ServiceLock(ctx, c.AccountID, in.Name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out = svc
		switch svc.Status {
		case store.ServiceDeleteInProgress:
			return nil
		case store.ServiceCreateInProgress, store.ServiceUpdateInProgress:
			return api.Conflictf("service %s is %s; wait for it to finish before deleting it", svc.Name, svc.Status)
		}
		insts, err := q.ServiceInstancesOf(ctx, c.AccountID, svc.Name)
		if err != nil {
			return err
		}
		for _, i := range insts {
			if store.InFlight(i.DeploymentStatus) {
				return api.Conflictf("service instance %s has a deployment in progress (%s); wait for it or cancel it before deleting the service", i.Name, i.DeploymentStatus)
			}
		}
		if comps, _, err := q.ComponentList(ctx, c.AccountID, "", svc.Name, "", store.Page{Limit: 1}); err != nil {
			return err
		} else if len(comps) > 0 {
			return api.Conflictf("component %s is attached to service instance %s; detach it before deleting the service", comps[0].Name, comps[0].ServiceInstanceName)
		}
		p, err := s.pipelineOrNil(ctx, q, c.AccountID, svc.Name)
		if err != nil {
			return err
		}
		if p != nil && store.InFlight(p.DeploymentStatus) && !p.Pending {
			return api.Conflictf("the pipeline of service %s has a deployment in progress (%s); wait for it or cancel it before deleting the service", svc.Name, p.DeploymentStatus)
		}
		svc.Status, svc.StatusMessage, svc.LastModifiedAt = store.ServiceDeleteInProgress, "", s.now()
		svc.Change++
		for _, i := range insts {
			if err := s.deleteInstance(ctx, q, svc, i); err != nil {
				return err
			}
		}
		if err := q.ServiceUpdate(ctx, svc); err != nil {
			return err
		}
		// With no instance to wait for, the pipeline (or the service itself) goes at once.
		return s.settleService(ctx, q, svc)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("service %s changed while it was being deleted; retry", in.Name)
	}
	if err != nil {
		return nil, err
	}
	if out == nil {
		return &types.DeleteServiceOutput{}, nil
	}
	p, err := s.pipelineOrNil(ctx, s.store, c.AccountID, in.Name)
	if err != nil {
		return nil, err
	}
	return &types.DeleteServiceOutput{Service: s.serviceOut(out, p)}, nil
}

// failedNames lists names for a status message.
func failedNames(names []string) string {
	if len(names) == 1 {
		return "service instance " + names[0]
	}
	return fmt.Sprintf("service instances %s", strings.Join(names, ", "))
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
