package service

import (
	"context"
	"errors"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/store"
)

// Components: directly defined IaC owned by developers, attached to a service instance
// (which its template version must allow) or detached in an environment (whose component
// role provisions it). An attached component cannot be deleted or moved to another
// instance, and keeps its instance, service and environment from being deleted; detach it
// first (update with empty service names).

func (s *Service) componentARN(accountID, name string) string {
	return s.arn(accountID, "component/"+name)
}

func (s *Service) componentOut(c *store.Component) *types.Component {
	out := &types.Component{
		Name: c.Name, Description: c.Description, Arn: s.componentARN(c.AccountID, c.Name), EnvironmentName: c.EnvironmentName,
		ServiceName: c.ServiceName, ServiceInstanceName: c.ServiceInstanceName, CreatedAt: types.TimeOf(c.CreatedAt),
		LastModifiedAt: types.TimeOf(c.LastModifiedAt), LastDeploymentAttemptedAt: types.TimeOf(c.LastDeploymentAttemptedAt),
		DeploymentStatus: types.DeploymentStatus(c.DeploymentStatus), DeploymentStatusMessage: c.DeploymentStatusMessage,
		ServiceSpec: c.ServiceSpec, LastClientRequestToken: c.LastClientRequestToken,
		LastAttemptedDeploymentId: c.LastAttemptedDeploymentID, LastSucceededDeploymentId: c.LastSucceededDeploymentID,
	}
	if !c.LastDeploymentSucceededAt.IsZero() && c.LastDeploymentSucceededAt.Unix() > 0 {
		out.LastDeploymentSucceededAt = types.TimeOf(c.LastDeploymentSucceededAt)
	}
	return out
}

func (s *Service) componentSummaryOut(c *store.Component) types.ComponentSummary {
	o := s.componentOut(c)
	return types.ComponentSummary{
		Name: o.Name, Arn: o.Arn, EnvironmentName: o.EnvironmentName, ServiceName: o.ServiceName, ServiceInstanceName: o.ServiceInstanceName,
		CreatedAt: o.CreatedAt, LastModifiedAt: o.LastModifiedAt, LastDeploymentAttemptedAt: o.LastDeploymentAttemptedAt,
		LastDeploymentSucceededAt: o.LastDeploymentSucceededAt, DeploymentStatus: o.DeploymentStatus,
		DeploymentStatusMessage: o.DeploymentStatusMessage, LastAttemptedDeploymentId: o.LastAttemptedDeploymentId,
		LastSucceededDeploymentId: o.LastSucceededDeploymentId,
	}
}

func componentState(c *store.Component) *types.DeploymentState {
	return &types.DeploymentState{Component: &types.ComponentState{ServiceName: c.ServiceName, ServiceInstanceName: c.ServiceInstanceName,
		ServiceSpec: c.ServiceSpec, TemplateFile: c.TemplateFile}}
}

func (s *Service) componentDeployment(c *store.Component, action string, initial *types.DeploymentState) deploymentRequest {
	return deploymentRequest{accountID: c.AccountID, targetType: store.TargetComponent, arn: s.componentARN(c.AccountID, c.Name),
		targetCreatedAt: c.CreatedAt, env: c.EnvironmentName, service: c.ServiceName, instance: c.ServiceInstanceName, component: c.Name,
		action: action, dep: &c.Deployed, target: componentState(c), initial: initial}
}

func (s *Service) getComponent(ctx context.Context, q store.Queries, accountID, name string) (*store.Component, error) {
	c, err := q.ComponentGet(ctx, accountID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("component %s not found", name)
	}
	return c, err
}

// attachedComponent returns the component attached to an instance, or nil.
func attachedComponent(ctx context.Context, q store.Queries, accountID, service, instance string) (*store.Component, error) {
	list, _, err := q.ComponentList(ctx, accountID, "", service, instance, store.Page{Limit: 1})
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return list[0], nil
}

// checkAttach checks that a component may attach to an instance: it exists, is in the
// component's environment, its template version allows directly defined components, no
// other component is attached, and serviceSpec (if any) has the instance's entry.
func (s *Service) checkAttach(ctx context.Context, q store.Queries, accountID, name, service, instance, environment, serviceSpec string) (*store.ServiceInstance, error) {
	i, err := s.getInstance(ctx, q, accountID, service, instance)
	if err != nil {
		return nil, err
	}
	if i.DeploymentStatus == store.StatusDeleteInProgress || i.DeploymentStatus == store.StatusDeleteFailed {
		return nil, api.Validationf("service instance %s is being deleted (%s)", instance, i.DeploymentStatus)
	}
	if environment != "" && environment != i.EnvironmentName {
		return nil, api.Validationf("environmentName %s: service instance %s runs in environment %s", environment, instance, i.EnvironmentName)
	}
	v, err := q.TemplateVersionGet(ctx, store.VersionKey{AccountID: accountID, TemplateType: store.ServiceTemplateType,
		TemplateName: i.TemplateName, Major: i.TemplateMajor, Minor: i.TemplateMinor})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	allowed := false
	if v != nil {
		for _, src := range v.SupportedComponentSources {
			allowed = allowed || src == string(types.ServiceTemplateSupportedComponentSourceTypeDirectlyDefined)
		}
	}
	if !allowed {
		return nil, api.Validationf("service template version %s:%d.%d of service instance %s does not support DIRECTLY_DEFINED components",
			i.TemplateName, i.TemplateMajor, i.TemplateMinor, instance)
	}
	if other, err := attachedComponent(ctx, q, accountID, service, instance); err != nil {
		return nil, err
	} else if other != nil && other.Name != name {
		return nil, api.Conflictf("service instance %s already has component %s attached", instance, other.Name)
	}
	if serviceSpec != "" {
		if _, err := instanceEntry(serviceSpec, instance); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// componentEnvironment checks the environment a component provisions in: it must have a
// component role (Proton refuses directly defined components without one) and not be
// going away. It takes the environment's lock when q is a transaction.
func componentEnvironment(ctx context.Context, q store.Queries, accountID, name string, lock bool) (*store.Environment, error) {
	e, err := environmentOf(ctx, q, accountID, name, lock)
	if err != nil {
		return nil, err
	}
	role, err := componentRoleOf(ctx, q, e)
	if err != nil {
		return nil, err
	}
	if role == "" {
		return nil, api.Validationf("environment %s has no componentRoleArn (nor its account connection); directly defined components need one", e.Name)
	}
	return e, nil
}

// componentRoleOf is the role an environment's components deploy with: its account
// connection's componentRoleArn when it has a connection, else its own.
func componentRoleOf(ctx context.Context, q store.Queries, e *store.Environment) (string, error) {
	if e.EnvironmentAccountConnectionID == "" {
		return e.ComponentRoleArn, nil
	}
	conn, err := q.AccountConnectionGet(ctx, e.EnvironmentAccountConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return conn.ComponentRoleArn, nil
}

func environmentOf(ctx context.Context, q store.Queries, accountID, name string, lock bool) (*store.Environment, error) {
	get := q.EnvironmentGet
	if lock {
		get = q.EnvironmentLock
	}
	e, err := get(ctx, accountID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("environment %s not found", name)
	}
	if err != nil {
		return nil, err
	}
	if e.DeploymentStatus == store.StatusDeleteInProgress || e.DeploymentStatus == store.StatusDeleteFailed {
		return nil, api.Validationf("environment %s is being deleted", e.Name)
	}
	return e, nil
}

// checkComponentManifest parses a component manifest.
func checkComponentManifest(manifest string) (*bundle.Template, error) {
	t, err := bundle.ParseComponentManifest(manifest)
	if err != nil {
		return nil, api.Validationf("%v", err)
	}
	return t, nil
}

// checkComponentEngine refuses a component its environment cannot provision: Terraform
// components go through the environment's provisioning repository (self-managed
// provisioning) unless the server applies Terraform itself.
func (s *Service) checkComponentEngine(t *bundle.Template, env *store.Environment) error {
	if t.TemplateLanguage == "terraform" && env.ProvisioningRepository == nil && !s.terraformDirect {
		return api.Validationf("manifest: a Terraform component needs an environment with a provisioningRepository (self-managed provisioning); environment %s has none", env.Name)
	}
	return nil
}

func (s *Service) CreateComponent(ctx context.Context, in *types.CreateComponentInput) (*types.CreateComponentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	attached := in.ServiceName != "" || in.ServiceInstanceName != ""
	switch {
	case attached && (in.ServiceName == "" || in.ServiceInstanceName == ""):
		return nil, api.Validationf("specify both serviceName and serviceInstanceName, or neither")
	case !attached && in.EnvironmentName == "":
		return nil, api.Validationf("environmentName is required for a component that is not attached to a service instance")
	case !attached && in.ServiceSpec != "":
		return nil, api.Validationf("serviceSpec applies only to a component attached to a service instance")
	}
	tmpl, err := checkComponentManifest(in.Manifest)
	if err != nil {
		return nil, err
	}
	const op = "CreateComponent"
	withoutToken := *in
	withoutToken.ClientToken = ""
	hash := paramsHash(withoutToken)
	if in.ClientToken != "" {
		if existing, err := s.componentForToken(ctx, c.AccountID, op, in.ClientToken, hash); existing != nil || err != nil {
			return componentCreated(s, existing, err)
		}
	}
	now := s.now()
	comp := &store.Component{AccountID: c.AccountID, Name: in.Name, Description: deref(in.Description), EnvironmentName: in.EnvironmentName,
		ServiceName: in.ServiceName, ServiceInstanceName: in.ServiceInstanceName, ServiceSpec: in.ServiceSpec, TemplateFile: in.TemplateFile,
		Manifest: in.Manifest, LastClientRequestToken: in.ClientToken, CreatedAt: now, LastModifiedAt: now}
	arn := s.componentARN(c.AccountID, in.Name)
	err = s.txRetrying(ctx, func(q store.Queries) error {
		fresh := *comp
		if attached {
			// Lock order: service, then environment.
			svc, err := lockService(ctx, q, c.AccountID, in.ServiceName)
			if err != nil {
				return err
			}
			if err := serviceBusy(svc); err != nil {
				return err
			}
			i, err := s.checkAttach(ctx, q, c.AccountID, in.Name, in.ServiceName, in.ServiceInstanceName, in.EnvironmentName, in.ServiceSpec)
			if err != nil {
				return err
			}
			if store.InFlight(i.DeploymentStatus) {
				return api.Conflictf("service instance %s has a deployment in progress (%s)", i.Name, i.DeploymentStatus)
			}
			fresh.EnvironmentName = i.EnvironmentName
		}
		env, err := componentEnvironment(ctx, q, c.AccountID, fresh.EnvironmentName, true)
		if err != nil {
			return err
		}
		if err := s.checkComponentEngine(tmpl, env); err != nil {
			return err
		}
		if in.ClientToken != "" {
			if err := q.IdempotencyPut(ctx, &store.IdempotencyRecord{AccountID: c.AccountID, Operation: op, Token: in.ClientToken,
				ParamsHash: hash, Resource: in.Name, CreatedAt: now}); err != nil {
				return err
			}
		}
		if _, err := s.startDeployment(ctx, q, s.componentDeployment(&fresh, actionProvision, nil)); err != nil {
			return err
		}
		if err := q.ComponentCreate(ctx, &fresh); err != nil {
			return err
		}
		*comp = fresh
		return putTags(ctx, q, c.AccountID, arn, in.Tags)
	})
	if errors.Is(err, store.ErrAlreadyExists) && in.ClientToken != "" {
		if existing, terr := s.componentForToken(ctx, c.AccountID, op, in.ClientToken, hash); existing != nil || terr != nil {
			return componentCreated(s, existing, terr)
		}
	}
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, api.Conflictf("component %s already exists", in.Name)
	}
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("component %s: its service or environment changed meanwhile; retry", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &types.CreateComponentOutput{Component: s.componentOut(comp)}, nil
}

func componentCreated(s *Service, c *store.Component, err error) (*types.CreateComponentOutput, error) {
	if err != nil {
		return nil, err
	}
	return &types.CreateComponentOutput{Component: s.componentOut(c)}, nil
}

// componentForToken returns the component a client token created (see forToken).
func (s *Service) componentForToken(ctx context.Context, accountID, op, token, hash string) (*store.Component, error) {
	return forToken(ctx, s, accountID, op, token, hash, func(name string) (*store.Component, error) {
		return s.store.ComponentGet(ctx, accountID, name)
	})
}

func (s *Service) GetComponent(ctx context.Context, in *types.GetComponentInput) (*types.GetComponentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	comp, err := s.getComponent(ctx, s.store, c.AccountID, in.Name)
	if err != nil {
		return nil, err
	}
	return &types.GetComponentOutput{Component: s.componentOut(comp)}, nil
}

func (s *Service) ListComponents(ctx context.Context, in *types.ListComponentsInput) (*types.ListComponentsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if in.ServiceInstanceName != "" && in.ServiceName == "" {
		return nil, api.Validationf("serviceName is required with serviceInstanceName")
	}
	scope := "components/" + c.AccountID + "/" + paramsHash([]string{in.EnvironmentName, in.ServiceName, in.ServiceInstanceName})
	p, err := s.openPage(scope, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	list, next, err := s.store.ComponentList(ctx, c.AccountID, in.EnvironmentName, in.ServiceName, in.ServiceInstanceName, p)
	if err != nil {
		return nil, err
	}
	out := &types.ListComponentsOutput{Components: []types.ComponentSummary{}, NextToken: s.sealPage(scope, next)}
	for _, comp := range list {
		out.Components = append(out.Components, s.componentSummaryOut(comp))
	}
	return out, nil
}

// UpdateComponent: NONE changes the description only; CURRENT_VERSION redeploys with the
// given template file, service spec and attachment. An attached component may only be
// detached (empty names), a detached one attached to an instance of its environment.
func (s *Service) UpdateComponent(ctx context.Context, in *types.UpdateComponentInput) (*types.UpdateComponentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	deploying := in.DeploymentType == types.ComponentDeploymentUpdateTypeCurrentVersion
	switch in.DeploymentType {
	case types.ComponentDeploymentUpdateTypeNone:
		if in.ServiceName != nil || in.ServiceInstanceName != nil || in.ServiceSpec != "" || in.TemplateFile != "" {
			return nil, api.Validationf("deploymentType NONE updates the description only; the other parameters need CURRENT_VERSION")
		}
	case types.ComponentDeploymentUpdateTypeCurrentVersion:
	default:
		return nil, api.Validationf("deploymentType must be NONE or CURRENT_VERSION")
	}
	if (in.ServiceName == nil) != (in.ServiceInstanceName == nil) || (in.ServiceName != nil && (*in.ServiceName == "") != (*in.ServiceInstanceName == "")) {
		return nil, api.Validationf("specify serviceName and serviceInstanceName together: both names, both empty (detach), or neither")
	}
	var out *store.Component
	err = s.txRetrying(ctx, func(q store.Queries) error {
		cur, err := s.getComponent(ctx, q, c.AccountID, in.Name)
		if err != nil {
			return err
		}
		if in.ClientToken != "" && in.ClientToken == cur.LastClientRequestToken {
			out = cur
			return nil // a retry of the last update
		}
		if store.InFlight(cur.DeploymentStatus) {
			return api.Conflictf("component %s has a deployment in progress (%s); wait for it or cancel it", cur.Name, cur.DeploymentStatus)
		}
		initial := componentState(cur)
		if in.Description != nil {
			cur.Description = *in.Description
		}
		cur.LastClientRequestToken, cur.LastModifiedAt = in.ClientToken, s.now()
		if deploying {
			service, instance := cur.ServiceName, cur.ServiceInstanceName
			if in.ServiceName != nil {
				service, instance = *in.ServiceName, *in.ServiceInstanceName
			}
			if cur.ServiceInstanceName != "" && instance != "" && (service != cur.ServiceName || instance != cur.ServiceInstanceName) {
				return api.Validationf("component %s is attached to service instance %s; detach it (empty serviceName and serviceInstanceName) before attaching it elsewhere", cur.Name, cur.ServiceInstanceName)
			}
			spec := cur.ServiceSpec
			if in.ServiceSpec != "" {
				spec = in.ServiceSpec
			}
			if instance == "" {
				if in.ServiceSpec != "" {
					return api.Validationf("serviceSpec applies only to a component attached to a service instance")
				}
				spec = ""
			}
			// The instance it is attached to (or is being attached to) must not be
			// deploying; the service's lock keeps it so.
			if lockName, lockInstance := or2(instance, cur.ServiceInstanceName, service, cur.ServiceName); lockInstance != "" {
				svc, err := lockService(ctx, q, c.AccountID, lockName)
				if err != nil {
					return err
				}
				if err := serviceBusy(svc); err != nil {
					return err
				}
				i, err := s.getInstance(ctx, q, c.AccountID, lockName, lockInstance)
				if err != nil {
					return err
				}
				if store.InFlight(i.DeploymentStatus) {
					return api.Conflictf("service instance %s has a deployment in progress (%s)", i.Name, i.DeploymentStatus)
				}
			}
			if instance != "" {
				if _, err := s.checkAttach(ctx, q, c.AccountID, cur.Name, service, instance, cur.EnvironmentName, spec); err != nil {
					return err
				}
			}
			if _, err := componentEnvironment(ctx, q, c.AccountID, cur.EnvironmentName, false); err != nil {
				return err
			}
			target := *cur
			target.ServiceName, target.ServiceInstanceName, target.ServiceSpec = service, instance, spec
			if in.TemplateFile != "" {
				target.TemplateFile = in.TemplateFile
			}
			if _, err := s.startDeployment(ctx, q, s.componentDeployment(&target, actionProvision, initial)); err != nil {
				return err
			}
			if instance == "" && cur.ServiceInstanceName != "" {
				// A detach takes effect when it succeeds: until then the component
				// still holds its instance (which cannot be removed meanwhile).
				target.ServiceName, target.ServiceInstanceName, target.ServiceSpec = cur.ServiceName, cur.ServiceInstanceName, cur.ServiceSpec
			}
			*cur = target
		}
		if err := q.ComponentUpdate(ctx, cur); err != nil {
			return err
		}
		out = cur
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("component %s changed while it was being updated; retry", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &types.UpdateComponentOutput{Component: s.componentOut(out)}, nil
}

// DeleteComponent deletes a detached component's infrastructure, then the component.
// Idempotent like the other deletes.
func (s *Service) DeleteComponent(ctx context.Context, in *types.DeleteComponentInput) (*types.DeleteComponentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Component
	err = s.txRetrying(ctx, func(q store.Queries) error {
		out = nil
		comp, err := q.ComponentGet(ctx, c.AccountID, in.Name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out = comp
		switch {
		case comp.DeploymentStatus == store.StatusDeleteInProgress:
			return nil
		case comp.ServiceInstanceName != "":
			return api.Conflictf("component %s is attached to service instance %s; detach it first (UpdateComponent with empty serviceName and serviceInstanceName)", comp.Name, comp.ServiceInstanceName)
		case store.InFlight(comp.DeploymentStatus):
			return api.Conflictf("component %s has a deployment in progress (%s); wait for it or cancel it", comp.Name, comp.DeploymentStatus)
		}
		if _, err := s.startDeployment(ctx, q, s.componentDeployment(comp, actionDeprovision, nil)); err != nil {
			return err
		}
		return q.ComponentUpdate(ctx, comp)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("component %s changed while it was being deleted; retry", in.Name)
	}
	if err != nil {
		return nil, err
	}
	if out == nil {
		return &types.DeleteComponentOutput{}, nil
	}
	return &types.DeleteComponentOutput{Component: s.componentOut(out)}, nil
}

func (s *Service) CancelComponentDeployment(ctx context.Context, in *types.CancelComponentDeploymentInput) (*types.CancelComponentDeploymentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Component
	err = s.txRetrying(ctx, func(q store.Queries) error {
		comp, err := s.getComponent(ctx, q, c.AccountID, in.ComponentName)
		if err != nil {
			return err
		}
		settled, err := s.cancelDeployment(ctx, q, c.AccountID, &comp.Deployed, "component "+comp.Name)
		if err != nil {
			return err
		}
		if settled {
			out, err = s.getComponent(ctx, q, c.AccountID, in.ComponentName)
			return err
		}
		out = comp
		return q.ComponentUpdate(ctx, comp)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("component %s changed while it was being cancelled; retry", in.ComponentName)
	}
	if err != nil {
		return nil, err
	}
	s.kickWatcher() // a cancelled hand-on's request is to be closed
	return &types.CancelComponentDeploymentOutput{Component: s.componentOut(out)}, nil
}

func (s *Service) ListComponentOutputs(ctx context.Context, in *types.ListComponentOutputsInput) (*types.ListComponentOutputsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	comp, err := s.getComponent(ctx, s.store, c.AccountID, in.ComponentName)
	if err != nil {
		return nil, err
	}
	outputs, err := s.outputsOf(ctx, c.AccountID, comp.Outputs, in.DeploymentId, func(d *store.Deployment) bool {
		return d.TargetType == store.TargetComponent && d.Component == comp.Name
	}, "component "+comp.Name)
	if err != nil {
		return nil, err
	}
	return &types.ListComponentOutputsOutput{Outputs: outputsOut(outputs)}, nil
}

// ListComponentProvisionedResources lists the stack resources of the component's last
// successful deployment.
func (s *Service) ListComponentProvisionedResources(ctx context.Context, in *types.ListComponentProvisionedResourcesInput) (*types.ListComponentProvisionedResourcesOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	comp, err := s.getComponent(ctx, s.store, c.AccountID, in.ComponentName)
	if err != nil {
		return nil, err
	}
	list, err := s.provisionedResources(ctx, c.AccountID, comp.LastSucceededDeploymentID)
	if err != nil {
		return nil, err
	}
	return &types.ListComponentProvisionedResourcesOutput{ProvisionedResources: list}, nil
}

// provisionedResources are what a deployment's engine reported provisioning.
func (s *Service) provisionedResources(ctx context.Context, accountID, deploymentID string) ([]types.ProvisionedResource, error) {
	out := []types.ProvisionedResource{}
	if deploymentID == "" {
		return out, nil
	}
	d, err := s.store.DeploymentGet(ctx, accountID, deploymentID)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, r := range d.Resources {
		out = append(out, types.ProvisionedResource{Name: r.Name, Identifier: r.Identifier, ProvisioningEngine: types.ProvisionedResourceEngine(r.Engine)})
	}
	return out, nil
}

// or2 picks the first non-empty instance, with its service.
func or2(instance, otherInstance, service, otherService string) (string, string) {
	if instance != "" {
		return service, instance
	}
	return otherService, otherInstance
}
