package tfapply

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/openproton/openproton/internal/provision"
)

const (
	envARN   = "arn:aws:proton:us-east-1:123456789012:environment/dev"
	otherARN = "arn:aws:proton:us-east-1:123456789012:environment/prod"
)

// terraformBin is the terraform the tests run, or a skip.
func terraformBin(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("terraform"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/local/bin/terraform"); err == nil {
		return "/usr/local/bin/terraform"
	}
	t.Skip("no terraform binary")
	return ""
}

func newProvisioner(t *testing.T) *Provisioner {
	return &Provisioner{
		Bin:         terraformBin(t),
		StateDir:    filepath.Join(t.TempDir(), "state"),
		WorkDir:     t.TempDir(),
		CancelGrace: 5 * time.Second,
	}
}

// envFiles is an environment template in Proton's shape, with a local module, outputs of
// each kind and a sensitive one.
var envFiles = map[string][]byte{
	"proton.environment.variables.tf": []byte(`
variable "environment" {
  type = object({
    name   = string
    inputs = map(string)
  })
}
`),
	"main.tf": []byte(`
resource "terraform_data" "vpc" {
  input = "${var.environment.name}:${var.environment.inputs.vpc_cidr}"
}

module "subnets" {
  source = "./modules/subnets"
  cidr   = var.environment.inputs.vpc_cidr
}
`),
	"outputs.tf": []byte(`
output "vpc" {
  value = terraform_data.vpc.output
}
output "vpc_id" {
  value = terraform_data.vpc.id
}
output "input_count" {
  value = length(var.environment.inputs)
}
output "tags" {
  value = { env = var.environment.name, cidr = var.environment.inputs.vpc_cidr }
}
output "secret" {
  value     = "s3cr3t-${var.environment.name}"
  sensitive = true
}
`),
	"modules/subnets/main.tf": []byte(`
variable "cidr" {
  type = string
}
resource "terraform_data" "subnet" {
  count = 1
  input = var.cidr
}
`),
}

func envInputs(cidr string) []byte {
	return []byte(`{"environment":{"name":"dev","inputs":{"vpc_cidr":"` + cidr + `"}}}`)
}

func TestApplyUpdateDestroy(t *testing.T) {
	t.Parallel()
	p := newProvisioner(t)
	ctx := t.Context()

	res, err := p.Run(ctx, &provision.Job{DeploymentID: "d1", ResourceARN: envARN, Action: provision.Provision,
		Files: envFiles, Inputs: envInputs("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, res.Log)
	}
	id := res.Outputs["vpc_id"]
	if id == "" {
		t.Fatalf("no vpc_id output: %v", res.Outputs)
	}
	want := map[string]string{
		"vpc": "dev:10.0.0.0/16", "vpc_id": id, "input_count": "1",
		"tags": `{"cidr":"10.0.0.0/16","env":"dev"}`,
	}
	if diff := cmp.Diff(want, res.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if strings.Contains(string(res.Log), "s3cr3t") {
		t.Error("the log shows the sensitive output's value")
	}
	if !strings.Contains(string(res.Log), `output "secret" is sensitive`) {
		t.Error("the log does not say the sensitive output was left out")
	}
	if len(res.Resources) != 2 {
		t.Fatalf("resources: %+v", res.Resources)
	}
	if r := res.Resources[0]; r != (provision.Resource{Name: "terraform_data.vpc", Identifier: id, Engine: "TERRAFORM"}) {
		t.Errorf("root resource: %+v", r)
	}
	if r := res.Resources[1]; r.Name != "module.subnets.terraform_data.subnet[0]" || r.Identifier == "" || r.Identifier == r.Name || r.Engine != Engine {
		t.Errorf("module resource: %+v", r)
	}
	statePath := p.StatePath(envARN)
	if _, err := os.Stat(statePath); err != nil {
		t.Fatalf("state: %v", err)
	}

	// Changed inputs update the same resource: the state carried over.
	res, err = p.Run(ctx, &provision.Job{DeploymentID: "d2", ResourceARN: envARN, Action: provision.Provision,
		Files: envFiles, Inputs: envInputs("10.1.0.0/16")})
	if err != nil {
		t.Fatalf("update: %v\n%s", err, res.Log)
	}
	if got := res.Outputs["vpc"]; got != "dev:10.1.0.0/16" {
		t.Errorf("vpc after update = %q", got)
	}
	if got := res.Outputs["vpc_id"]; got != id {
		t.Errorf("vpc_id after update = %q, want %q (state lost?)", got, id)
	}

	// Another resource has its own state.
	res, err = p.Run(ctx, &provision.Job{DeploymentID: "d3", ResourceARN: otherARN, Action: provision.Provision,
		Files: envFiles, Inputs: envInputs("10.2.0.0/16")})
	if err != nil {
		t.Fatalf("other resource: %v\n%s", err, res.Log)
	}
	if other := p.StatePath(otherARN); other == statePath {
		t.Error("two resources share a state path")
	} else if _, err := os.Stat(other); err != nil {
		t.Errorf("other state: %v", err)
	}
	if res.Outputs["vpc_id"] == id {
		t.Error("the other resource reused the first one's terraform_data")
	}

	res, err = p.Run(ctx, &provision.Job{DeploymentID: "d4", ResourceARN: envARN, Action: provision.Deprovision,
		Files: envFiles, Inputs: envInputs("10.1.0.0/16")})
	if err != nil {
		t.Fatalf("destroy: %v\n%s", err, res.Log)
	}
	if res.Outputs != nil || res.Resources != nil {
		t.Errorf("destroy returned outputs %v, resources %v", res.Outputs, res.Resources)
	}
	if n := stateResources(t, p.Bin, statePath); n != 0 {
		t.Errorf("%d resources left in state after destroy", n)
	}
	if n := stateResources(t, p.Bin, p.StatePath(otherARN)); n != 2 {
		t.Errorf("the other resource's state has %d resources, want 2", n)
	}
}

// stateResources counts the resources terraform show finds in a state file.
func stateResources(t *testing.T, bin, path string) int {
	t.Helper()
	tf, err := tfexec.NewTerraform(t.TempDir(), bin)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tf.ShowStateFile(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Values == nil {
		return 0
	}
	return len(resources(st))
}

func TestConfigError(t *testing.T) {
	t.Parallel()
	p := newProvisioner(t)
	res, err := p.Run(t.Context(), &provision.Job{ResourceARN: envARN, Action: provision.Provision,
		Files: map[string][]byte{"main.tf": []byte("resource \"terraform_data\" \"x\" {\n  bogus = 1\n}\n")}})
	if err == nil {
		t.Fatalf("no error; log:\n%s", res.Log)
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if !strings.Contains(msg, "Unsupported argument") || !strings.Contains(msg, "bogus") {
		t.Errorf("error does not carry terraform's message: %v", err)
	}
	if len(msg) > 2500 {
		t.Errorf("error message is %d bytes long", len(msg))
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Errorf("error does not wrap the command's exit: %#v", err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	p := newProvisioner(t)
	pidFile := filepath.Join(t.TempDir(), "sleep.pid")
	files := map[string][]byte{"main.tf": []byte(`
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 30 & echo $! > ` + pidFile + `; wait"
  }
}
`)}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		res *provision.Result
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		res, err := p.Run(ctx, &provision.Job{ResourceARN: envARN, Action: provision.Provision, Files: files})
		done <- result{res, err}
	}()
	pid := waitPID(t, pidFile, done)
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(25 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	t.Logf("cancelled run returned %s after it started", time.Since(start).Round(time.Millisecond))
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want a cancellation\n%s", r.err, r.res.Log)
	}
	// Terraform stops its provisioner's shell, not what the shell started.
	if alive(pid) {
		t.Errorf("the provisioner's background sleep (pid %d) outlived the job", pid)
	}

	// A lock description left behind (as a killed terraform leaves it) does not wedge the
	// next run, nor does what the interrupted one left in the state.
	lockInfo := filepath.Join(filepath.Dir(p.StatePath(envARN)), ".terraform.tfstate.lock.info")
	if err := os.WriteFile(lockInfo, []byte(`{"ID":"stale","Operation":"OperationTypeApply","Who":"gone@nowhere"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(t.Context(), &provision.Job{ResourceARN: envARN, Action: provision.Provision, Timeout: 20 * time.Second,
		Files: map[string][]byte{"main.tf": []byte(`resource "terraform_data" "slow" {}`)}})
	if err != nil {
		t.Fatalf("run after cancel: %v\n%s", err, res.Log)
	}
}

// waitPID waits for a job to write a process id to path.
func waitPID[T any](t *testing.T, path string, done <-chan T) int {
	t.Helper()
	for {
		select {
		case <-done:
			t.Fatal("the job finished before it was cancelled")
		case <-time.After(50 * time.Millisecond):
		}
		if b, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return pid
		}
	}
}

// TestCancelGrace: a terraform that ignores its interrupt is killed after the grace period,
// with what it started, even though that holds its output open.
func TestCancelGrace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "sleep.pid")
	bin := filepath.Join(dir, "terraform")
	script := `#!/bin/sh
if [ "$1" = version ]; then
  echo '{"terraform_version":"1.11.4","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}'
  exit 0
fi
trap '' INT
sleep 30 &
echo $! > ` + pidFile + `
wait
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p := &Provisioner{Bin: bin, StateDir: filepath.Join(dir, "state"), WorkDir: t.TempDir(), CancelGrace: time.Second}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var res *provision.Result
	go func() {
		var err error
		res, err = p.Run(ctx, &provision.Job{ResourceARN: envARN, Action: provision.Provision})
		done <- err
	}()
	pid := waitPID(t, pidFile, done)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		t.Logf("returned %s after the cancel", time.Since(start).Round(time.Millisecond))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want a cancellation", err)
		}
		if !strings.Contains(string(res.Log), "did not stop within 1s") {
			t.Errorf("log:\n%s", res.Log)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	if alive(pid) {
		t.Errorf("the fake terraform's sleep (pid %d) outlived the job", pid)
	}
}

// alive reports whether a process exists and has not exited, waiting a little for a kill
// to land.
func alive(pid int) bool {
	for range 50 {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || zombie(stat) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	p := newProvisioner(t)
	files := map[string][]byte{"main.tf": []byte(`
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 30"
  }
}
`)}
	start := time.Now()
	res, err := p.Run(t.Context(), &provision.Job{ResourceARN: envARN, Action: provision.Provision, Files: files, Timeout: 3 * time.Second})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 3s") {
		t.Fatalf("err = %v, want a timeout\n%s", err, res.Log)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("a 3s timeout took %s", d)
	}
}

func TestEnvironmentScrubbed(t *testing.T) {
	t.Setenv("OPENPROTON_TFAPPLY_SENTINEL", "leaked")
	t.Setenv("TF_VAR_environment", "leaked")
	p := newProvisioner(t)
	p.PluginCacheDir = filepath.Join(t.TempDir(), "plugins")
	p.Env = map[string]string{"HTTPS_PROXY": "http://proxy.example:3128", "TF_LOG": "TRACE"}
	out := filepath.Join(t.TempDir(), "env.txt")
	files := map[string][]byte{"main.tf": []byte(`
resource "terraform_data" "env" {
  provisioner "local-exec" {
    command = "env > ` + out + `"
  }
}
`)}
	res, err := p.Run(t.Context(), &provision.Job{ResourceARN: envARN, Action: provision.Provision, Region: "eu-west-1",
		Files: files, Env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIDJOB"}})
	if err != nil {
		t.Fatalf("%v\n%s", err, res.Log)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for line := range strings.Lines(string(data)) {
		k, v, _ := strings.Cut(strings.TrimRight(line, "\n"), "=")
		env[k] = v
	}
	for k, want := range map[string]string{
		"TF_IN_AUTOMATION": "1", "PATH": DefaultPath, "AWS_ACCESS_KEY_ID": "AKIDJOB", "AWS_REGION": "eu-west-1",
		"HTTPS_PROXY": "http://proxy.example:3128", "TF_PLUGIN_CACHE_DIR": p.PluginCacheDir, "CHECKPOINT_DISABLE": "1",
		"TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE": "true",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	for _, k := range []string{"OPENPROTON_TFAPPLY_SENTINEL", "TF_VAR_environment", "TF_CLI_CONFIG_FILE"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s=%s leaked into the job", k, v)
		}
	}
	if env["TF_LOG"] != "" {
		t.Errorf("TF_LOG = %q: terraform-exec manages it", env["TF_LOG"])
	}
	workDir, _ := filepath.EvalSymlinks(p.WorkDir)
	for _, k := range []string{"HOME", "TMPDIR"} {
		if !strings.HasPrefix(env[k], workDir+string(filepath.Separator)) {
			t.Errorf("%s = %q, not in the job's directory", k, env[k])
		}
	}
	if !strings.Contains(string(res.Log), "not passed to terraform") || !strings.Contains(string(res.Log), "TF_LOG") {
		t.Errorf("the log does not name the dropped variable:\n%s", res.Log)
	}
	// The job's directory is gone once it ends.
	if entries, _ := os.ReadDir(p.WorkDir); len(entries) != 0 {
		t.Errorf("work dir left behind: %v", entries)
	}
}

func TestFilesEscaping(t *testing.T) {
	t.Parallel()
	p := newProvisioner(t)
	for _, name := range []string{"../x.tf", "a/../../x.tf", "/etc/x.tf", `..\x.tf`, ""} {
		res, err := p.Run(t.Context(), &provision.Job{ResourceARN: envARN, Action: provision.Provision,
			Files: map[string][]byte{"main.tf": []byte(`resource "terraform_data" "x" {}`), name: []byte("# x\n")}})
		if err == nil || !strings.Contains(err.Error(), "leaves the work dir") {
			t.Errorf("%q: err = %v\n%s", name, err, res.Log)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(p.WorkDir), "x.tf")); err == nil {
		t.Error("a file was written outside the work dir")
	}
	if _, err := os.Stat(p.StatePath(envARN)); err == nil {
		t.Error("terraform ran")
	}
}

// TestTemplateBackend: a template's own local backend gives way to the resource's state
// path; a remote backend is honoured.
func TestTemplateBackend(t *testing.T) {
	t.Parallel()
	p := newProvisioner(t)
	res, err := p.Run(t.Context(), &provision.Job{ResourceARN: envARN, Action: provision.Provision,
		Files: map[string][]byte{"main.tf": []byte(`
terraform {
  backend "local" {
    path = "mine.tfstate"
  }
}
resource "terraform_data" "x" {}
`)}})
	if err != nil {
		t.Fatalf("%v\n%s", err, res.Log)
	}
	if n := stateResources(t, p.Bin, p.StatePath(envARN)); n != 1 {
		t.Errorf("state at the resource's path has %d resources, want 1", n)
	}

	// Terraform's http backend, served here.
	var mu sync.Mutex
	var state []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			if state == nil {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Write(state)
		case http.MethodPost:
			state, _ = io.ReadAll(r.Body)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	defer srv.Close()
	res, err = p.Run(t.Context(), &provision.Job{ResourceARN: otherARN, Action: provision.Provision,
		Files: map[string][]byte{"main.tf": []byte(`
terraform {
  backend "http" {
    address   = "` + srv.URL + `/state"
    retry_max = 0
  }
}
resource "terraform_data" "remote" {}
`)}})
	if err != nil {
		t.Fatalf("%v\n%s", err, res.Log)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(string(state), `"terraform_data"`) {
		t.Errorf("the http backend holds no state: %s", state)
	}
	if _, err := os.Stat(filepath.Dir(p.StatePath(otherARN))); err == nil {
		t.Error("a local state directory was made for a template with its own backend")
	}
	if len(res.Resources) != 1 || res.Resources[0].Name != "terraform_data.remote" {
		t.Errorf("resources: %+v", res.Resources)
	}
}
