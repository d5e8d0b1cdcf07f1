// Package tfapply provisions Terraform templates directly ("direct apply"): each job runs
// terraform init and then apply or destroy through terraform-exec on this machine, in a
// fresh private working directory holding the template's files and the deployment's
// parameter namespace as proton.auto.tfvars.json (its top-level keys are the variables
// the template's proton.<type>.variables.tf declares). Terraform sees a scrubbed
// environment; its output goes to the job's log. Once an apply succeeds, the outputs
// (sensitive ones left out) and the managed resource instances are read back.
//
// State: unless the template configures a backend of its own, each resource's state lives
// under StateDir (see StatePath), kept there by a local backend that an override file adds
// to the template. A template that declares a remote backend (s3, http, a cloud block…) is
// honoured: its state lives where the template says and StateDir is not used. Such a
// backend's settings are the template's, the same for every resource deployed from it, so
// the template has to keep its resources apart itself. A template's own local backend is
// replaced, since its state would be lost with the job's directory. A destroy leaves the
// resource's (then empty) state in place.
//
// Cancellation: cancelling the context, or the job's timeout, interrupts terraform, which
// stops gracefully and records what it did; after CancelGrace it and everything it started
// are killed. When a job ends, whatever it left running is killed too (Linux). Terraform's
// local backend locks the state with an fcntl lock, which the kernel releases when the
// process dies; the .terraform.tfstate.lock.info file a killed terraform leaves is only a
// description of that lock and does not block the next run, so nothing is removed by hand.
// Runs wait a while (-lock-timeout) for a lock that is really held.
package tfapply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/openproton/openproton/internal/provision"
)

// Provisioner runs Terraform templates with a terraform (or tofu) binary.
type Provisioner struct {
	// Bin is the terraform or tofu executable ("" = terraform, looked up in the server's
	// PATH).
	Bin string
	// StateDir holds the resources' state, one directory each (see StatePath).
	StateDir string
	// WorkDir is where private job directories are made ("" = the system temp dir).
	WorkDir string
	// PluginCacheDir is shared by all jobs as TF_PLUGIN_CACHE_DIR ("" = none). Terraform's
	// cache is not safe for concurrent inits, so inits using it run one at a time.
	PluginCacheDir string
	// Env is added to terraform's scrubbed environment: proxy settings, a
	// TF_CLI_CONFIG_FILE naming a provider mirror, another PATH. The job's own Env
	// overrides it. Variables terraform-exec manages (TF_LOG*, TF_INPUT, TF_VAR_*,
	// TF_CLI_ARGS*, TF_WORKSPACE…) are dropped, and the job's log says so.
	Env map[string]string
	// CancelGrace is how long a cancelled or timed-out terraform has to stop after its
	// interrupt before it and everything it started are killed (0 = DefaultCancelGrace).
	CancelGrace time.Duration
	// MaxLog bounds the output kept for a job without its own Log (0 =
	// provision.DefaultMaxLog).
	MaxLog int

	initOnce sync.Once
	initSem  chan struct{} // held while an init uses the plugin cache
}

var _ provision.Provisioner = (*Provisioner)(nil)

// Engine is how the resources this provisioner reports are labelled.
const Engine = "TERRAFORM"

// DefaultCancelGrace leaves an interrupted terraform time to finish the calls in flight
// and write its state: killing it sooner can leave resources that no state records.
const DefaultCancelGrace = 2 * time.Minute

// DefaultPath is the PATH terraform sees unless Env sets one; nothing of the server's own
// environment is passed on.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const (
	tfvarsFile   = "proton.auto.tfvars.json"
	backendFile  = "zz_openproton_backend_override.tf.json"
	stateFile    = "terraform.tfstate"
	markerEnvVar = "OPENPROTON_TFAPPLY_JOB"
	// lockTimeout lets a run wait for one still holding the state (a cancelled run within
	// its grace period) rather than fail at once.
	lockTimeout = "5m"
	// maxTail is how much of the output an error message carries.
	maxTail = 2000
)

// Run provisions or deprovisions the job's resource: terraform init, then apply (reading
// back outputs and resources) or destroy.
func (p *Provisioner) Run(ctx context.Context, job *provision.Job) (res *provision.Result, err error) {
	log := job.Log
	if log == nil {
		max := p.MaxLog
		if max <= 0 {
			max = provision.DefaultMaxLog
		}
		log = provision.NewTail(max)
	}
	res = &provision.Result{}
	defer func() { res.Log, _ = log.Bytes() }()
	if job.Action != provision.Provision && job.Action != provision.Deprovision {
		return res, fmt.Errorf("tfapply: unknown action %q", job.Action)
	}
	if job.ResourceARN == "" {
		return res, errors.New("tfapply: the job names no resource")
	}
	bin := p.Bin
	if bin == "" {
		bin = "terraform"
	}
	if bin, err = exec.LookPath(bin); err != nil {
		return res, fmt.Errorf("tfapply: %w", err)
	}
	timeout := job.Timeout
	if timeout <= 0 {
		timeout = provision.DefaultTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	dir, err := os.MkdirTemp(p.WorkDir, "openproton-tf-")
	if err != nil {
		return res, fmt.Errorf("tfapply: work dir: %w", err)
	}
	// The absolute, resolved path: how /proc shows the working directory of what the job
	// runs, which is how leftovers are found.
	if dir, err = filepath.Abs(dir); err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return res, fmt.Errorf("tfapply: work dir: %w", err)
	}
	marker := markerEnvVar + "=" + filepath.Base(dir)
	done := make(chan struct{})
	defer func() {
		close(done)
		killJob(dir, marker)
		os.RemoveAll(dir)
	}()

	r := &run{p: p, job: job, log: log, dir: dir, parent: parent, timeout: timeout}
	if err := r.prepare(); err != nil {
		return res, err
	}
	tf, err := tfexec.NewTerraform(dir, bin)
	if err != nil {
		return res, fmt.Errorf("tfapply: %w", err)
	}
	env, dropped := p.environment(dir, marker, job)
	if len(dropped) > 0 {
		r.printf("not passed to terraform (terraform-exec sets them itself): %s\n", strings.Join(dropped, ", "))
		slog.Warn("tfapply: environment variables dropped", "deployment", job.DeploymentID, "names", dropped)
	}
	if err := tf.SetEnv(env); err != nil {
		return res, fmt.Errorf("tfapply: %w", err)
	}
	tf.SetStderr(log)
	grace := p.CancelGrace
	if grace <= 0 {
		grace = DefaultCancelGrace
	}
	// terraform-exec interrupts terraform when ctx ends and kills it (alone) after its
	// wait delay; the watchdog then kills whatever terraform started, in case it holds on.
	if err := tf.SetWaitDelay(grace); err != nil {
		return res, fmt.Errorf("tfapply: %w", err)
	}
	stopWatchdog := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			r.printf("terraform did not stop within %s of its interrupt: killing it\n", grace)
			killJob(dir, marker)
		case <-done:
		}
	})
	defer stopWatchdog()

	// terraform-exec asks for the version before some commands, printing it; asked before
	// stdout goes to the log, it is remembered.
	if err := r.step(ctx, "version", func() error {
		version, _, err := tf.Version(ctx, false)
		if err == nil {
			r.printf("%s %s\n", bin, version)
		}
		return err
	}); err != nil {
		return res, err
	}
	tf.SetStdout(log)
	if err := r.step(ctx, "init", func() error {
		unlock, err := p.lockPluginCache(ctx)
		if err != nil {
			return err
		}
		defer unlock()
		return tf.Init(ctx, tfexec.Upgrade(false))
	}); err != nil {
		return res, err
	}
	if job.Action == provision.Deprovision {
		return res, r.step(ctx, "destroy", func() error {
			return tf.Destroy(ctx, tfexec.LockTimeout(lockTimeout))
		})
	}
	if err := r.step(ctx, "apply", func() error {
		return tf.Apply(ctx, tfexec.LockTimeout(lockTimeout))
	}); err != nil {
		return res, err
	}
	// What terraform prints from here is the state itself, secrets included: it must not
	// reach the log.
	tf.SetStdout(nil)
	var outputs map[string]tfexec.OutputMeta
	if err := r.step(ctx, "output", func() (err error) {
		outputs, err = tf.Output(ctx)
		return err
	}); err != nil {
		return res, err
	}
	if res.Outputs, err = r.outputs(outputs); err != nil {
		return res, err
	}
	var state *tfjson.State
	if err := r.step(ctx, "show", func() (err error) {
		state, err = tf.Show(ctx)
		return err
	}); err != nil {
		return res, err
	}
	res.Resources = resources(state)
	return res, nil
}

// run is one job's work.
type run struct {
	p       *Provisioner
	job     *provision.Job
	log     *provision.Tail
	dir     string
	parent  context.Context // the caller's, to tell its cancel from the job's timeout
	timeout time.Duration
}

// prepare lays out the job's directory: the template's files, the inputs as variables and,
// unless the template configures a backend of its own, the local backend holding the
// resource's state.
func (r *run) prepare() error {
	job := r.job
	if err := writeFiles(r.dir, job.Files); err != nil {
		return err
	}
	// Written after the template's files: the deployment's inputs win over a file of the
	// same name in the bundle, as the backend override below does.
	inputs := job.Inputs
	if len(bytes.TrimSpace(inputs)) == 0 {
		inputs = []byte("{}")
	}
	if err := os.WriteFile(filepath.Join(r.dir, tfvarsFile), inputs, 0o600); err != nil {
		return fmt.Errorf("tfapply: %w", err)
	}
	for _, d := range []string{".home", ".tmp"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o700); err != nil {
			return fmt.Errorf("tfapply: %w", err)
		}
	}
	backend := declaredBackend(job.Files)
	if backend != "" && backend != "local" {
		r.printf("%s %s; state kept by the template's %s backend\n", strings.ToLower(string(job.Action)), job.ResourceARN, backend)
		return nil
	}
	if r.p.StateDir == "" {
		return errors.New("tfapply: no state directory configured")
	}
	path, err := filepath.Abs(r.p.StatePath(job.ResourceARN))
	if err != nil {
		return fmt.Errorf("tfapply: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("tfapply: state dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, backendFile), localBackend(path), 0o600); err != nil {
		return fmt.Errorf("tfapply: %w", err)
	}
	note := ""
	if backend == "local" {
		note = " (in place of the template's local backend)"
	}
	r.printf("%s %s; state in %s%s\n", strings.ToLower(string(job.Action)), job.ResourceARN, path, note)
	return nil
}

// localBackend is an override file setting the local backend to path. Terraform's
// override merge replaces any backend the template's own files declare with it.
func localBackend(path string) []byte {
	// Strings in .tf.json files are templates: escape their sequences.
	path = strings.ReplaceAll(path, "${", "$${")
	path = strings.ReplaceAll(path, "%{", "%%{")
	body, _ := json.MarshalIndent(map[string]any{
		"terraform": map[string]any{"backend": map[string]any{"local": map[string]any{"path": path}}},
	}, "", "  ")
	return append(body, '\n')
}

// step runs one terraform command, logging it; a cancelled job ends here even if the
// command happened to succeed.
func (r *run) step(ctx context.Context, name string, f func() error) error {
	r.printf("terraform %s\n", name)
	err := f()
	if ctx.Err() != nil {
		if r.parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("tfapply: terraform %s: timed out after %s (%w); last output:\n%s", name, r.timeout, context.DeadlineExceeded, r.tail())
		}
		return fmt.Errorf("tfapply: terraform %s: %w", name, ctx.Err())
	}
	if err != nil {
		// terraform-exec's error is the exit status, then all of terraform's stderr: its
		// end says what went wrong. Without it, the end of all output is next best.
		_, stderr, _ := strings.Cut(err.Error(), "\n")
		out := tail([]byte(stderr))
		if out == "" {
			out = r.tail()
		}
		return fmt.Errorf("tfapply: terraform %s: %w", name, &commandError{err: err, tail: out})
	}
	return nil
}

// printf writes a line of openproton's own to the job's log.
func (r *run) printf(format string, args ...any) {
	prefix := "openproton: "
	if r.job.DeploymentID != "" {
		prefix += "deployment " + r.job.DeploymentID + ": "
	}
	io.WriteString(r.log, prefix+fmt.Sprintf(format, args...))
}

// tail is the end of the job's output, for a status message.
func (r *run) tail() string {
	log, _ := r.log.Bytes()
	return tail(log)
}

// tail is the end of some output, bounded, from a line's start.
func tail(out []byte) string {
	if len(out) > maxTail {
		out = out[len(out)-maxTail:]
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			out = out[i+1:]
		}
	}
	return strings.TrimSpace(string(out))
}

// commandError is a failed terraform command as a status message shows it, its output
// bounded (the wrapped error carries all of terraform's stderr).
type commandError struct {
	err  error
	tail string
}

func (e *commandError) Error() string {
	msg, _, _ := strings.Cut(e.err.Error(), "\n")
	return msg + "; last output:\n" + e.tail
}

func (e *commandError) Unwrap() error { return e.err }

// outputs converts terraform's outputs to Proton's strings: strings as they are, other
// values as compact JSON. Sensitive outputs are left out, since Proton shows outputs to
// anyone who can read the resource.
func (r *run) outputs(meta map[string]tfexec.OutputMeta) (map[string]string, error) {
	var out map[string]string
	for _, name := range slices.Sorted(maps.Keys(meta)) {
		m := meta[name]
		if m.Sensitive {
			r.printf("output %q is sensitive: not recorded\n", name)
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		if v := bytes.TrimSpace(m.Value); len(v) > 0 && v[0] == '"' {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("tfapply: output %q: %w", name, err)
			}
			out[name] = s
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, m.Value); err != nil {
			return nil, fmt.Errorf("tfapply: output %q: %w", name, err)
		}
		out[name] = b.String()
	}
	return out, nil
}

// resources lists the managed resource instances in state, root module first: each by its
// address, identified by its id attribute when it has a non-sensitive one.
func resources(state *tfjson.State) []provision.Resource {
	if state == nil || state.Values == nil {
		return nil
	}
	var out []provision.Resource
	var walk func(m *tfjson.StateModule)
	walk = func(m *tfjson.StateModule) {
		if m == nil {
			return
		}
		for _, r := range m.Resources {
			// Deposed objects are leftovers of a replacement, under the same address.
			if r.Mode != tfjson.ManagedResourceMode || r.DeposedKey != "" {
				continue
			}
			id := r.Address
			if v, ok := r.AttributeValues["id"]; ok && v != nil && !sensitive(r.SensitiveValues, "id") {
				if s := fmt.Sprint(v); s != "" {
					id = s
				}
			}
			out = append(out, provision.Resource{Name: r.Address, Identifier: id, Engine: Engine})
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(state.Values.RootModule)
	return out
}

// sensitive reports whether a resource's sensitive_values mark the attribute.
func sensitive(values json.RawMessage, attr string) bool {
	var m map[string]any
	if json.Unmarshal(values, &m) != nil {
		return false
	}
	return m[attr] == true
}

// environment is all terraform sees: a fixed PATH, HOME and TMPDIR in the job's directory,
// the job's region, the configured Env, the job's Env (its scoped credential), the plugin
// cache and the marker that tells the job's processes. The server's own environment
// (TF_CLI_CONFIG_FILE, TF_VAR_*, credentials) is not passed on. terraform-exec adds
// TF_IN_AUTOMATION=1 and passes -input=false to every command (it refuses TF_INPUT and the
// other variables it manages: those are returned as dropped).
func (p *Provisioner) environment(dir, marker string, job *provision.Job) (env map[string]string, dropped []string) {
	env = map[string]string{
		"PATH": DefaultPath, "HOME": filepath.Join(dir, ".home"), "TMPDIR": filepath.Join(dir, ".tmp"),
		"LANG": "C.UTF-8", "CHECKPOINT_DISABLE": "1",
	}
	if job.Region != "" {
		env["AWS_REGION"], env["AWS_DEFAULT_REGION"] = job.Region, job.Region
	}
	if p.PluginCacheDir != "" {
		// Since Terraform 1.4 the cache serves only providers whose checksums the
		// dependency lock file holds; a job's lock file is new unless the template ships
		// one, so without this every job would download its providers again. The cache
		// holds only what terraform itself downloaded and verified.
		env["TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE"] = "true"
	}
	maps.Copy(env, p.Env)
	maps.Copy(env, job.Env)
	if p.PluginCacheDir != "" {
		// Absolute: terraform would resolve it from the job's directory.
		cache, err := filepath.Abs(p.PluginCacheDir)
		if err != nil {
			cache = p.PluginCacheDir
		}
		env["TF_PLUGIN_CACHE_DIR"] = cache
	}
	k, v, _ := strings.Cut(marker, "=")
	env[k] = v
	dropped = tfexec.ProhibitedEnv(env)
	for _, k := range dropped {
		delete(env, k)
	}
	slices.Sort(dropped)
	return env, dropped
}

// lockPluginCache holds the plugin cache for an init while one is configured.
func (p *Provisioner) lockPluginCache(ctx context.Context) (unlock func(), err error) {
	if p.PluginCacheDir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(p.PluginCacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("plugin cache: %w", err)
	}
	p.initOnce.Do(func() { p.initSem = make(chan struct{}, 1) })
	select {
	case p.initSem <- struct{}{}:
		return func() { <-p.initSem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
