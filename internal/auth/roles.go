// Package auth holds who may call openproton: access keys, the account and role each key
// acts as, and which operations each role may call.
package auth

import (
	"context"
	"fmt"

	"github.com/openproton/openproton/internal/api"
)

// Role is what a key may do.
type Role string

const (
	// RoleAdmin may call every operation.
	RoleAdmin Role = "admin"
	// RoleDeveloper has Proton's developer permissions (the AWSProtonDeveloperAccess policy):
	// reads, plus creating, updating and deleting services, service instances and
	// components and cancelling their deployments. No template or environment changes.
	RoleDeveloper Role = "developer"
	// RoleReadOnly may call only read operations.
	RoleReadOnly Role = "readonly"
	// RoleDeployment is a running deployment's own credential (see JobKeys): it may only
	// report on that deployment's resource.
	RoleDeployment Role = "deployment"
)

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleDeveloper, RoleReadOnly:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want admin, developer or readonly)", s)
}

// developerWrites are the writes AWSProtonDeveloperAccess allows, plus CreateServiceInstance
// and the component writes, which Proton added after that policy: directly defined
// components are, by Proton's design, written by developers.
var developerWrites = map[string]bool{
	"CreateService":                   true,
	"UpdateService":                   true,
	"DeleteService":                   true,
	"CreateServiceInstance":           true,
	"UpdateServiceInstance":           true,
	"UpdateServicePipeline":           true,
	"CancelServiceInstanceDeployment": true,
	"CancelServicePipelineDeployment": true,
	"CreateComponent":                 true,
	"UpdateComponent":                 true,
	"DeleteComponent":                 true,
	"CancelComponentDeployment":       true,
}

// Allows reports whether the role may call op.
func (r Role) Allows(op *api.Operation) bool {
	switch r {
	case RoleAdmin:
		return true
	case RoleDeveloper:
		return op.ReadOnly || developerWrites[op.Name]
	case RoleReadOnly:
		return op.ReadOnly
	case RoleDeployment:
		return op.Name == "NotifyResourceDeploymentStatusChange"
	}
	return false
}

// Caller is the authenticated principal of a request.
type Caller struct {
	AccountID   string
	Role        Role
	AccessKeyID string
	// DeploymentID is set for RoleDeployment: the deployment the credential belongs to.
	DeploymentID string
}

type callerKey struct{}

// WithCaller returns a context carrying the caller.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller a request was authenticated as.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}
