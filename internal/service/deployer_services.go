package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/deploy"
	"github.com/openproton/openproton/internal/provision"
	"github.com/openproton/openproton/internal/provision/terraform"
	"github.com/openproton/openproton/internal/store"
)

// Deployments of service instances and pipelines: the job (files, commands and Proton's
// parameter namespace) and applying the outcome, which moves the service on.

// deployedTemplate reads the template version and inputs a deployment of an instance or
// pipeline deploys (for a deletion: what it removes).
func deployedTemplate(d *store.Deployment, pick func(*types.DeploymentState) (name, major, minor string, ok bool)) (name string, major, minor int, inputs map[string]any, err error) {
	raw, rawInputs := d.TargetState, d.Inputs
	if d.Action == actionDeprovision {
		raw, rawInputs = d.InitialState, d.InitialInputs
	}
	var st types.DeploymentState
	if json.Unmarshal([]byte(raw), &st) != nil {
		return "", 0, 0, nil, fmt.Errorf("deployment %s has no state", d.ID)
	}
	name, ma, mi, ok := pick(&st)
	if !ok {
		return "", 0, 0, nil, fmt.Errorf("deployment %s has no %s state", d.ID, d.TargetType)
	}
	major, _ = strconv.Atoi(ma)
	minor, _ = strconv.Atoi(mi)
	if inputs, err = bundle.DecodeInputs(rawInputs); err != nil {
		return "", 0, 0, nil, fmt.Errorf("deployment %s has no resolved inputs", d.ID)
	}
	return name, major, minor, inputs, nil
}

func (dp *Deployer) serviceBundle(ctx context.Context, accountID, name string, major, minor int) (*bundle.Bundle, error) {
	s := dp.s
	v, err := s.store.TemplateVersionGet(ctx, store.VersionKey{AccountID: accountID, TemplateType: store.ServiceTemplateType,
		TemplateName: name, Major: major, Minor: minor})
	if errors.Is(err, store.ErrNotFound) {
		return nil, deploy.Failf("service template version %s:%d.%d no longer exists", name, major, minor)
	}
	if err != nil {
		return nil, err
	}
	b, err := s.bundleCache.load(ctx, s.store, v, bundle.Service, bundle.Options{})
	if err != nil {
		return nil, deploy.Failf("%v", err)
	}
	return b, nil
}

// serviceNamespace is the `service` object of Proton's parameter namespace.
func serviceNamespace(svc *store.Service) map[string]any {
	return map[string]any{"name": svc.Name, "repository_connection_arn": svc.RepositoryConnectionArn,
		"repository_id": svc.RepositoryID, "branch_name": svc.BranchName}
}

// environmentNamespace is the `environment` object instances and pipelines see.
func environmentNamespace(e *store.Environment) map[string]any {
	account := e.EnvironmentAccountID
	if account == "" {
		account = e.AccountID
	}
	return map[string]any{"account_id": account, "name": e.Name, "outputs": outputsMap(e.Outputs)}
}

func (dp *Deployer) prepareInstance(ctx context.Context, d *store.Deployment) (provision.Provisioner, *provision.Job, error) {
	s := dp.s
	name, major, minor, inputs, err := deployedTemplate(d, func(st *types.DeploymentState) (string, string, string, bool) {
		if st.ServiceInstance == nil {
			return "", "", "", false
		}
		return st.ServiceInstance.TemplateName, st.ServiceInstance.TemplateMajorVersion, st.ServiceInstance.TemplateMinorVersion, true
	})
	if err != nil {
		return nil, nil, deploy.Failf("%v", err)
	}
	svc, err := s.store.ServiceGet(ctx, d.AccountID, d.ServiceName)
	if err != nil {
		return nil, nil, gone(err, "service %s", d.ServiceName)
	}
	env, err := s.store.EnvironmentGet(ctx, d.AccountID, d.EnvironmentName)
	if err != nil {
		return nil, nil, gone(err, "environment %s", d.EnvironmentName)
	}
	instance := map[string]any{"name": d.ServiceInstanceName, "inputs": inputs}
	comp, err := attachedComponent(ctx, s.store, d.AccountID, d.ServiceName, d.ServiceInstanceName)
	if err != nil {
		return nil, nil, err
	}
	if comp != nil {
		// Proton's one attached component is the instance's "default" component.
		instance["components"] = map[string]any{"default": map[string]any{"name": comp.Name, "outputs": outputsMap(comp.Outputs)}}
	}
	namespace, err := json.Marshal(map[string]any{
		"environment":      environmentNamespace(env),
		"service":          serviceNamespace(svc),
		"service_instance": instance,
	})
	if err != nil {
		return nil, nil, deploy.Failf("inputs: %v", err)
	}
	job := &provision.Job{Region: s.region, Inputs: namespace}
	if dp.Override != nil {
		return dp.Override, job, nil
	}
	b, err := dp.serviceBundle(ctx, d.AccountID, name, major, minor)
	if err != nil {
		return nil, nil, err
	}
	role, err := serviceRoleOf(ctx, s.store, env)
	if err != nil {
		return nil, nil, err
	}
	if b.Infrastructure.Manifest.Templates[0].RenderingEngine == "hcl" {
		req := &terraform.Request{Kind: terraform.ServiceInstance,
			EnvironmentName: env.Name, ServiceName: d.ServiceName, ServiceInstanceName: d.ServiceInstanceName,
			EnvironmentARN: s.envARN(d.AccountID, env.Name), TemplateARN: s.arn(d.AccountID, "service-template/"+name),
			TemplateMajor: strconv.Itoa(major), TemplateMinor: strconv.Itoa(minor)}
		if repo := env.ProvisioningRepository; repo != nil {
			return dp.selfManagedJob(ctx, repo, b.Infrastructure, d, job, req)
		}
		return dp.terraformJob(b.Infrastructure, d, job, req, role)
	}
	return dp.sectionJob(d, b.Infrastructure, job, "instance", d.ServiceName+"-"+d.ServiceInstanceName, role)
}

func (dp *Deployer) preparePipeline(ctx context.Context, d *store.Deployment) (provision.Provisioner, *provision.Job, error) {
	s := dp.s
	name, major, minor, inputs, err := deployedTemplate(d, func(st *types.DeploymentState) (string, string, string, bool) {
		if st.ServicePipeline == nil {
			return "", "", "", false
		}
		return st.ServicePipeline.TemplateName, st.ServicePipeline.TemplateMajorVersion, st.ServicePipeline.TemplateMinorVersion, true
	})
	if err != nil {
		return nil, nil, deploy.Failf("%v", err)
	}
	svc, err := s.store.ServiceGet(ctx, d.AccountID, d.ServiceName)
	if err != nil {
		return nil, nil, gone(err, "service %s", d.ServiceName)
	}
	insts, err := s.store.ServiceInstancesOf(ctx, d.AccountID, d.ServiceName)
	if err != nil {
		return nil, nil, err
	}
	instances := []any{}
	for _, i := range insts {
		if i.DeploymentStatus == store.StatusDeleteInProgress || i.DeploymentStatus == store.StatusDeleteFailed {
			continue
		}
		env, err := s.store.EnvironmentGet(ctx, d.AccountID, i.EnvironmentName)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, deploy.Failf("environment %s of service instance %s no longer exists", i.EnvironmentName, i.Name)
		}
		if err != nil {
			return nil, nil, err
		}
		instances = append(instances, map[string]any{"name": i.Name, "inputs": deployedInputs(i.Inputs),
			"outputs": outputsMap(i.Outputs), "environment": environmentNamespace(env)})
	}
	namespace, err := json.Marshal(map[string]any{
		"pipeline":          map[string]any{"inputs": inputs},
		"service":           serviceNamespace(svc),
		"service_instances": instances,
	})
	if err != nil {
		return nil, nil, deploy.Failf("inputs: %v", err)
	}
	job := &provision.Job{Region: s.region, Inputs: namespace}
	if dp.Override != nil {
		return dp.Override, job, nil
	}
	b, err := dp.serviceBundle(ctx, d.AccountID, name, major, minor)
	if err != nil {
		return nil, nil, err
	}
	if b.Pipeline == nil {
		return nil, nil, deploy.Failf("service template version %s:%d.%d has no pipeline", name, major, minor)
	}
	settings, err := s.store.AccountSettingsGet(ctx, d.AccountID)
	if err != nil {
		return nil, nil, err
	}
	if b.Pipeline.Manifest.Templates[0].RenderingEngine == "hcl" {
		req := &terraform.Request{Kind: terraform.ServicePipeline, ServiceName: d.ServiceName,
			TemplateARN: s.arn(d.AccountID, "service-template/"+name), TemplateMajor: strconv.Itoa(major), TemplateMinor: strconv.Itoa(minor)}
		if repo := settings.PipelineProvisioningRepository; repo != nil {
			return dp.selfManagedJob(ctx, repo, b.Pipeline, d, job, req)
		}
		return dp.terraformJob(b.Pipeline, d, job, req, settings.PipelineServiceRoleArn)
	}
	return dp.sectionJob(d, b.Pipeline, job, "pipeline", d.ServiceName, settings.PipelineServiceRoleArn)
}

// lockServiceOf takes the lock of the service a deployment belongs to, nil when the
// service is gone. It comes first in every finish so that finishes of one service's
// resources queue on the service row instead of interleaving.
func lockServiceOf(ctx context.Context, q store.Queries, d *store.Deployment) (*store.Service, error) {
	svc, err := q.ServiceLock(ctx, d.AccountID, d.ServiceName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return svc, err
}

func restoreInstance(st *types.DeploymentState) (spec, name, major, minor string, ok bool) {
	if st.ServiceInstance == nil {
		return "", "", "", "", false
	}
	i := st.ServiceInstance
	return i.Spec, i.TemplateName, i.TemplateMajorVersion, i.TemplateMinorVersion, true
}

func restorePipeline(st *types.DeploymentState) (spec, name, major, minor string, ok bool) {
	if st.ServicePipeline == nil {
		return "", "", "", "", false
	}
	p := st.ServicePipeline
	return p.Spec, p.TemplateName, p.TemplateMajorVersion, p.TemplateMinorVersion, true
}

func (dp *Deployer) finishInstance(ctx context.Context, q store.Queries, d *store.Deployment) error {
	s := dp.s
	svc, err := lockServiceOf(ctx, q, d)
	if err != nil {
		return err
	}
	i, err := q.ServiceInstanceGet(ctx, d.AccountID, d.ServiceName, d.ServiceInstanceName)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if i != nil && i.LastAttemptedDeploymentID == d.ID {
		if applyOutcome(&i.Deployed, d, restoreInstance) {
			if err := q.ServiceInstanceDelete(ctx, i.AccountID, i.ServiceName, i.Name); err != nil {
				return err
			}
			if err := q.TagsDeleteAll(ctx, i.AccountID, d.TargetARN); err != nil {
				return err
			}
		} else if err := q.ServiceInstanceUpdate(ctx, i); err != nil {
			return err
		}
	}
	if svc == nil {
		return nil
	}
	return s.settleService(ctx, q, svc)
}

func (dp *Deployer) finishPipeline(ctx context.Context, q store.Queries, d *store.Deployment) error {
	s := dp.s
	svc, err := lockServiceOf(ctx, q, d)
	if err != nil {
		return err
	}
	p, err := q.ServicePipelineGet(ctx, d.AccountID, d.ServiceName)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if p != nil && p.LastAttemptedDeploymentID == d.ID {
		if applyOutcome(&p.Deployed, d, restorePipeline) {
			if err := q.ServicePipelineDelete(ctx, p.AccountID, p.ServiceName); err != nil {
				return err
			}
		} else if err := q.ServicePipelineUpdate(ctx, p); err != nil {
			return err
		}
	}
	if svc == nil {
		return nil
	}
	return s.settleService(ctx, q, svc)
}
