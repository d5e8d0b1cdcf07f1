package terraform

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/google/go-cmp/cmp"
)

const (
	account  = "123456789012"
	envARN   = "arn:aws:proton:us-east-1:123456789012:environment/prod"
	envTmpl  = "arn:aws:proton:us-east-1:123456789012:environment-template/vpc"
	instARN  = "arn:aws:proton:us-east-1:123456789012:service/api/service-instance/east"
	svcTmpl  = "arn:aws:proton:us-east-1:123456789012:service-template/fargate"
	deploy1  = "0a1b2c3d-0000-4000-8000-000000000001"
	deploy2  = "0a1b2c3d-0000-4000-8000-000000000002"
	deploy3  = "0a1b2c3d-0000-4000-8000-000000000003"
	mainTF   = "resource \"aws_vpc\" \"this\" {\n  cidr_block = var.environment.inputs.vpc_cidr\n}\n"
	outputTF = "output \"vpc_id\" {\n  value = aws_vpc.this.id\n}\n"
)

var commitTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newRemote creates a bare repository whose main branch has one commit holding files,
// and returns its path.
func newRemote(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	bare := filepath.Join(dir, "remote.git")
	if _, err := git.PlainInitWithOptions(bare, &git.PlainInitOptions{Bare: true,
		InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}}); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	repo, err := git.PlainInitWithOptions(work, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for p, content := range files {
		full := filepath.Join(work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: commitTime.Add(-time.Hour)}
	if _, err := wt.Commit("initial", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{bare}}); err != nil {
		t.Fatal(err)
	}
	if err := repo.Push(&git.PushOptions{RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/main"}}); err != nil {
		t.Fatal(err)
	}
	return bare
}

// inspect clones every branch of the remote into memory, independently of Commit.
func inspect(t *testing.T, remote string) *git.Repository {
	t.Helper()
	repo, err := git.Clone(memory.NewStorage(), nil, &git.CloneOptions{URL: remote, Tags: git.NoTags})
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// branches lists the remote's branches.
func branches(t *testing.T, remote string) []string {
	t.Helper()
	repo := inspect(t, remote)
	refs, err := repo.References()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	_ = refs.ForEach(func(r *plumbing.Reference) error {
		if r.Name().IsRemote() && r.Name().Short() != "origin/HEAD" {
			out = append(out, strings.TrimPrefix(r.Name().Short(), "origin/"))
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func branchCommit(t *testing.T, repo *git.Repository, branch string) *object.Commit {
	t.Helper()
	ref, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", branch), true)
	if err != nil {
		t.Fatalf("branch %s: %v", branch, err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// treeFiles is every file of a commit, by path.
func treeFiles(t *testing.T, c *object.Commit) map[string]string {
	t.Helper()
	files := map[string]string{}
	iter, err := c.Files()
	if err != nil {
		t.Fatal(err)
	}
	if err := iter.ForEach(func(f *object.File) error {
		s, err := f.Contents()
		files[f.Name] = s
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return files
}

// fsck has real git check the remote's objects, when git is installed.
func fsck(t *testing.T, remote string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		return
	}
	out, err := exec.Command("git", "--git-dir", remote, "fsck", "--strict", "--no-dangling").CombinedOutput()
	if err != nil {
		t.Fatalf("git fsck: %v\n%s", err, out)
	}
}

func envRequest(remote, id string) *Request {
	return &Request{
		Remote:          Remote{URL: remote},
		Kind:            Environment,
		ResourceARN:     envARN,
		EnvironmentName: "prod",
		DeploymentID:    id,
		Files: map[string][]byte{
			"manifest.yaml":          []byte("infrastructure:\n  templates:\n    - file: \"*\"\n      rendering_engine: hcl\n      template_language: terraform\n"),
			"main.tf":                []byte(mainTF),
			"outputs.tf":             []byte(outputTF),
			"modules/vpc/vpc.tf":     []byte("variable \"cidr\" {}\n"),
			"templates/user-data.sh": []byte("#!/bin/sh\necho hi\n"),
		},
		Namespace:     []byte(`{"environment":{"name":"prod","inputs":{"vpc_cidr":"10.0.0.0/16","nat":true,"azs":2,"subnets":["a","b"]}}}`),
		TemplateARN:   envTmpl,
		TemplateMajor: "1",
		TemplateMinor: "0",
		Author:        Signature{Name: "Proton", Email: "proton@example.com"},
		Time:          commitTime,
	}
}

const wantEnvVariables = `/*
This file is managed by AWS Proton. Any changes made directly to this file will be overwritten the next time AWS Proton performs an update.

To manage this resource, see AWS Proton Resource: arn:aws:proton:us-east-1:123456789012:environment/prod

If the resource is no longer accessible within AWS Proton, it may have been deleted and may require manual cleanup.
*/

variable "environment" {
  type = object({
    inputs = any
    name   = string
  })
  default = null
}

variable "proton_tags" {
  type    = map(string)
  default = null
}
`

const wantEnvTfvars = `{
  "environment" : {
    "name" : "prod",
    "inputs" : {
      "vpc_cidr" : "10.0.0.0/16",
      "nat" : true,
      "azs" : 2,
      "subnets" : [ "a", "b" ]
    }
  },
  "proton_tags" : {
    "proton:account" : "123456789012",
    "proton:template" : "arn:aws:proton:us-east-1:123456789012:environment-template/vpc",
    "proton:environment" : "arn:aws:proton:us-east-1:123456789012:environment/prod"
  },
  "//" : "arn:aws:proton:us-east-1:123456789012:environment/prod"
}`

const wantEnvMetadata = `{
  "deploymentId" : "0a1b2c3d-0000-4000-8000-000000000001",
  "isResourceDeleted" : false,
  "resourceMetadata" : {
    "arn" : "arn:aws:proton:us-east-1:123456789012:environment/prod",
    "templateArn" : "arn:aws:proton:us-east-1:123456789012:environment-template/vpc",
    "templateMajorVersion" : "1",
    "templateMinorVersion" : "0"
  }
}`

// The header, byte for byte: eight lines, the last one empty.
const wantHeader = "/*\n" +
	"This file is managed by AWS Proton. Any changes made directly to this file will be overwritten the next time AWS Proton performs an update.\n" +
	"\n" +
	"To manage this resource, see AWS Proton Resource: arn:aws:proton:us-east-1:123456789012:environment/prod\n" +
	"\n" +
	"If the resource is no longer accessible within AWS Proton, it may have been deleted and may require manual cleanup.\n" +
	"*/\n" +
	"\n"

const wantDeletedHeader = "/*\nThis file is no longer managed by AWS Proton. The associated resource has been deleted in Proton.\n*/\n\n"

func TestEnvironmentDeployment(t *testing.T) {
	remote := newRemote(t, map[string]string{"README.md": "infra\n"})
	before := branchCommit(t, inspect(t, remote), "main")

	res, err := Commit(context.Background(), envRequest(remote, deploy1))
	if err != nil {
		t.Fatal(err)
	}
	wantBranch := "proton--proton-environment-" + deploy1
	if res.Branch != wantBranch || res.Folder != "prod" || res.Base != before.Hash.String() || res.Existing {
		t.Errorf("result = %+v", res)
	}
	if got := branches(t, remote); !slices.Equal(got, []string{"main", wantBranch}) {
		t.Fatalf("branches = %v", got)
	}
	repo := inspect(t, remote)
	if main := branchCommit(t, repo, "main"); main.Hash != before.Hash {
		t.Error("main moved")
	}
	c := branchCommit(t, repo, wantBranch)
	if c.Hash.String() != res.Commit {
		t.Errorf("branch at %s, result says %s", c.Hash, res.Commit)
	}
	if c.Message != "Update requested for Proton - environment/prod" {
		t.Errorf("message = %q", c.Message)
	}
	if len(c.ParentHashes) != 1 || c.ParentHashes[0] != before.Hash {
		t.Errorf("parents = %v, want [%s]", c.ParentHashes, before.Hash)
	}
	if c.Author.Name != "Proton" || c.Author.Email != "proton@example.com" || !c.Author.When.Equal(commitTime) {
		t.Errorf("author = %+v", c.Author)
	}
	want := map[string]string{
		"README.md":                             "infra\n",
		"prod/main.tf":                          wantHeader + mainTF,
		"prod/outputs.tf":                       wantHeader + outputTF,
		"prod/modules/vpc/vpc.tf":               wantHeader + "variable \"cidr\" {}\n",
		"prod/templates/user-data.sh":           "#!/bin/sh\necho hi\n",
		"prod/proton.environment.variables.tf":  wantEnvVariables,
		"prod/proton.auto.tfvars.json":          wantEnvTfvars,
		"prod/.proton/deployment-metadata.json": wantEnvMetadata,
	}
	if diff := cmp.Diff(want, treeFiles(t, c)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if strings.Count(wantHeader, "\n") != 8 || !strings.HasPrefix(wantEnvVariables, wantHeader) {
		t.Error("the expected header is not the 8-line one")
	}
	fsck(t, remote)
}

func instanceRequest(remote, id string) *Request {
	return &Request{
		Remote:              Remote{URL: remote, BaseBranch: "trunk"},
		Kind:                ServiceInstance,
		ResourceARN:         instARN,
		EnvironmentARN:      envARN,
		EnvironmentName:     "prod",
		ServiceName:         "api",
		ServiceInstanceName: "east",
		DeploymentID:        id,
		Files:               map[string][]byte{"main.tf": []byte("resource \"null_resource\" \"x\" {}\n")},
		Namespace: []byte(`{
			"environment": {"account_id": "123456789012", "name": "prod", "outputs": {"VpcId": "vpc-1", "Cidr": "10.0.0.0/16"}},
			"service": {"name": "api", "repository_connection_arn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/c", "repository_id": "org/app", "branch_name": "main"},
			"service_instance": {"name": "east", "inputs": {"port": 80, "size": "medium"},
				"components": {"default": {"name": "cache", "outputs": {"Endpoint": "redis://x"}}}}}`),
		TemplateARN:   svcTmpl,
		TemplateMajor: "2",
		TemplateMinor: "3",
		Time:          commitTime,
	}
}

const wantInstanceTfvars = `{
  "environment" : {
    "account_id" : "123456789012",
    "name" : "prod",
    "outputs" : {
      "VpcId" : "vpc-1",
      "Cidr" : "10.0.0.0/16"
    }
  },
  "service" : {
    "name" : "api",
    "repository_connection_arn" : "arn:aws:codestar-connections:us-east-1:123456789012:connection/c",
    "repository_id" : "org/app",
    "branch_name" : "main"
  },
  "service_instance" : {
    "name" : "east",
    "inputs" : {
      "port" : 80,
      "size" : "medium"
    },
    "components" : {
      "default" : {
        "name" : "cache",
        "outputs" : {
          "Endpoint" : "redis://x"
        }
      }
    }
  },
  "proton_tags" : {
    "proton:account" : "123456789012",
    "proton:template" : "arn:aws:proton:us-east-1:123456789012:service-template/fargate",
    "proton:service" : "arn:aws:proton:us-east-1:123456789012:service/api",
    "proton:environment" : "arn:aws:proton:us-east-1:123456789012:environment/prod",
    "proton:service-instance" : "arn:aws:proton:us-east-1:123456789012:service/api/service-instance/east"
  },
  "//" : "arn:aws:proton:us-east-1:123456789012:service/api/service-instance/east"
}`

const wantInstanceVariables = `variable "environment" {
  type = object({
    account_id = string
    name       = string
    outputs    = map(string)
  })
  default = null
}

variable "service" {
  type = object({
    name                      = string
    branch_name               = string
    repository_connection_arn = string
    repository_id             = string
  })
}

variable "service_instance" {
  type = object({
    name       = string
    inputs     = any
    components = map(any)
  })
  default = null
}

variable "proton_tags" {
  type    = map(string)
  default = null
}
`

const wantInstanceMetadata = `{
  "deploymentId" : "0a1b2c3d-0000-4000-8000-000000000002",
  "isResourceDeleted" : false,
  "resourceMetadata" : {
    "arn" : "arn:aws:proton:us-east-1:123456789012:service/api/service-instance/east",
    "templateArn" : "arn:aws:proton:us-east-1:123456789012:service-template/fargate",
    "templateMajorVersion" : "2",
    "templateMinorVersion" : "3",
    "environmentArn" : "arn:aws:proton:us-east-1:123456789012:environment/prod"
  }
}`

func TestServiceInstanceUnderEnvironmentsFolder(t *testing.T) {
	remote := newRemote(t, map[string]string{"environments/README.md": "envs\n"})
	// The test remote's default branch is main; deploy from another one.
	repo := inspect(t, remote)
	main := branchCommit(t, repo, "main")
	if err := repo.Storer.SetReference(plumbing.NewHashReference("refs/heads/trunk", main.Hash)); err != nil {
		t.Fatal(err)
	}
	if err := repo.Push(&git.PushOptions{RefSpecs: []config.RefSpec{"refs/heads/trunk:refs/heads/trunk"}}); err != nil {
		t.Fatal(err)
	}

	env := envRequest(remote, deploy1)
	env.Remote.BaseBranch = "trunk"
	envRes, err := Commit(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if envRes.Folder != "environments/prod" {
		t.Errorf("environment folder = %q, want environments/prod", envRes.Folder)
	}

	res, err := Commit(context.Background(), instanceRequest(remote, deploy2))
	if err != nil {
		t.Fatal(err)
	}
	wantBranch := "proton--proton-service_instance-" + deploy2
	if res.Branch != wantBranch || res.Folder != "environments/prod/api-east" {
		t.Errorf("result = %+v", res)
	}
	repo = inspect(t, remote)
	c := branchCommit(t, repo, wantBranch)
	if c.Message != "Update requested for Proton - service_instance/east" {
		t.Errorf("message = %q", c.Message)
	}
	if len(c.ParentHashes) != 1 || c.ParentHashes[0] != main.Hash {
		t.Errorf("not on top of trunk: parents %v", c.ParentHashes)
	}
	header := ManagedHeader(instARN)
	want := map[string]string{
		"environments/README.md":                                          "envs\n",
		"environments/prod/api-east/main.tf":                              header + "resource \"null_resource\" \"x\" {}\n",
		"environments/prod/api-east/proton.service_instance.variables.tf": header + wantInstanceVariables,
		"environments/prod/api-east/proton.auto.tfvars.json":              wantInstanceTfvars,
		"environments/prod/api-east/.proton/deployment-metadata.json":     wantInstanceMetadata,
	}
	if diff := cmp.Diff(want, treeFiles(t, c)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if c.Author.Name != DefaultAuthor.Name || c.Author.Email != DefaultAuthor.Email {
		t.Errorf("author = %+v, want the default", c.Author)
	}
	fsck(t, remote)
}

// merge fast-forwards main to a deployment branch, as merging its pull request would.
func merge(t *testing.T, remote, branch string) {
	t.Helper()
	repo := inspect(t, remote)
	c := branchCommit(t, repo, branch)
	if err := repo.Storer.SetReference(plumbing.NewHashReference("refs/heads/merged", c.Hash)); err != nil {
		t.Fatal(err)
	}
	if err := repo.Push(&git.PushOptions{RefSpecs: []config.RefSpec{"refs/heads/merged:refs/heads/main"}}); err != nil {
		t.Fatal(err)
	}
}

func TestRedeploymentAndDeletion(t *testing.T) {
	remote := newRemote(t, map[string]string{"README.md": "infra\n"})
	first := envRequest(remote, deploy1)
	r1, err := Commit(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	merge(t, remote, r1.Branch)
	// A base branch the remote does not have is an error.
	if _, err := Commit(context.Background(), instanceRequest(remote, deploy3)); err == nil ||
		!strings.Contains(err.Error(), "trunk") {
		t.Errorf("deploying from a missing base branch: err = %v", err)
	}
	// An instance deployed in the environment's folder stays when the environment changes.
	ireq := instanceRequest(remote, deploy3)
	ireq.Remote.BaseBranch = ""
	ri, err := Commit(context.Background(), ireq)
	if err != nil {
		t.Fatal(err)
	}
	if ri.Folder != "prod/api-east" {
		t.Errorf("instance folder = %q", ri.Folder)
	}
	merge(t, remote, ri.Branch)

	// Version 2 of the template: main.tf changes, outputs.tf is gone, inputs change.
	second := envRequest(remote, deploy2)
	second.Files = map[string][]byte{"main.tf": []byte("# v2\n" + mainTF), "manifest.yaml": []byte("x")}
	second.Namespace = []byte(`{"environment":{"name":"prod","inputs":{"vpc_cidr":"10.1.0.0/16"}}}`)
	second.TemplateMinor = "1"
	r2, err := Commit(context.Background(), second)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Branch == r1.Branch || r2.Branch != "proton--proton-environment-"+deploy2 {
		t.Errorf("second branch = %q", r2.Branch)
	}
	repo := inspect(t, remote)
	main := branchCommit(t, repo, "main")
	c := branchCommit(t, repo, r2.Branch)
	if len(c.ParentHashes) != 1 || c.ParentHashes[0] != main.Hash {
		t.Errorf("second deployment not on top of main")
	}
	files := treeFiles(t, c)
	if got := files["prod/main.tf"]; got != wantHeader+"# v2\n"+mainTF {
		t.Errorf("main.tf = %q", got)
	}
	for _, gone := range []string{"prod/outputs.tf", "prod/modules/vpc/vpc.tf"} {
		if _, ok := files[gone]; ok {
			t.Errorf("%s from the previous template version is still there", gone)
		}
	}
	// Not Proton's (no managed header), so kept.
	if _, ok := files["prod/templates/user-data.sh"]; !ok {
		t.Error("a file without Proton's header was removed")
	}
	if _, ok := files["prod/api-east/main.tf"]; !ok {
		t.Error("the instance's files were removed with the environment's")
	}
	if !strings.Contains(files["prod/proton.auto.tfvars.json"], `"vpc_cidr" : "10.1.0.0/16"`) ||
		!strings.Contains(files["prod/.proton/deployment-metadata.json"], `"deploymentId" : "`+deploy2+`"`) ||
		!strings.Contains(files["prod/.proton/deployment-metadata.json"], `"templateMinorVersion" : "1"`) {
		t.Errorf("second deployment's values missing:\n%s\n%s", files["prod/proton.auto.tfvars.json"], files["prod/.proton/deployment-metadata.json"])
	}
	merge(t, remote, r2.Branch)

	// Deletion.
	del := envRequest(remote, deploy3)
	del.Files = second.Files
	del.Namespace = second.Namespace
	del.TemplateMinor = "1"
	del.Deleted = true
	rd, err := Commit(context.Background(), del)
	if err != nil {
		t.Fatal(err)
	}
	c = branchCommit(t, inspect(t, remote), rd.Branch)
	if c.Message != "Update requested for Proton - environment/prod" {
		t.Errorf("message = %q", c.Message)
	}
	files = treeFiles(t, c)
	if got := files["prod/main.tf"]; got != wantDeletedHeader+"# v2\n"+mainTF {
		t.Errorf("deleted main.tf = %q", got)
	}
	if got := files["prod/proton.environment.variables.tf"]; got != wantDeletedHeader+strings.TrimPrefix(wantEnvVariables, wantHeader) {
		t.Errorf("deleted variables = %q", got)
	}
	wantMeta := `{
  "deploymentId" : "<proton-resource-deleted>",
  "isResourceDeleted" : true,
  "resourceMetadata" : {
    "arn" : "arn:aws:proton:us-east-1:123456789012:environment/prod",
    "templateArn" : "arn:aws:proton:us-east-1:123456789012:environment-template/vpc",
    "templateMajorVersion" : "1",
    "templateMinorVersion" : "1"
  }
}`
	if got := files["prod/.proton/deployment-metadata.json"]; got != wantMeta {
		t.Errorf("deleted metadata = %s", got)
	}
	if got := files["prod/api-east/main.tf"]; !strings.HasPrefix(got, ManagedHeader(instARN)) {
		t.Error("deleting the environment touched the instance's files")
	}
	fsck(t, remote)
}

func TestRetryFindsItsBranch(t *testing.T) {
	remote := newRemote(t, map[string]string{"README.md": "infra\n"})
	req := envRequest(remote, deploy1)
	r1, err := Commit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	req.Time = commitTime.Add(time.Minute) // a retry later on
	r2, err := Commit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Existing || r2.Commit != r1.Commit || r2.Branch != r1.Branch || r2.Base != r1.Base {
		t.Errorf("retry = %+v, first = %+v", r2, r1)
	}
	// Another deployment's content under this deployment's branch name is refused.
	other := envRequest(remote, deploy1)
	other.TemplateMinor = "9"
	if _, err := Commit(context.Background(), other); !errors.Is(err, ErrBranchExists) {
		t.Errorf("err = %v, want ErrBranchExists", err)
	}
	if got := branchCommit(t, inspect(t, remote), r1.Branch); got.Hash.String() != r1.Commit {
		t.Error("the existing branch was replaced")
	}
}

func TestRefusedBeforePushing(t *testing.T) {
	for name, mutate := range map[string]func(r *Request){
		"dot-dot":         func(r *Request) { r.Files["../../etc/evil.tf"] = []byte("x") },
		"inner dot-dot":   func(r *Request) { r.Files["modules/../../evil.tf"] = []byte("x") },
		"absolute":        func(r *Request) { r.Files["/etc/evil.tf"] = []byte("x") },
		"backslash":       func(r *Request) { r.Files[`..\evil.tf`] = []byte("x") },
		"git dir":         func(r *Request) { r.Files[".git/config"] = []byte("x") },
		"proton dir":      func(r *Request) { r.Files[".proton/deployment-metadata.json"] = []byte("{}") },
		"generated file":  func(r *Request) { r.Files["proton.auto.tfvars.json"] = []byte("{}") },
		"bad env name":    func(r *Request) { r.EnvironmentName = "../prod" },
		"bad deployment":  func(r *Request) { r.DeploymentID = "x/../../main" },
		"namespace clash": func(r *Request) { r.Namespace = []byte(`{"environment":{"name":"staging"}}`) },
		"folder is a file": func(r *Request) {
			r.EnvironmentName = "README"
			r.Namespace = []byte(`{"environment":{"name":"README","inputs":{}}}`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			remote := newRemote(t, map[string]string{"README": "a file where the folder would go\n"})
			req := envRequest(remote, deploy1)
			mutate(req)
			_, err := Commit(context.Background(), req)
			if err == nil {
				t.Fatal("Commit succeeded")
			}
			t.Log(err)
			if got := branches(t, remote); !slices.Equal(got, []string{"main"}) {
				t.Errorf("branches after a refused request = %v", got)
			}
		})
	}
}

func TestCredentialsStayOutOfErrors(t *testing.T) {
	req := envRequest("https://deployer:url-s3cret@127.0.0.1:1/org/infra.git", deploy1)
	req.Remote.Auth = &Auth{Username: "deployer", Password: "auth-t0ken/+x"}
	_, err := Commit(context.Background(), req)
	if err == nil {
		t.Fatal("pushed to a closed port")
	}
	for _, secret := range []string{"url-s3cret", "auth-t0ken", "t0ken%2F"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows a credential: %v", err)
		}
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error does not say which remote failed: %v", err)
	}
	// Credentials are for http(s) remotes only.
	local := envRequest(t.TempDir(), deploy1)
	local.Remote.Auth = &Auth{Token: "t"}
	if _, err := Commit(context.Background(), local); err == nil || !strings.Contains(err.Error(), "http") {
		t.Errorf("err = %v", err)
	}
}

// TestDeleteBranch: withdrawing a deployment removes its branch only while the branch is
// still at the deployment's commit.
func TestDeleteBranch(t *testing.T) {
	ctx := context.Background()
	remote := newRemote(t, map[string]string{"README.md": "infra\n"})
	res, err := Commit(ctx, envRequest(remote, deploy1))
	if err != nil {
		t.Fatal(err)
	}
	main := branchCommit(t, inspect(t, remote), "main").Hash.String()
	// Someone else's commit: left alone.
	if deleted, err := DeleteBranch(ctx, Remote{URL: remote}, res.Branch, main); err != nil || deleted {
		t.Errorf("branch moved on: deleted=%v %v", deleted, err)
	}
	if got := branches(t, remote); !slices.Contains(got, res.Branch) {
		t.Fatalf("branch deleted although it was not at the deployment's commit: %v", got)
	}
	if deleted, err := DeleteBranch(ctx, Remote{URL: remote}, res.Branch, res.Commit); err != nil || !deleted {
		t.Errorf("delete: deleted=%v %v", deleted, err)
	}
	if got := branches(t, remote); !slices.Equal(got, []string{"main"}) {
		t.Errorf("branches after delete = %v", got)
	}
	if branchCommit(t, inspect(t, remote), "main").Hash.String() != main {
		t.Error("main moved")
	}
	// Gone already: nothing to do.
	if deleted, err := DeleteBranch(ctx, Remote{URL: remote}, res.Branch, res.Commit); err != nil || deleted {
		t.Errorf("delete again: deleted=%v %v", deleted, err)
	}
}
