package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/deploy"
	"github.com/openproton/openproton/internal/provision"
	"github.com/openproton/openproton/internal/provision/terraform"
	"github.com/openproton/openproton/internal/store"
)

// Deployments of components: the template file rendered with the component's namespace
// and deployed as a CloudFormation stack under the environment's component role.

func componentStateOf(d *store.Deployment) (*types.ComponentState, error) {
	raw := d.TargetState
	if d.Action == actionDeprovision {
		raw = d.InitialState
	}
	var st types.DeploymentState
	if err := json.Unmarshal([]byte(raw), &st); err != nil || st.Component == nil {
		return nil, fmt.Errorf("deployment %s has no component state", d.ID)
	}
	return st.Component, nil
}

var stackNameUnsafe = regexp.MustCompile(`[^A-Za-z0-9-]+`)

// stackName is the CloudFormation stack of a resource: stable across its deployments,
// valid whatever the resource's name (letters, digits and hyphens, at most 128), and
// distinct per ARN.
func stackName(kind, name, arn string) string {
	sum := sha256.Sum256([]byte(arn))
	readable := stackNameUnsafe.ReplaceAllString(name, "-")
	if len(readable) > 80 {
		readable = readable[:80]
	}
	return "AWSProton-" + kind + "-" + strings.Trim(readable, "-") + "-" + hex.EncodeToString(sum[:6])
}

// componentNamespace is Proton's namespace for a component: its name, its environment,
// and when attached its service and instance (the instance's inputs, or those its
// serviceSpec entry gives).
func (dp *Deployer) componentNamespace(ctx context.Context, d *store.Deployment, st *types.ComponentState, env *store.Environment) (map[string]any, error) {
	ns := map[string]any{
		"component":   map[string]any{"name": d.Component},
		"environment": map[string]any{"name": env.Name, "outputs": outputsMap(env.Outputs)},
	}
	if st.ServiceInstanceName == "" {
		return ns, nil
	}
	i, err := dp.s.store.ServiceInstanceGet(ctx, d.AccountID, st.ServiceName, st.ServiceInstanceName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, deploy.Failf("service instance %s of service %s no longer exists", st.ServiceInstanceName, st.ServiceName)
	}
	if err != nil {
		return nil, err
	}
	inputs := deployedInputs(i.Inputs)
	if st.ServiceSpec != "" {
		spec, err := bundle.ParseServiceSpec(st.ServiceSpec)
		if err != nil {
			return nil, deploy.Failf("serviceSpec: %v", err)
		}
		if entry, ok := spec.Instance(st.ServiceInstanceName); ok {
			for k, v := range entry.Inputs {
				inputs[k] = v
			}
		}
	}
	ns["service"] = map[string]any{"name": st.ServiceName}
	ns["service_instance"] = map[string]any{"name": st.ServiceInstanceName, "inputs": inputs}
	return ns, nil
}

func (dp *Deployer) prepareComponent(ctx context.Context, d *store.Deployment) (provision.Provisioner, *provision.Job, error) {
	s := dp.s
	st, err := componentStateOf(d)
	if err != nil {
		return nil, nil, deploy.Failf("%v", err)
	}
	env, err := s.store.EnvironmentGet(ctx, d.AccountID, d.EnvironmentName)
	if err != nil {
		return nil, nil, gone(err, "environment %s", d.EnvironmentName)
	}
	ns, err := dp.componentNamespace(ctx, d, st, env)
	if err != nil {
		return nil, nil, err
	}
	inputs, err := json.Marshal(ns)
	if err != nil {
		return nil, nil, deploy.Failf("inputs: %v", err)
	}
	job := &provision.Job{Region: s.region, Inputs: inputs}
	if dp.Override != nil {
		return dp.Override, job, nil
	}
	comp, err := s.store.ComponentGet(ctx, d.AccountID, d.Component)
	if err != nil {
		return nil, nil, gone(err, "component %s", d.Component)
	}
	tmpl, err := bundle.ParseComponentManifest(comp.Manifest)
	if err != nil {
		return nil, nil, deploy.Failf("manifest: %v", err)
	}
	role, err := componentRoleOf(ctx, s.store, env)
	if err != nil {
		return nil, nil, err
	}
	if tmpl.TemplateLanguage == "terraform" {
		sec := &bundle.Section{Files: map[string][]byte{componentFileName(tmpl): []byte(st.TemplateFile)}}
		req := &terraform.Request{Kind: terraform.Component, EnvironmentName: env.Name, ServiceName: st.ServiceName,
			ServiceInstanceName: st.ServiceInstanceName, ComponentName: d.Component, EnvironmentARN: s.envARN(d.AccountID, env.Name)}
		if repo := env.ProvisioningRepository; repo != nil {
			return dp.selfManagedJob(ctx, repo, sec, d, job, req)
		}
		if role == "" {
			return nil, nil, deploy.Failf("no componentRoleArn to deploy component %s with", d.Component)
		}
		return dp.terraformJob(sec, d, job, req, role)
	}
	return dp.cloudFormationJob(d, st.TemplateFile, job, "component", d.Component, role)
}

// componentFileName is what a Terraform component's templateFile is called in its folder:
// the manifest's file when it names one plain .tf file, else main.tf (Proton's name for it
// is not documented).
func componentFileName(t *bundle.Template) string {
	if f := t.Files[0]; strings.HasSuffix(f, ".tf") && !strings.ContainsAny(f, "*?[/\\") {
		return f
	}
	return "main.tf"
}

// renderContext decodes a namespace for rendering with numbers kept exact (json.Number),
// so that 8080 renders as 8080 and 1.5 as 1.5, as Python's json module would give them.
func renderContext(raw []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var ctx map[string]any
	_ = dec.Decode(&ctx)
	return ctx
}

func (dp *Deployer) finishComponent(ctx context.Context, q store.Queries, d *store.Deployment) error {
	comp, err := q.ComponentGet(ctx, d.AccountID, d.Component)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if comp.LastAttemptedDeploymentID != d.ID {
		return nil
	}
	comp.DeploymentStatus, comp.DeploymentStatusMessage = d.Status, d.StatusMessage
	switch d.Status {
	case store.StatusSucceeded:
		comp.LastSucceededDeploymentID, comp.LastDeploymentSucceededAt, comp.Outputs = d.ID, d.CompletedAt, d.Outputs
		// The deployed state is now the component's (a detach takes effect here).
		var target types.DeploymentState
		if json.Unmarshal([]byte(d.TargetState), &target) == nil && target.Component != nil {
			st := target.Component
			comp.ServiceName, comp.ServiceInstanceName, comp.ServiceSpec, comp.TemplateFile = st.ServiceName, st.ServiceInstanceName, st.ServiceSpec, st.TemplateFile
		}
	case store.StatusFailed, store.StatusCancelled:
		// A failed or cancelled update puts back what the component had.
		var initial types.DeploymentState
		if d.InitialState != "" && json.Unmarshal([]byte(d.InitialState), &initial) == nil && initial.Component != nil {
			st := initial.Component
			comp.ServiceName, comp.ServiceInstanceName, comp.ServiceSpec, comp.TemplateFile = st.ServiceName, st.ServiceInstanceName, st.ServiceSpec, st.TemplateFile
		}
	case store.StatusDeleteComplete:
		if err := q.ComponentDelete(ctx, comp.AccountID, comp.Name); err != nil {
			return err
		}
		return q.TagsDeleteAll(ctx, comp.AccountID, d.TargetARN)
	}
	return q.ComponentUpdate(ctx, comp)
}
