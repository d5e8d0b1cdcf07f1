package service

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/store"
)

// Service instances: created with their service or alone, updated and cancelled like
// environments; deleted through their service.

// deploymentStateRef is a resource's state before a deployment, restored if it fails.
type deploymentStateRef struct {
	state  *types.DeploymentState
	inputs string
}

func instanceState(i *store.ServiceInstance) *types.DeploymentState {
	return &types.DeploymentState{ServiceInstance: &types.ServiceInstanceState{Spec: i.Spec, TemplateName: i.TemplateName,
		TemplateMajorVersion: strconv.Itoa(i.TemplateMajor), TemplateMinorVersion: strconv.Itoa(i.TemplateMinor)}}
}

func pipelineState(p *store.ServicePipeline) *types.DeploymentState {
	return &types.DeploymentState{ServicePipeline: &types.ServicePipelineState{Spec: p.Spec, TemplateName: p.TemplateName,
		TemplateMajorVersion: strconv.Itoa(p.TemplateMajor), TemplateMinorVersion: strconv.Itoa(p.TemplateMinor)}}
}

func (s *Service) instanceDeployment(i *store.ServiceInstance, action string, initial *types.DeploymentState, initialInputs string) deploymentRequest {
	return deploymentRequest{accountID: i.AccountID, targetType: store.TargetServiceInstance, arn: s.instanceARN(i.AccountID, i.ServiceName, i.Name),
		targetCreatedAt: i.CreatedAt, env: i.EnvironmentName, service: i.ServiceName, instance: i.Name, action: action, dep: &i.Deployed,
		target: instanceState(i), initial: initial, initialInputs: initialInputs}
}

func (s *Service) pipelineDeployment(p *store.ServicePipeline, action string, initial *deploymentStateRef) deploymentRequest {
	r := deploymentRequest{accountID: p.AccountID, targetType: store.TargetServicePipeline, arn: s.pipelineARN(p.AccountID, p.ServiceName),
		targetCreatedAt: p.CreatedAt, service: p.ServiceName, action: action, dep: &p.Deployed, target: pipelineState(p)}
	if initial != nil {
		r.initial, r.initialInputs = initial.state, initial.inputs
	}
	return r
}

func (s *Service) instanceOut(i *store.ServiceInstance) *types.ServiceInstance {
	return &types.ServiceInstance{
		Name: i.Name, Arn: s.instanceARN(i.AccountID, i.ServiceName, i.Name), CreatedAt: types.TimeOf(i.CreatedAt),
		LastDeploymentAttemptedAt: types.TimeOf(i.LastDeploymentAttemptedAt), LastDeploymentSucceededAt: lastSucceededAt(&i.Deployed, i.CreatedAt),
		ServiceName: i.ServiceName, EnvironmentName: i.EnvironmentName, TemplateName: i.TemplateName,
		TemplateMajorVersion: strconv.Itoa(i.TemplateMajor), TemplateMinorVersion: strconv.Itoa(i.TemplateMinor),
		DeploymentStatus: types.DeploymentStatus(i.DeploymentStatus), DeploymentStatusMessage: i.DeploymentStatusMessage, Spec: i.Spec,
		LastClientRequestToken: i.LastClientRequestToken, LastAttemptedDeploymentId: i.LastAttemptedDeploymentID,
		LastSucceededDeploymentId: i.LastSucceededDeploymentID,
	}
}

func (s *Service) instanceSummaryOut(i *store.ServiceInstance) types.ServiceInstanceSummary {
	o := s.instanceOut(i)
	return types.ServiceInstanceSummary{
		Name: o.Name, Arn: o.Arn, CreatedAt: o.CreatedAt, LastDeploymentAttemptedAt: o.LastDeploymentAttemptedAt,
		LastDeploymentSucceededAt: o.LastDeploymentSucceededAt, ServiceName: o.ServiceName, EnvironmentName: o.EnvironmentName,
		TemplateName: o.TemplateName, TemplateMajorVersion: o.TemplateMajorVersion, TemplateMinorVersion: o.TemplateMinorVersion,
		DeploymentStatus: o.DeploymentStatus, DeploymentStatusMessage: o.DeploymentStatusMessage,
		LastAttemptedDeploymentId: o.LastAttemptedDeploymentId, LastSucceededDeploymentId: o.LastSucceededDeploymentId,
	}
}

func (s *Service) getInstance(ctx context.Context, q store.Queries, accountID, service, name string) (*store.ServiceInstance, error) {
	i, err := q.ServiceInstanceGet(ctx, accountID, service, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("service instance %s of service %s not found", name, service)
	}
	return i, err
}

// instanceEntry finds the instance's own entry of a service spec: the whole spec may be
// passed, the other entries are ignored.
func instanceEntry(specText, name string) (bundle.InstanceSpec, error) {
	spec, err := parseServiceSpec(specText)
	if err != nil {
		return bundle.InstanceSpec{}, err
	}
	entry, ok := spec.Instance(name)
	if !ok {
		return bundle.InstanceSpec{}, api.Validationf("spec: no entry in instances is named %s", name)
	}
	return entry, nil
}

// CreateServiceInstance adds an instance to a service. Without a version it gets the
// service template's recommended version (the highest published).
func (s *Service) CreateServiceInstance(ctx context.Context, in *types.CreateServiceInstanceInput) (*types.CreateServiceInstanceOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	const op = "CreateServiceInstance"
	hash := paramsHash(struct {
		N, S, Spec, Ma, Mi string
		T                  []types.Tag
	}{in.Name, in.ServiceName, in.Spec, in.TemplateMajorVersion, in.TemplateMinorVersion, in.Tags})
	if in.ClientToken != "" {
		if i, err := s.instanceForToken(ctx, c.AccountID, op, in.ClientToken, hash); i != nil || err != nil {
			return instanceCreated(s, i, err)
		}
	}
	svc, err := s.getService(ctx, s.store, c.AccountID, in.ServiceName)
	if err != nil {
		return nil, err
	}
	if err := serviceBusy(svc); err != nil {
		return nil, err
	}
	entry, err := instanceEntry(in.Spec, in.Name)
	if err != nil {
		return nil, err
	}
	major := -1
	if in.TemplateMajorVersion != "" {
		if major, err = parsePart("templateMajorVersion", in.TemplateMajorVersion); err != nil {
			return nil, err
		}
	} else if in.TemplateMinorVersion != "" {
		return nil, api.Validationf("templateMinorVersion needs templateMajorVersion")
	} else {
		latest, err := s.store.TemplateVersionLatest(ctx, c.AccountID, store.ServiceTemplateType, svc.TemplateName, -1, true)
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.Validationf("service template %s has no published version", svc.TemplateName)
		}
		if err != nil {
			return nil, err
		}
		major = latest.Major
	}
	t, err := s.loadSvcTarget(ctx, c.AccountID, svc.TemplateName, major, in.TemplateMinorVersion)
	if err != nil {
		return nil, err
	}
	plan, err := s.planInstance(ctx, c.AccountID, t, entry, nil)
	if err != nil {
		return nil, err
	}
	now := s.now()
	arn := s.instanceARN(c.AccountID, svc.Name, in.Name)
	i := &store.ServiceInstance{AccountID: c.AccountID, ServiceName: svc.Name, Name: in.Name, EnvironmentName: plan.environment,
		LastClientRequestToken: in.ClientToken, CreatedAt: now, Deployed: store.Deployed{TemplateName: t.version.TemplateName,
			TemplateMajor: t.version.Major, TemplateMinor: t.version.Minor, Spec: in.Spec, Inputs: plan.inputs}}
	err = s.txRetrying(ctx, func(q store.Queries) error {
		cur, err := lockService(ctx, q, c.AccountID, svc.Name)
		if err != nil {
			return err
		}
		if err := serviceBusy(cur); err != nil {
			return err
		}
		existing, err := q.ServiceInstancesOf(ctx, c.AccountID, svc.Name)
		if err != nil {
			return err
		}
		if len(existing) >= maxInstancesPerService {
			return api.QuotaExceededf("service %s has %d instances, the most a service may have", svc.Name, len(existing))
		}
		if in.ClientToken != "" {
			if err := q.IdempotencyPut(ctx, &store.IdempotencyRecord{AccountID: c.AccountID, Operation: op, Token: in.ClientToken,
				ParamsHash: hash, Resource: svc.Name + "/" + in.Name, CreatedAt: now}); err != nil {
				return err
			}
		}
		if err := holdEnvironment(ctx, q, c.AccountID, plan.environment, in.Name); err != nil {
			return err
		}
		fresh := *i
		if _, err := s.startDeployment(ctx, q, s.instanceDeployment(&fresh, actionProvision, nil, "")); err != nil {
			return err
		}
		if err := q.ServiceInstanceCreate(ctx, &fresh); err != nil {
			return err
		}
		*i = fresh
		return putTags(ctx, q, c.AccountID, arn, in.Tags)
	})
	if errors.Is(err, store.ErrAlreadyExists) && in.ClientToken != "" {
		if found, terr := s.instanceForToken(ctx, c.AccountID, op, in.ClientToken, hash); found != nil || terr != nil {
			return instanceCreated(s, found, terr)
		}
	}
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, api.Conflictf("service instance %s of service %s already exists", in.Name, in.ServiceName)
	}
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("service %s changed while the instance was created; retry", in.ServiceName)
	}
	if err != nil {
		return nil, err
	}
	s.noteManualChange(ctx, c.AccountID, in.ServiceName, in.Name, "Service instance "+in.Name+" was created outside service sync")
	return &types.CreateServiceInstanceOutput{ServiceInstance: s.instanceOut(i)}, nil
}

func instanceCreated(s *Service, i *store.ServiceInstance, err error) (*types.CreateServiceInstanceOutput, error) {
	if err != nil {
		return nil, err
	}
	return &types.CreateServiceInstanceOutput{ServiceInstance: s.instanceOut(i)}, nil
}

// instanceForToken returns the instance a client token created (see forToken); the
// record's resource is "service/instance".
func (s *Service) instanceForToken(ctx context.Context, accountID, op, token, hash string) (*store.ServiceInstance, error) {
	return forToken(ctx, s, accountID, op, token, hash, func(resource string) (*store.ServiceInstance, error) {
		k := strings.LastIndex(resource, "/")
		return s.store.ServiceInstanceGet(ctx, accountID, resource[:max(k, 0)], resource[k+1:])
	})
}

func (s *Service) GetServiceInstance(ctx context.Context, in *types.GetServiceInstanceInput) (*types.GetServiceInstanceOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	i, err := s.getInstance(ctx, s.store, c.AccountID, in.ServiceName, in.Name)
	if err != nil {
		return nil, err
	}
	return &types.GetServiceInstanceOutput{ServiceInstance: s.instanceOut(i)}, nil
}

// UpdateServiceInstance redeploys an instance by Proton's deployment types. A client token
// the instance's last update used returns the instance as it is (a retry).
func (s *Service) UpdateServiceInstance(ctx context.Context, in *types.UpdateServiceInstanceInput) (*types.UpdateServiceInstanceOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	i, err := s.getInstance(ctx, s.store, c.AccountID, in.ServiceName, in.Name)
	if err != nil {
		return nil, err
	}
	if in.ClientToken != "" && in.ClientToken == i.LastClientRequestToken {
		return &types.UpdateServiceInstanceOutput{ServiceInstance: s.instanceOut(i)}, nil
	}
	if store.InFlight(i.DeploymentStatus) {
		return nil, api.Conflictf("service instance %s has a deployment in progress (%s); wait for it or cancel it", i.Name, i.DeploymentStatus)
	}
	svc, err := s.getService(ctx, s.store, c.AccountID, in.ServiceName)
	if err != nil {
		return nil, err
	}
	if err := serviceBusy(svc); err != nil {
		return nil, err
	}
	up := deployUpdate{deploymentType: in.DeploymentType, spec: in.Spec, major: in.TemplateMajorVersion, minor: in.TemplateMinorVersion}
	t, err := s.svcUpdateTarget(ctx, svc, &i.Deployed, up)
	if err != nil {
		return nil, err
	}
	var plan *instancePlan
	if t != nil {
		spec := in.Spec
		if spec == "" {
			spec = i.Spec
		}
		entry, err := instanceEntry(spec, i.Name)
		if err != nil {
			return nil, err
		}
		if entry.Environment != i.EnvironmentName {
			return nil, api.Validationf("spec: instance %s runs in environment %s; its environment cannot be changed", i.Name, i.EnvironmentName)
		}
		if plan, err = s.planInstance(ctx, c.AccountID, t, entry, deployedInputs(i.Inputs)); err != nil {
			return nil, err
		}
		plan.spec = spec
	}
	err = s.txRetrying(ctx, func(q store.Queries) error {
		locked, err := lockService(ctx, q, c.AccountID, in.ServiceName)
		if err != nil {
			return err
		}
		if err := serviceBusy(locked); err != nil {
			return err
		}
		cur, err := s.getInstance(ctx, q, c.AccountID, in.ServiceName, in.Name)
		if err != nil {
			return err
		}
		if store.InFlight(cur.DeploymentStatus) {
			return api.Conflictf("service instance %s has a deployment in progress (%s); wait for it or cancel it", cur.Name, cur.DeploymentStatus)
		}
		if cur.Version != i.Version {
			return api.Conflictf("service instance %s changed while it was being updated; retry", cur.Name)
		}
		if comp, err := attachedComponent(ctx, q, c.AccountID, cur.ServiceName, cur.Name); err != nil {
			return err
		} else if comp != nil && store.InFlight(comp.DeploymentStatus) {
			return api.Conflictf("component %s attached to service instance %s has a deployment in progress (%s)", comp.Name, cur.Name, comp.DeploymentStatus)
		}
		cur.LastClientRequestToken = in.ClientToken
		if plan != nil {
			initial, initialInputs := instanceState(cur), cur.Inputs
			cur.TemplateMajor, cur.TemplateMinor, cur.Spec, cur.Inputs = t.version.Major, t.version.Minor, plan.spec, plan.inputs
			if _, err := s.startDeployment(ctx, q, s.instanceDeployment(cur, actionProvision, initial, initialInputs)); err != nil {
				return err
			}
		}
		if err := q.ServiceInstanceUpdate(ctx, cur); err != nil {
			return err
		}
		i = cur
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("service instance %s changed while it was being updated; retry", in.Name)
	}
	if err != nil {
		return nil, err
	}
	s.noteManualChange(ctx, c.AccountID, in.ServiceName, in.Name, "Service instance "+in.Name+" was updated outside service sync")
	return &types.UpdateServiceInstanceOutput{ServiceInstance: s.instanceOut(i)}, nil
}

// deployUpdate is the deployment type and version parameters of an update.
type deployUpdate struct {
	deploymentType     types.DeploymentUpdateType
	spec, major, minor string
}

// svcUpdateTarget applies Proton's deployment types to an instance or pipeline of svc: NONE
// changes nothing that deploys (nil target); CURRENT_VERSION redeploys the version in use;
// MINOR_VERSION moves to the given or recommended minor of the major in use; MAJOR_VERSION
// to a higher major, by default the template's recommended version.
func (s *Service) svcUpdateTarget(ctx context.Context, svc *store.Service, dep *store.Deployed, up deployUpdate) (*svcTarget, error) {
	switch up.deploymentType {
	case types.DeploymentUpdateTypeNone:
		if up.spec != "" || up.major != "" || up.minor != "" {
			return nil, api.Validationf("deploymentType NONE updates metadata only; spec, templateMajorVersion and templateMinorVersion need a deployment (CURRENT_VERSION, MINOR_VERSION or MAJOR_VERSION)")
		}
		return nil, nil
	case types.DeploymentUpdateTypeCurrentVersion:
		if up.major != "" || up.minor != "" {
			return nil, api.Validationf("deploymentType CURRENT_VERSION keeps the template version; omit templateMajorVersion and templateMinorVersion")
		}
		t, err := s.store.ServiceTemplateGet(ctx, svc.AccountID, dep.TemplateName)
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.Validationf("service template %s no longer exists", dep.TemplateName)
		}
		if err != nil {
			return nil, err
		}
		v, err := s.store.TemplateVersionGet(ctx, store.VersionKey{AccountID: svc.AccountID, TemplateType: store.ServiceTemplateType,
			TemplateName: dep.TemplateName, Major: dep.TemplateMajor, Minor: dep.TemplateMinor})
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.Validationf("the template version %s:%d.%d in use no longer exists", dep.TemplateName, dep.TemplateMajor, dep.TemplateMinor)
		}
		if err != nil {
			return nil, err
		}
		return s.svcTargetOf(ctx, t, v)
	case types.DeploymentUpdateTypeMinorVersion:
		if up.major != "" && up.major != strconv.Itoa(dep.TemplateMajor) {
			return nil, api.Validationf("deploymentType MINOR_VERSION stays in major version %d; use MAJOR_VERSION to change templateMajorVersion", dep.TemplateMajor)
		}
		return s.loadSvcTarget(ctx, svc.AccountID, dep.TemplateName, dep.TemplateMajor, up.minor)
	case types.DeploymentUpdateTypeMajorVersion:
		major := -1
		if up.major != "" {
			var err error
			if major, err = parsePart("templateMajorVersion", up.major); err != nil {
				return nil, err
			}
		} else {
			latest, err := s.store.TemplateVersionLatest(ctx, svc.AccountID, store.ServiceTemplateType, dep.TemplateName, -1, true)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if latest != nil {
				major = latest.Major
			}
		}
		if major <= dep.TemplateMajor {
			return nil, api.Validationf("deploymentType MAJOR_VERSION needs a published major version higher than %d", dep.TemplateMajor)
		}
		return s.loadSvcTarget(ctx, svc.AccountID, dep.TemplateName, major, up.minor)
	}
	return nil, api.Validationf("deploymentType must be NONE, CURRENT_VERSION, MINOR_VERSION or MAJOR_VERSION")
}

func (s *Service) CancelServiceInstanceDeployment(ctx context.Context, in *types.CancelServiceInstanceDeploymentInput) (*types.CancelServiceInstanceDeploymentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.ServiceInstance
	err = s.txRetrying(ctx, func(q store.Queries) error {
		i, err := s.getInstance(ctx, q, c.AccountID, in.ServiceName, in.ServiceInstanceName)
		if err != nil {
			return err
		}
		settled, err := s.cancelDeployment(ctx, q, c.AccountID, &i.Deployed, "service instance "+i.Name)
		if err != nil {
			return err
		}
		if settled {
			out, err = s.getInstance(ctx, q, c.AccountID, in.ServiceName, in.ServiceInstanceName)
			return err
		}
		out = i
		return q.ServiceInstanceUpdate(ctx, i)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("service instance %s changed while it was being cancelled; retry", in.ServiceInstanceName)
	}
	if err != nil {
		return nil, err
	}
	s.kickWatcher() // a cancelled hand-on's request is to be closed
	return &types.CancelServiceInstanceDeploymentOutput{ServiceInstance: s.instanceOut(out)}, nil
}

// cancelDeployment marks a resource's deployment in progress CANCELLING; the runner stops
// it and records CANCELLED. A deployment handed on (awaiting its report) is CANCELLED at
// once and applied to the resource: settled is then true and the caller reads the resource
// again instead of writing its copy.
func (s *Service) cancelDeployment(ctx context.Context, q store.Queries, accountID string, dep *store.Deployed, what string) (settled bool, err error) {
	if dep.DeploymentStatus != store.StatusInProgress || dep.LastAttemptedDeploymentID == "" {
		return false, api.Conflictf("%s has no deployment in progress to cancel (status %s)", what, dep.DeploymentStatus)
	}
	d, err := q.DeploymentGet(ctx, accountID, dep.LastAttemptedDeploymentID)
	if err != nil {
		return false, err
	}
	if d.Awaiting {
		settled, err := s.cancelHandedOn(ctx, q, d)
		if err != nil || settled {
			return settled, err
		}
		dep.DeploymentStatus = store.StatusCancelling
		return false, nil
	}
	d.Status, d.LastModifiedAt = store.StatusCancelling, s.now()
	if err := q.DeploymentUpdate(ctx, d); err != nil {
		return false, err
	}
	dep.DeploymentStatus = store.StatusCancelling
	return false, nil
}

func (s *Service) ListServiceInstanceOutputs(ctx context.Context, in *types.ListServiceInstanceOutputsInput) (*types.ListServiceInstanceOutputsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	i, err := s.getInstance(ctx, s.store, c.AccountID, in.ServiceName, in.ServiceInstanceName)
	if err != nil {
		return nil, err
	}
	outputs, err := s.outputsOf(ctx, c.AccountID, i.Outputs, in.DeploymentId, func(d *store.Deployment) bool {
		return d.TargetType == store.TargetServiceInstance && d.ServiceName == i.ServiceName && d.ServiceInstanceName == i.Name
	}, "service instance "+i.Name)
	if err != nil {
		return nil, err
	}
	return &types.ListServiceInstanceOutputsOutput{Outputs: outputsOut(outputs)}, nil
}

// outputsOf returns current outputs, or those of one of the resource's deployments.
func (s *Service) outputsOf(ctx context.Context, accountID string, current []store.Output, deploymentID string, ours func(*store.Deployment) bool, what string) ([]store.Output, error) {
	if deploymentID == "" {
		return current, nil
	}
	d, err := s.store.DeploymentGet(ctx, accountID, deploymentID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !ours(d)) {
		return nil, api.NotFoundf("deployment %s of %s not found", deploymentID, what)
	}
	if err != nil {
		return nil, err
	}
	return d.Outputs, nil
}

// ListServiceInstanceProvisionedResources lists what the last successful deployment's engine
// reported (CodeBuild provisioning reports none, as on Proton).
func (s *Service) ListServiceInstanceProvisionedResources(ctx context.Context, in *types.ListServiceInstanceProvisionedResourcesInput) (*types.ListServiceInstanceProvisionedResourcesOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	i, err := s.getInstance(ctx, s.store, c.AccountID, in.ServiceName, in.ServiceInstanceName)
	if err != nil {
		return nil, err
	}
	list, err := s.provisionedResources(ctx, c.AccountID, i.LastSucceededDeploymentID)
	if err != nil {
		return nil, err
	}
	return &types.ListServiceInstanceProvisionedResourcesOutput{ProvisionedResources: list}, nil
}

func (s *Service) ListServiceInstances(ctx context.Context, in *types.ListServiceInstancesInput) (*types.ListServiceInstancesOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	f := store.ServiceInstanceFilter{Service: in.ServiceName, SortBy: string(in.SortBy), Descending: in.SortOrder == types.SortOrderDescending}
	for _, flt := range in.Filters {
		switch flt.Key {
		case types.ListServiceInstancesFilterByName:
			f.Names = append(f.Names, flt.Value)
		case types.ListServiceInstancesFilterByDeploymentStatus:
			f.Statuses = append(f.Statuses, flt.Value)
		case types.ListServiceInstancesFilterByTemplateName:
			f.TemplateNames = append(f.TemplateNames, flt.Value)
		case types.ListServiceInstancesFilterByServiceName:
			f.ServiceNames = append(f.ServiceNames, flt.Value)
		case types.ListServiceInstancesFilterByEnvironmentName:
			f.EnvironmentNames = append(f.EnvironmentNames, flt.Value)
		case types.ListServiceInstancesFilterByDeployedTemplateVersionStatus:
			f.VersionStatuses = append(f.VersionStatuses, flt.Value)
		case types.ListServiceInstancesFilterByLastDeploymentAttemptedAtBefore, types.ListServiceInstancesFilterByLastDeploymentAttemptedAtAfter,
			types.ListServiceInstancesFilterByCreatedAtBefore, types.ListServiceInstancesFilterByCreatedAtAfter:
			t, err := time.Parse(time.RFC3339Nano, flt.Value)
			if err != nil {
				return nil, api.Validationf("filters: %s needs an RFC 3339 time such as 1985-04-12T23:20:50.52Z, not %q", flt.Key, flt.Value)
			}
			switch flt.Key {
			case types.ListServiceInstancesFilterByLastDeploymentAttemptedAtBefore:
				f.AttemptedBefore = t
			case types.ListServiceInstancesFilterByLastDeploymentAttemptedAtAfter:
				f.AttemptedAfter = t
			case types.ListServiceInstancesFilterByCreatedAtBefore:
				f.CreatedBefore = t
			default:
				f.CreatedAfter = t
			}
		default:
			return nil, api.Validationf("filters: unknown key %q", flt.Key)
		}
	}
	scope := "service-instances/" + c.AccountID + "/" + paramsHash(f)
	p, err := s.openPage(scope, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	list, next, err := s.store.ServiceInstanceList(ctx, c.AccountID, f, p)
	if err != nil {
		return nil, err
	}
	out := &types.ListServiceInstancesOutput{ServiceInstances: []types.ServiceInstanceSummary{}, NextToken: s.sealPage(scope, next)}
	for _, i := range list {
		out.ServiceInstances = append(out.ServiceInstances, s.instanceSummaryOut(i))
	}
	return out, nil
}
