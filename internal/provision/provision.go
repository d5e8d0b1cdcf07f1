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
	Timeout      time.Duration     // 0 = DefaultTimeout
}

// DefaultTimeout bounds a job that states none.
const DefaultTimeout = time.Hour

// Result is what a finished job produced.
type Result struct {
	Outputs map[string]string
	Log     []byte // captured output, bounded
}

// Provisioner runs jobs. Cancelling ctx stops a job: nothing further runs.
type Provisioner interface {
	Run(ctx context.Context, job *Job) (*Result, error)
}
