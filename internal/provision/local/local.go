// Package local is the embedded provisioner: it runs a CodeBuild-style template's provision
// or deprovision commands with /bin/sh on this machine, one private working directory per
// job, with a scrubbed environment, a timeout and bounded output capture.
package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/openproton/openproton/internal/provision"
)

// Provisioner runs commands locally.
type Provisioner struct {
	// WorkRoot is where job directories are made ("" = the system temp dir).
	WorkRoot string
	// Commands, when set, returns the commands for a job's action and their environment
	// variables; otherwise the job's own Commands and CommandEnv run.
	Commands func(job *provision.Job) (commands []string, env map[string]string, err error)
	// MaxLog bounds the captured output kept per job without its own Log (0 =
	// provision.DefaultMaxLog).
	MaxLog int
	// Path is the PATH commands run with ("" = DefaultPath).
	Path string
}

var _ provision.Provisioner = (*Provisioner)(nil)

// DefaultPath is the PATH commands see unless configured; nothing of the server's own
// environment is passed on.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Run runs the job's commands in a fresh private directory and reads the outputs they
// leave in proton-outputs.json.
func (p *Provisioner) Run(ctx context.Context, job *provision.Job) (*provision.Result, error) {
	commands, manifestEnv := job.Commands, job.CommandEnv
	if p.Commands != nil {
		var err error
		if commands, manifestEnv, err = p.Commands(job); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(p.WorkRoot, "openproton-job-")
	if err != nil {
		return nil, fmt.Errorf("local: work dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := writeFiles(dir, job); err != nil {
		return nil, err
	}

	timeout := job.Timeout
	if timeout <= 0 {
		timeout = provision.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// CodeBuild runs a phase's commands in one shell, so state carries from one to the
	// next; the first failure stops the phase.
	script := "set -e\n" + strings.Join(commands, "\n") + "\n"
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script)
	cmd.Dir = dir
	path := p.Path
	if path == "" {
		path = DefaultPath
	}
	cmd.Env = environment(dir, path, job, manifestEnv)
	// Its own process group, so cancelling kills whatever the commands started too.
	// Pdeathsig: a server that dies does not leave its shell running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	max := p.MaxLog
	if max <= 0 {
		max = provision.DefaultMaxLog
	}
	log := job.Log
	if log == nil {
		log = provision.NewTail(max)
	}
	runErr := runCapturing(cmd, log)
	res := &provision.Result{}
	res.Log, _ = log.Bytes()
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return res, fmt.Errorf("timed out after %s; last output:\n%s", timeout, tail(res.Log))
	case ctx.Err() != nil:
		return res, ctx.Err()
	case runErr != nil:
		var exit *exec.ExitError
		if errors.As(runErr, &exit) {
			return res, fmt.Errorf("%s commands failed (exit %d); last output:\n%s", strings.ToLower(string(job.Action)), exit.ExitCode(), tail(res.Log))
		}
		return res, fmt.Errorf("local: run: %w", runErr)
	}
	if res.Outputs, err = readOutputs(filepath.Join(dir, "proton-outputs.json")); err != nil {
		return res, err
	}
	return res, nil
}

// writeFiles lays out the template's files and proton-inputs.json, private to the owner.
func writeFiles(dir string, job *provision.Job) error {
	for name, body := range job.Files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if !strings.HasPrefix(path, dir+string(filepath.Separator)) {
			return fmt.Errorf("local: file %q leaves the work dir", name)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("local: %w", err)
		}
		if err := os.WriteFile(path, body, 0o600); err != nil {
			return fmt.Errorf("local: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "proton-inputs.json"), job.Inputs, 0o600); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	return os.MkdirAll(filepath.Join(dir, ".tmp"), 0o700)
}

// environment is all a command sees: a fixed PATH, the job's own directory as HOME and
// TMPDIR, the variables CodeBuild gave (RESOURCE_ARN, AWS_DEFAULT_REGION), the manifest's
// variables and the job's scoped credential; AWS SDKs may not use the machine's instance
// metadata credentials.
func environment(dir, path string, job *provision.Job, manifestEnv map[string]string) []string {
	env := map[string]string{
		"PATH": path, "HOME": dir, "TMPDIR": filepath.Join(dir, ".tmp"), "LANG": "C.UTF-8",
		"RESOURCE_ARN": job.ResourceARN, "AWS_DEFAULT_REGION": job.Region, "AWS_REGION": job.Region,
		"PROTON_DEPLOYMENT_ID": job.DeploymentID,
		// The machine's instance role is the server's, never a deployment's.
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	for k, v := range manifestEnv {
		env[k] = v
	}
	for k, v := range job.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// readOutputs reads proton-outputs.json when the commands left one: an object of strings,
// or a list of {key, valueString} as notify-resource-deployment-status-change takes.
func readOutputs(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	var obj map[string]string
	if json.Unmarshal(data, &obj) == nil {
		return obj, nil
	}
	var list []struct {
		Key         string `json:"key"`
		ValueString string `json:"valueString"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf(`proton-outputs.json must be an object of strings or a list of {"key", "valueString"}: %v`, err)
	}
	out := make(map[string]string, len(list))
	for _, o := range list {
		out[o.Key] = o.ValueString
	}
	return out, nil
}

// tail is the end of a log, for a status message.
func tail(log []byte) string {
	const max = 2000
	if len(log) > max {
		log = log[len(log)-max:]
		if i := bytes.IndexByte(log, '\n'); i >= 0 {
			log = log[i+1:]
		}
	}
	return strings.TrimRight(string(log), "\n")
}

// runCapturing runs cmd with its output going to log through a pipe it reads itself, so
// that the shell's exit ends the run even when something the commands started in the
// background still holds the pipe; the whole process group is then killed, so nothing a
// job started outlives it.
func runCapturing(cmd *exec.Cmd, log io.Writer) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		w.Close()
		return err
	}
	w.Close() // the commands hold the only write ends now
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(log, r)
	}()
	waitErr := cmd.Wait()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
		// A process that left the group still holds the pipe: stop reading.
		r.Close()
		<-copied
	}
	return waitErr
}
