// Package provision defines how openproton hands a deployment to an engine: a Provisioner
// receives everything it needs in a Job (files, inputs, credentials) and reports outputs.
// Provisioners never touch the store; the engine records what they return.
package provision

import (
	"context"
	"time"
)

// Action is what a job does to its resource.
type Action string

const (
	Provision   Action = "PROVISION"
	Deprovision Action = "DEPROVISION"
)

// Job is one deployment's work.
type Job struct {
	DeploymentID string
	ResourceARN  string
	Region       string
	Action       Action
	Files        map[string][]byte // the template's infrastructure folder, by relative path
	Inputs       []byte            // proton-inputs.json: the deployment's parameter namespace
	Env          map[string]string // extra environment: the job's scoped credential, endpoints
	Commands     []string          // the action's commands (CodeBuild-style templates)
	CommandEnv   map[string]string // the manifest's environment variables for them
	// Rendered is the rendered template (CloudFormation templates), StackName the stack
	// that holds the resource (stable across its deployments) and RoleARN the role to
	// assume for it ("" = the server's own credentials).
	Rendered  []byte
	StackName string
	RoleARN   string
	// Log receives the job's output when set (the caller may read it while the job runs);
	// otherwise the provisioner keeps its own.
	Log     *Tail
	Timeout time.Duration // 0 = DefaultTimeout
}

// DefaultMaxLog is how much of a job's output is kept: its last 256 KiB.
const DefaultMaxLog = 256 << 10

// DefaultTimeout bounds a job that states none.
const DefaultTimeout = time.Hour

// Result is what a finished job produced.
type Result struct {
	Outputs map[string]string
	Log     []byte // captured output, bounded
	// Resources are what the engine reports having provisioned (CloudFormation stack
	// resources); nil when it reports none.
	Resources []Resource
	// Pending: the job handed the work on (self-managed provisioning's pull request);
	// the deployment stays in flight until NotifyResourceDeploymentStatusChange reports
	// how it ended.
	Pending bool
	// Handoff records where pending work went (the pushed branch and its pull request),
	// opaque to the engine, which keeps it with the deployment. Watch asks for the
	// request to be watched while the deployment waits (a pull request closed unmerged
	// cancels it).
	Handoff string
	Watch   bool
}

// Resource is one provisioned resource, as ListXProvisionedResources shows it.
type Resource struct {
	Name, Identifier string
	Engine           string // CLOUDFORMATION | TERRAFORM
}

// Provisioner runs jobs. Cancelling ctx stops a job: nothing further runs.
type Provisioner interface {
	Run(ctx context.Context, job *Job) (*Result, error)
}

// Func adapts a function to the Provisioner interface.
type Func func(ctx context.Context, job *Job) (*Result, error)

func (f Func) Run(ctx context.Context, job *Job) (*Result, error) { return f(ctx, job) }

// Noop succeeds at once without doing anything: for tests and for measuring the engine.
var Noop Provisioner = Func(func(ctx context.Context, job *Job) (*Result, error) {
	return &Result{Log: []byte("noop provisioner: nothing to do\n")}, ctx.Err()
})
