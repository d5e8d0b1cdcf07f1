package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/deploy"
	"github.com/openproton/openproton/internal/provision"
	"github.com/openproton/openproton/internal/provision/pullrequest"
	"github.com/openproton/openproton/internal/provision/terraform"
	"github.com/openproton/openproton/internal/store"
)

// Deployer is what deployments mean for openproton's resources: the deploy runner calls it
// to build a deployment's job and to apply its outcome.
type Deployer struct {
	s *Service
	// Provisioner runs CodeBuild-style jobs (the local provisioner by default).
	Provisioner provision.Provisioner
	// Override, when set, runs every deployment instead (tests and benchmarks use
	// provision.Noop).
	Override provision.Provisioner
	// Render renders a Jinja template with Proton's parameter namespace, and
	// CloudFormation deploys what it rendered: jinja/cloudformation templates (components)
	// need both.
	Render         func(name, text string, ctx map[string]any) (string, error)
	CloudFormation provision.Provisioner
	// Terraform applies Terraform templates directly where no provisioning repository
	// takes them (--terraform-bin); nil refuses them. AssumeRole gives it temporary
	// credentials of the resource's role, as AWS_* variables.
	Terraform  provision.Provisioner
	AssumeRole func(ctx context.Context, roleARN, session string) (map[string]string, error)
}

var _ deploy.Resources = (*Deployer)(nil)

// Deployer returns the service's deployer.
func (s *Service) Deployer(local, override provision.Provisioner) *Deployer {
	return &Deployer{s: s, Provisioner: local, Override: override}
}

func (dp *Deployer) Prepare(ctx context.Context, d *store.Deployment) (provision.Provisioner, *provision.Job, error) {
	switch d.TargetType {
	case store.TargetEnvironment:
		return dp.prepareEnvironment(ctx, d)
	case store.TargetServiceInstance:
		return dp.prepareInstance(ctx, d)
	case store.TargetServicePipeline:
		return dp.preparePipeline(ctx, d)
	case store.TargetComponent:
		return dp.prepareComponent(ctx, d)
	}
	return nil, nil, deploy.Failf("deployments of %s resources are not implemented yet", d.TargetType)
}

// stateOf reads the environment state a deployment works towards: its target, or for a
// deletion the state being removed.
func stateOf(d *store.Deployment) (*types.EnvironmentState, error) {
	raw := d.TargetState
	if d.Action == actionDeprovision {
		raw = d.InitialState
	}
	var st types.DeploymentState
	if err := json.Unmarshal([]byte(raw), &st); err != nil || st.Environment == nil {
		return nil, fmt.Errorf("deployment %s has no environment state", d.ID)
	}
	return st.Environment, nil
}

func (dp *Deployer) prepareEnvironment(ctx context.Context, d *store.Deployment) (provision.Provisioner, *provision.Job, error) {
	s := dp.s
	st, err := stateOf(d)
	if err != nil {
		return nil, nil, deploy.Failf("%v", err)
	}
	major, _ := strconv.Atoi(st.TemplateMajorVersion)
	minor, _ := strconv.Atoi(st.TemplateMinorVersion)
	t, err := s.store.EnvironmentTemplateGet(ctx, d.AccountID, st.TemplateName)
	if err != nil {
		return nil, nil, gone(err, "environment template %s", st.TemplateName)
	}
	v, err := s.store.TemplateVersionGet(ctx, store.VersionKey{AccountID: d.AccountID, TemplateType: store.EnvironmentTemplateType,
		TemplateName: st.TemplateName, Major: major, Minor: minor})
	if err != nil {
		return nil, nil, gone(err, "environment template version %s:%d.%d", st.TemplateName, major, minor)
	}
	b, err := s.bundleCache.load(ctx, s.store, v, bundle.Environment, bundle.Options{CustomerManaged: t.Provisioning == string(types.ProvisioningCustomerManaged)})
	if err != nil {
		return nil, nil, deploy.Failf("%v", err)
	}
	raw := d.Inputs
	if d.Action == actionDeprovision {
		raw = d.InitialInputs
	}
	inputs, err := bundle.DecodeInputs(raw)
	if err != nil {
		return nil, nil, deploy.Failf("deployment %s has no resolved inputs", d.ID)
	}
	// Proton's parameter namespace for an environment, as CodeBuild provisioning passes it.
	namespace, err := json.Marshal(map[string]any{"environment": map[string]any{"name": d.EnvironmentName, "inputs": inputs}})
	if err != nil {
		return nil, nil, deploy.Failf("inputs: %v", err)
	}
	job := &provision.Job{Region: s.region, Inputs: namespace}
	if dp.Override != nil {
		return dp.Override, job, nil
	}
	if b.Infrastructure == nil {
		// CUSTOMER_MANAGED: the infrastructure exists already; its spec states the outputs.
		return customerManaged(inputs), job, nil
	}
	e, err := s.store.EnvironmentGet(ctx, d.AccountID, d.EnvironmentName)
	if err != nil {
		return nil, nil, gone(err, "environment %s", d.EnvironmentName)
	}
	role, err := serviceRoleOf(ctx, s.store, e)
	if err != nil {
		return nil, nil, err
	}
	if b.Infrastructure.Manifest.Templates[0].RenderingEngine == "hcl" {
		req := &terraform.Request{Kind: terraform.Environment, EnvironmentName: e.Name,
			TemplateARN: s.arn(d.AccountID, "environment-template/"+st.TemplateName), TemplateMajor: st.TemplateMajorVersion,
			TemplateMinor: st.TemplateMinorVersion}
		if repo := e.ProvisioningRepository; repo != nil {
			return dp.selfManagedJob(ctx, repo, b.Infrastructure, d, job, req)
		}
		return dp.terraformJob(b.Infrastructure, d, job, req, role)
	}
	return dp.sectionJob(d, b.Infrastructure, job, "environment", d.EnvironmentName, role)
}

// selfManagedJob is self-managed provisioning: the deployment's files go to a new branch
// of the provisioning repository and, where the provider's API is configured, a pull
// request opens from it (Proton's pull request); the deployment then waits for the
// repository's automation to report through NotifyResourceDeploymentStatusChange. A
// deletion commits the files marked deleted and completes at once. req names the resource
// and its template; the rest is filled in here.
func (dp *Deployer) selfManagedJob(ctx context.Context, repo *store.RepositoryBranch, sec *bundle.Section, d *store.Deployment, job *provision.Job, req *terraform.Request) (provision.Provisioner, *provision.Job, error) {
	s := dp.s
	if s.repos == nil {
		return nil, nil, deploy.Failf("self-managed provisioning is not configured on this server")
	}
	link, err := s.store.RepositoryGet(ctx, d.AccountID, repo.Provider, repo.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, deploy.Failf("provisioning repository %s %s is not linked; link it with CreateRepository and deploy again", repo.Provider, repo.Name)
	}
	if err != nil {
		return nil, nil, err
	}
	rem, err := s.remoteOf(repo.Provider, repo.Name, link.ConnectionARN)
	if err != nil {
		return nil, nil, deploy.Failf("provisioning repository: %v", err)
	}
	req.Remote = rem
	req.Remote.BaseBranch = repo.Branch
	req.ResourceARN, req.DeploymentID, req.Deleted = d.TargetARN, d.ID, d.Action == actionDeprovision
	req.Files, req.Namespace = sec.Files, job.Inputs
	prs := s.repos.PullRequests(repo.Provider, link.ConnectionARN)
	return provision.Func(func(ctx context.Context, job *provision.Job) (*provision.Result, error) {
		// Once started, the push and the pull request are seen through even if the
		// deployment is cancelled meanwhile: a request that reached the host but was not
		// recorded could never be withdrawn. The runner then records it, cancelled, and
		// the watcher withdraws it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handOffTimeout)
		defer cancel()
		res, err := terraform.Commit(ctx, req)
		if err != nil {
			return nil, deploy.Failf("self-managed provisioning: %v", err)
		}
		h := handoff{Provider: repo.Provider, Repository: repo.Name, Connection: link.ConnectionARN,
			Branch: res.Branch, Base: repo.Branch, Commit: res.Commit}
		log := fmt.Sprintf("pushed branch %s (commit %s, from %s %s) with %s/\n", res.Branch, res.Commit, repo.Branch, res.Base, res.Folder)
		if prs != nil {
			pr, err := prs.Open(ctx, &pullrequest.Request{Repository: repo.Name, Head: res.Branch, Base: repo.Branch,
				Title: terraform.CommitMessage(req.Kind, resourceName(req)), Body: pullRequestBody(d, req.Deleted)})
			if err != nil {
				return nil, deploy.Failf("self-managed provisioning: opening the pull request: %v", err)
			}
			h.PullRequest = pr
			log += fmt.Sprintf("opened pull request %s\n", pr.URL)
		}
		if job.Log != nil {
			_, _ = job.Log.Write([]byte(log))
		}
		raw, _ := json.Marshal(h)
		// A deletion needs no report: its commit tells the repository's automation.
		return &provision.Result{Pending: !req.Deleted, Log: []byte(log), Handoff: string(raw), Watch: h.PullRequest != nil}, nil
	}), job, nil
}

// terraformJob applies a Terraform template directly: terraform runs on the files
// self-managed provisioning would commit (the template's, Proton's variables file and
// tfvars), with the resource's role's temporary credentials when it has a role, and never
// with the server's own or the deployment's Proton credential.
func (dp *Deployer) terraformJob(sec *bundle.Section, d *store.Deployment, job *provision.Job, req *terraform.Request, role string) (provision.Provisioner, *provision.Job, error) {
	if dp.Terraform == nil {
		return nil, nil, deploy.Failf("applying Terraform templates directly is not configured on this server (--terraform-bin); " +
			"or give the resource a provisioning repository (self-managed provisioning)")
	}
	if role != "" && dp.AssumeRole == nil {
		return nil, nil, deploy.Failf("this server cannot assume role %s for Terraform", role)
	}
	req.ResourceARN, req.DeploymentID = d.TargetARN, d.ID
	req.Files, req.Namespace = sec.Files, job.Inputs
	files, err := terraform.Files(req)
	if err != nil {
		return nil, nil, deploy.Failf("%v", err)
	}
	job.Inputs = files[terraform.TfvarsFile]
	delete(files, terraform.TfvarsFile)
	delete(files, terraform.MetadataFile)
	job.Files, job.RoleARN = files, role
	return provision.Func(func(ctx context.Context, job *provision.Job) (*provision.Result, error) {
		// The machine's instance role is the server's, never a deployment's.
		env := map[string]string{"AWS_EC2_METADATA_DISABLED": "true"}
		for k, v := range job.Env {
			// The deployment's own Proton credential is for CodeBuild-style commands that
			// report back; Terraform's outputs come from its state.
			if !strings.HasPrefix(k, "AWS_") || k == "AWS_REGION" || k == "AWS_DEFAULT_REGION" {
				env[k] = v
			}
		}
		if job.RoleARN != "" {
			creds, err := dp.AssumeRole(ctx, job.RoleARN, d.ID)
			if err != nil {
				return nil, deploy.Failf("assuming role %s for Terraform: %v", job.RoleARN, err)
			}
			maps.Copy(env, creds)
		}
		job.Env = env
		return dp.Terraform.Run(ctx, job)
	}), job, nil
}

// remoteOf is the git remote of a linked repository, authenticated with its connection's
// credential: a token over HTTP(S), a key over SSH (local and file:// remotes take none).
func (s *Service) remoteOf(provider, name, connectionARN string) (terraform.Remote, error) {
	url, err := s.repos.URL(provider, name)
	if err != nil {
		return terraform.Remote{}, err
	}
	rem := terraform.Remote{URL: url}
	cred := s.repos.Credential(provider, connectionARN)
	switch {
	case cred == nil:
	case strings.HasPrefix(url, "ssh://") && cred.SSHKey != nil:
		rem.Auth = &terraform.Auth{Username: cred.Username, SSHKey: cred.SSHKey, KnownHostsFile: cred.KnownHostsFile}
	case (strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://")) && cred.Token != "":
		rem.Auth = &terraform.Auth{Username: cred.Username, Password: cred.Token}
	}
	return rem, nil
}

// handOffTimeout bounds pushing a deployment's branch and opening its pull request.
const handOffTimeout = 5 * time.Minute

// handoff is where a self-managed deployment went: kept with the deployment (as its
// Request) so that the request can be watched and, when the deployment is cancelled,
// closed.
type handoff struct {
	Provider    string                   `json:"provider"`
	Repository  string                   `json:"repository"`
	Connection  string                   `json:"connectionArn"`
	Branch      string                   `json:"branch"`
	Base        string                   `json:"base"`
	Commit      string                   `json:"commit"`
	PullRequest *pullrequest.PullRequest `json:"pullRequest,omitempty"`
}

func resourceName(r *terraform.Request) string {
	switch r.Kind {
	case terraform.Environment:
		return r.EnvironmentName
	case terraform.ServiceInstance:
		return r.ServiceName + "/" + r.ServiceInstanceName
	case terraform.ServicePipeline:
		return r.ServiceName
	}
	return r.ComponentName
}

func pullRequestBody(d *store.Deployment, deleted bool) string {
	if deleted {
		return fmt.Sprintf("openproton deleted %s (deployment %s). Merge to let your automation destroy its infrastructure.", d.TargetARN, d.ID)
	}
	return fmt.Sprintf("openproton deployment %s of %s.\n\nMerge to provision; your automation then reports the outcome with "+
		"`notify-resource-deployment-status-change --resource-arn %s`. Closing this pull request unmerged cancels the deployment.", d.ID, d.TargetARN, d.TargetARN)
}

// gone makes a resource that disappeared under a deployment the deployment's failure;
// other errors stay as they are (the runner retries them).
func gone(err error, format string, a ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return deploy.Failf(format+" no longer exists", a...)
	}
	return err
}

// serviceRoleOf is the role an environment and its instances deploy with through
// CloudFormation: its account connection's role, or its protonServiceRoleArn. A deleted
// connection leaves none (and the deployment fails rather than use the server's own
// credentials in the wrong account).
func serviceRoleOf(ctx context.Context, q store.Queries, e *store.Environment) (string, error) {
	if e.EnvironmentAccountConnectionID == "" {
		return e.ProtonServiceRoleArn, nil
	}
	conn, err := q.AccountConnectionGet(ctx, e.EnvironmentAccountConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return conn.RoleArn, nil
}

// sectionJob completes job for a bundle folder: CodeBuild commands, or a rendered
// CloudFormation template deployed as the resource's stack under role.
func (dp *Deployer) sectionJob(d *store.Deployment, sec *bundle.Section, job *provision.Job, kind, name, role string) (provision.Provisioner, *provision.Job, error) {
	tmpl := sec.Manifest.Templates[0]
	if tmpl.RenderingEngine == "jinja" && tmpl.TemplateLanguage == "cloudformation" {
		return dp.cloudFormationJob(d, string(sec.Files[tmpl.Files[0]]), job, kind, name, role)
	}
	return dp.codeBuildJob(d, sec, job)
}

// cloudFormationJob renders a template with the job's namespace (not for a deletion,
// which only removes the stack) and hands it to the CloudFormation provisioner.
func (dp *Deployer) cloudFormationJob(d *store.Deployment, text string, job *provision.Job, kind, name, role string) (provision.Provisioner, *provision.Job, error) {
	if dp.CloudFormation == nil || dp.Render == nil {
		return nil, nil, deploy.Failf("CloudFormation provisioning is not configured on this server")
	}
	if role == "" {
		// Never fall back to the server's own credentials: they may reach another account.
		return nil, nil, deploy.Failf("no role to deploy %s %s with (its protonServiceRoleArn, pipelineServiceRoleArn, componentRoleArn or account connection is gone)", kind, name)
	}
	job.StackName, job.RoleARN = stackName(kind, name, d.TargetARN), role
	if d.Action == actionProvision {
		rendered, err := dp.Render(kind+" "+name, text, renderContext(job.Inputs))
		if err != nil {
			return nil, nil, deploy.Failf("rendering the template: %v", err)
		}
		job.Rendered = []byte(rendered)
	}
	return dp.CloudFormation, job, nil
}

// codeBuildJob completes job with a CodeBuild provisioning folder's files, commands and
// variables.
func (dp *Deployer) codeBuildJob(d *store.Deployment, sec *bundle.Section, job *provision.Job) (provision.Provisioner, *provision.Job, error) {
	tmpl := sec.Manifest.Templates[0]
	if tmpl.RenderingEngine != "codebuild" || tmpl.CodeBuild == nil {
		return nil, nil, deploy.Failf("provisioning %s/%s templates is not implemented yet", tmpl.RenderingEngine, tmpl.TemplateLanguage)
	}
	job.Files = sec.Files
	job.Commands = tmpl.CodeBuild.Provision
	if d.Action == actionDeprovision {
		job.Commands = tmpl.CodeBuild.Deprovision
	}
	job.CommandEnv = codeBuildVariables(tmpl.CodeBuild.Env)
	return dp.Provisioner, job, nil
}

// codeBuildVariables are the manifest's env.variables, as CodeBuild sets them. Secrets
// Manager and parameter-store references need AWS and are not resolved.
func codeBuildVariables(env map[string]any) map[string]string {
	vars, _ := env["variables"].(map[string]any)
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// customerManaged "deploys" a CUSTOMER_MANAGED environment: its inputs are the outputs of
// infrastructure provisioned elsewhere.
func customerManaged(inputs map[string]any) provision.Provisioner {
	return provision.Func(func(ctx context.Context, job *provision.Job) (*provision.Result, error) {
		res := &provision.Result{Log: []byte("CUSTOMER_MANAGED environment: outputs taken from the spec\n")}
		if job.Action == provision.Deprovision {
			return res, nil
		}
		res.Outputs = map[string]string{}
		for k, v := range inputs {
			if s, ok := v.(string); ok {
				res.Outputs[k] = s
				continue
			}
			b, _ := json.Marshal(v)
			res.Outputs[k] = string(b)
		}
		return res, nil
	})
}

func (dp *Deployer) Finish(ctx context.Context, q store.Queries, d *store.Deployment) error {
	switch d.TargetType {
	case store.TargetServiceInstance:
		return dp.finishInstance(ctx, q, d)
	case store.TargetServicePipeline:
		return dp.finishPipeline(ctx, q, d)
	case store.TargetComponent:
		return dp.finishComponent(ctx, q, d)
	case store.TargetEnvironment:
	default:
		return nil
	}
	e, err := q.EnvironmentGet(ctx, d.AccountID, d.EnvironmentName)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if e.LastAttemptedDeploymentID != d.ID {
		return nil // a later deployment owns the environment now
	}
	e.DeploymentStatus, e.DeploymentStatusMessage = d.Status, d.StatusMessage
	switch d.Status {
	case store.StatusSucceeded:
		e.LastSucceededDeploymentID, e.LastDeploymentSucceededAt, e.Outputs = d.ID, d.CompletedAt, d.Outputs
	case store.StatusFailed, store.StatusCancelled:
		// An update that did not complete leaves the environment as its last successful
		// deployment left it.
		var initial types.DeploymentState
		if d.InitialState != "" && json.Unmarshal([]byte(d.InitialState), &initial) == nil && initial.Environment != nil {
			e.Spec = initial.Environment.Spec
			e.TemplateMajor, _ = strconv.Atoi(initial.Environment.TemplateMajorVersion)
			e.TemplateMinor, _ = strconv.Atoi(initial.Environment.TemplateMinorVersion)
			e.Inputs = d.InitialInputs
		}
	case store.StatusDeleteComplete:
		if err := q.EnvironmentDelete(ctx, e.AccountID, e.Name); err != nil {
			return err
		}
		return q.TagsDeleteAll(ctx, e.AccountID, d.TargetARN)
	}
	return q.EnvironmentUpdate(ctx, e)
}
