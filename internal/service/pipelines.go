package service

import (
	"context"
	"errors"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/store"
)

// Service pipelines: deployed by their service after its instances, and updated,
// cancelled and read here.

func (s *Service) getPipeline(ctx context.Context, q store.Queries, accountID, service string) (*store.ServicePipeline, error) {
	p, err := q.ServicePipelineGet(ctx, accountID, service)
	if errors.Is(err, store.ErrNotFound) {
		if _, serr := s.getService(ctx, q, accountID, service); serr != nil {
			return nil, serr
		}
		return nil, api.NotFoundf("service %s has no pipeline", service)
	}
	return p, err
}

// UpdateServicePipeline redeploys the pipeline by Proton's deployment types; spec is a
// service spec whose pipeline inputs apply.
func (s *Service) UpdateServicePipeline(ctx context.Context, in *types.UpdateServicePipelineInput) (*types.UpdateServicePipelineOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := s.getService(ctx, s.store, c.AccountID, in.ServiceName)
	if err != nil {
		return nil, err
	}
	p, err := s.getPipeline(ctx, s.store, c.AccountID, in.ServiceName)
	if err != nil {
		return nil, err
	}
	if err := serviceBusy(svc); err != nil {
		return nil, err
	}
	if store.InFlight(p.DeploymentStatus) {
		return nil, api.Conflictf("the pipeline of service %s has a deployment in progress (%s); wait for it or cancel it", svc.Name, p.DeploymentStatus)
	}
	up := deployUpdate{deploymentType: in.DeploymentType, spec: in.Spec, major: in.TemplateMajorVersion, minor: in.TemplateMinorVersion}
	if in.DeploymentType == types.DeploymentUpdateTypeNone {
		up.spec = "" // the model requires a spec even when nothing deploys
	}
	t, err := s.svcUpdateTarget(ctx, svc, &p.Deployed, up)
	if err != nil {
		return nil, err
	}
	var inputs string
	if t != nil {
		if t.bundle.Pipeline == nil {
			return nil, api.Validationf("service template version %s:%d.%d has no pipeline", t.version.TemplateName, t.version.Major, t.version.Minor)
		}
		spec, err := parseServiceSpec(in.Spec)
		if err != nil {
			return nil, err
		}
		if inputs, err = s.planPipeline(ctx, c.AccountID, t, spec.Pipeline, deployedInputs(p.Inputs)); err != nil {
			return nil, err
		}
	}
	err = s.txRetrying(ctx, func(q store.Queries) error {
		cur, err := lockService(ctx, q, c.AccountID, in.ServiceName)
		if err != nil {
			return err
		}
		if err := serviceBusy(cur); err != nil {
			return err
		}
		pl, err := s.getPipeline(ctx, q, c.AccountID, in.ServiceName)
		if err != nil {
			return err
		}
		if store.InFlight(pl.DeploymentStatus) || pl.Version != p.Version {
			return api.Conflictf("the pipeline of service %s changed while it was being updated; retry", in.ServiceName)
		}
		if t != nil {
			initial := &deploymentStateRef{state: pipelineState(pl), inputs: pl.Inputs}
			pl.TemplateName, pl.TemplateMajor, pl.TemplateMinor = t.version.TemplateName, t.version.Major, t.version.Minor
			pl.Spec, pl.Inputs = in.Spec, inputs
			if _, err := s.startDeployment(ctx, q, s.pipelineDeployment(pl, actionProvision, initial)); err != nil {
				return err
			}
		}
		if err := q.ServicePipelineUpdate(ctx, pl); err != nil {
			return err
		}
		p = pl
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("the pipeline of service %s changed while it was being updated; retry", in.ServiceName)
	}
	if err != nil {
		return nil, err
	}
	return &types.UpdateServicePipelineOutput{Pipeline: s.pipelineOut(p)}, nil
}

func (s *Service) CancelServicePipelineDeployment(ctx context.Context, in *types.CancelServicePipelineDeploymentInput) (*types.CancelServicePipelineDeploymentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.ServicePipeline
	err = s.txRetrying(ctx, func(q store.Queries) error {
		p, err := s.getPipeline(ctx, q, c.AccountID, in.ServiceName)
		if err != nil {
			return err
		}
		settled, err := s.cancelDeployment(ctx, q, c.AccountID, &p.Deployed, "the pipeline of service "+in.ServiceName)
		if err != nil {
			return err
		}
		if settled {
			out, err = s.getPipeline(ctx, q, c.AccountID, in.ServiceName)
			return err
		}
		out = p
		return q.ServicePipelineUpdate(ctx, p)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("the pipeline of service %s changed while it was being cancelled; retry", in.ServiceName)
	}
	if err != nil {
		return nil, err
	}
	s.kickWatcher() // a cancelled hand-on's request is to be closed
	return &types.CancelServicePipelineDeploymentOutput{Pipeline: s.pipelineOut(out)}, nil
}

func (s *Service) ListServicePipelineOutputs(ctx context.Context, in *types.ListServicePipelineOutputsInput) (*types.ListServicePipelineOutputsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.getPipeline(ctx, s.store, c.AccountID, in.ServiceName)
	if err != nil {
		return nil, err
	}
	outputs, err := s.outputsOf(ctx, c.AccountID, p.Outputs, in.DeploymentId, func(d *store.Deployment) bool {
		return d.TargetType == store.TargetServicePipeline && d.ServiceName == p.ServiceName
	}, "the pipeline of service "+p.ServiceName)
	if err != nil {
		return nil, err
	}
	return &types.ListServicePipelineOutputsOutput{Outputs: outputsOut(outputs)}, nil
}

// ListServicePipelineProvisionedResources lists what the last successful deployment's engine
// reported (CodeBuild provisioning reports none, as on Proton).
func (s *Service) ListServicePipelineProvisionedResources(ctx context.Context, in *types.ListServicePipelineProvisionedResourcesInput) (*types.ListServicePipelineProvisionedResourcesOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.getPipeline(ctx, s.store, c.AccountID, in.ServiceName)
	if err != nil {
		return nil, err
	}
	list, err := s.provisionedResources(ctx, c.AccountID, p.LastSucceededDeploymentID)
	if err != nil {
		return nil, err
	}
	return &types.ListServicePipelineProvisionedResourcesOutput{ProvisionedResources: list}, nil
}
