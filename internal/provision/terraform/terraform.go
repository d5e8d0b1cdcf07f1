// Package terraform implements Proton's self-managed Terraform provisioning: a deployment
// is one commit on a new branch of the resource's provisioning repository, holding the
// template's Terraform files in Proton's folder layout with Proton's variable and
// metadata files. The customer's automation turns the branch into a pull request,
// applies it once merged and reports back with NotifyResourceDeploymentStatusChange;
// until then the deployment stays IN_PROGRESS. Nothing here talks to the store.
//
// The file formats follow what AWS Proton wrote into customers' repositories (see
// formats.go); where Proton's behaviour is unknown the choice is written down there.
package terraform

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// The files Proton generates next to the template's: the variables' values (the
// parameter namespace) and the deployment's metadata.
const (
	TfvarsFile   = "proton.auto.tfvars.json"
	MetadataFile = ".proton/deployment-metadata.json"
)

// Kind is the type of resource a deployment provisions: the lower-case
// DeploymentTargetResourceType, as Proton wrote it into branch and file names.
type Kind string

const (
	Environment     Kind = "environment"
	ServiceInstance Kind = "service_instance"
	ServicePipeline Kind = "service_pipeline"
	Component       Kind = "component"
)

// Request is one deployment to commit.
type Request struct {
	Remote Remote
	Kind   Kind
	// ResourceARN is the deployed resource's ARN; EnvironmentARN the environment of a
	// service instance or component.
	ResourceARN    string
	EnvironmentARN string
	// The resource's names: EnvironmentName for environments, instances and components;
	// ServiceName for instances, pipelines and attached components; ServiceInstanceName
	// for instances and attached components; ComponentName for components. They name the
	// folders, so they must be Proton resource names.
	EnvironmentName     string
	ServiceName         string
	ServiceInstanceName string
	ComponentName       string
	// DeploymentID is the deployment's id (a UUID): it names the branch and, unless
	// Deleted, goes into .proton/deployment-metadata.json.
	DeploymentID string
	// Deleted marks the resource's deletion: its files are rewritten with Proton's "no
	// longer managed" header and the metadata says isResourceDeleted, for the customer's
	// automation to destroy the infrastructure.
	Deleted bool
	// Files is the template bundle's infrastructure folder (or pipeline folder), by
	// slash-separated relative path. The bundle's manifest.yaml is not copied.
	Files map[string][]byte
	// Namespace is Proton's parameter namespace for the resource, as CodeBuild
	// provisioning passes it in proton-inputs.json: {"environment": {name, inputs}} for
	// an environment; environment {account_id, name, outputs}, service {name,
	// repository_connection_arn, repository_id, branch_name} and service_instance {name,
	// inputs, components} for an instance; pipeline {inputs}, service and
	// service_instances [{name, inputs, outputs, environment}] for a pipeline;
	// component {name}, environment, service {name} and service_instance {name, inputs}
	// for a component. Missing values are written empty; names must match the
	// request's. Key order inside inputs, outputs and components is kept.
	Namespace json.RawMessage
	// The template the resource is deployed from. Components have none.
	TemplateARN   string
	TemplateMajor string
	TemplateMinor string
	// Tags are the proton_tags variable's values, in order. nil derives Proton's own
	// (proton:account, proton:template, proton:service, proton:environment, …) from the
	// ARNs; an empty non-nil slice leaves proton_tags out of the tfvars file.
	Tags []Tag
	// Author signs the commit; empty fields take DefaultAuthor's.
	Author Signature
	// Time is the commit time; zero means now.
	Time time.Time
}

// Remote is the provisioning repository.
type Remote struct {
	// URL is anything go-git can clone from and push to: https://…, ssh://…, a path.
	URL string
	// BaseBranch is the branch deployments start from and pull requests target; "" is
	// "main".
	BaseBranch string
	// Auth authenticates HTTP(S) remotes; nil sends no credentials.
	Auth *Auth
}

// Auth holds HTTP(S) credentials: a username and password, or a Token sent as a bearer
// token. For a GitHub or GitLab access token, send it as the password (any username,
// e.g. "x-access-token" or "oauth2"): their git endpoints want basic authentication.
type Auth struct {
	Username string
	Password string
	Token    string
	// SSHKey is an unencrypted PEM private key for ssh:// remotes (Username defaults to
	// "git"); KnownHostsFile lists the host keys such a remote may present.
	SSHKey         []byte
	KnownHostsFile string
}

// Tag is one proton_tags entry.
type Tag struct{ Key, Value string }

// Signature names a commit's author.
type Signature struct{ Name, Email string }

// DefaultAuthor signs commits whose request names no author.
var DefaultAuthor = Signature{Name: "openproton", Email: "openproton@localhost"}

// Result is the pushed commit.
type Result struct {
	Branch string // the new branch, proton--proton-<kind>-<deployment id>
	Commit string // its commit's SHA-1
	Base   string // the base branch's commit it starts from
	Folder string // the resource's folder in the repository
	// Existing reports that the branch was already there with this deployment's commit
	// (a retried call): nothing was pushed and Commit is the existing one.
	Existing bool
}

// ErrBranchExists means the deployment's branch exists on the remote with a commit
// this package did not make for this deployment.
var ErrBranchExists = errors.New("the deployment's branch already exists on the remote")

// DeletedDeploymentID is what Proton wrote as deploymentId in the metadata of a deleted
// resource: a deletion is not reported back with NotifyResourceDeploymentStatusChange.
const DeletedDeploymentID = "<proton-resource-deleted>"

// BranchName is the branch Proton pushed a deployment to.
func BranchName(kind Kind, deploymentID string) string {
	return "proton--proton-" + string(kind) + "-" + deploymentID
}

// CommitMessage is the message of a deployment's commit.
func CommitMessage(kind Kind, name string) string {
	return "Update requested for Proton - " + string(kind) + "/" + name
}

var (
	resourceNameRe = regexp.MustCompile(`^[0-9A-Za-z]+[0-9A-Za-z_\-]*$`)
	deploymentIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	protonARNRe    = regexp.MustCompile(`^arn:[a-z0-9-]+:proton:[a-z0-9-]*:[0-9]*:[A-Za-z0-9_/:.-]+$`)
)

func checkName(what, name string) error {
	if len(name) > 100 || !resourceNameRe.MatchString(name) {
		return fmt.Errorf("%s %q is not a valid resource name", what, name)
	}
	return nil
}

// name is the resource's own name, as the commit message shows it.
func (r *Request) name() string {
	switch r.Kind {
	case ServiceInstance:
		return r.ServiceInstanceName
	case ServicePipeline:
		return r.ServiceName
	case Component:
		return r.ComponentName
	}
	return r.EnvironmentName
}

func (r *Request) baseBranch() string {
	if r.Remote.BaseBranch == "" {
		return "main"
	}
	return r.Remote.BaseBranch
}

func (r *Request) validate() error {
	var names [][2]string
	switch r.Kind {
	case Environment:
		names = [][2]string{{"environment name", r.EnvironmentName}}
	case ServiceInstance:
		names = [][2]string{{"environment name", r.EnvironmentName}, {"service name", r.ServiceName},
			{"service instance name", r.ServiceInstanceName}}
		if r.EnvironmentARN == "" {
			return errors.New("a service instance needs its environment's ARN")
		}
	case ServicePipeline:
		names = [][2]string{{"service name", r.ServiceName}}
	case Component:
		names = [][2]string{{"environment name", r.EnvironmentName}, {"component name", r.ComponentName}}
		if (r.ServiceName == "") != (r.ServiceInstanceName == "") {
			return errors.New("a component is attached to a service instance by both its service and instance names, or to none")
		}
		if r.ServiceName != "" {
			names = append(names, [2]string{"service name", r.ServiceName}, [2]string{"service instance name", r.ServiceInstanceName})
		}
		if r.EnvironmentARN == "" {
			return errors.New("a component needs its environment's ARN")
		}
	default:
		return fmt.Errorf("unknown resource kind %q", r.Kind)
	}
	for _, n := range names {
		if err := checkName(n[0], n[1]); err != nil {
			return err
		}
	}
	if !deploymentIDRe.MatchString(r.DeploymentID) {
		return fmt.Errorf("deployment id %q is not a UUID", r.DeploymentID)
	}
	// The ARN goes into the .tf files' comment header: nothing in it may end the comment.
	if !protonARNRe.MatchString(r.ResourceARN) {
		return fmt.Errorf("resource ARN %q is not a Proton ARN", r.ResourceARN)
	}
	if r.Kind != Component && (r.TemplateARN == "" || r.TemplateMajor == "" || r.TemplateMinor == "") {
		return errors.New("the template's ARN and major and minor versions are required")
	}
	if strings.ContainsAny(r.Author.Name+r.Author.Email, "<>\n\r\x00") {
		return errors.New("the commit author's name and email may not contain <, >, NUL or line breaks")
	}
	return nil
}

// validateRemote checks what Commit needs beyond the files.
func (r *Request) validateRemote() error {
	if r.Remote.URL == "" {
		return errors.New("no remote repository URL")
	}
	if err := plumbing.NewBranchReferenceName(r.baseBranch()).Validate(); err != nil {
		return fmt.Errorf("base branch %q is not a valid branch name", r.baseBranch())
	}
	if a := r.Remote.Auth; a != nil && a.SSHKey != nil {
		if u, err := url.Parse(r.Remote.URL); err != nil || u.Scheme != "ssh" {
			return errors.New("an SSH key can only be used with an ssh:// remote")
		}
	} else if a != nil && (a.Token != "" || a.Username != "" || a.Password != "") {
		u, err := url.Parse(r.Remote.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return errors.New("credentials can only be sent to an http(s) remote")
		}
	}
	return nil
}
