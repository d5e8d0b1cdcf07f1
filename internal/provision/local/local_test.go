package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openproton/openproton/internal/provision"
)

// provisioner runs the given commands whatever the action.
func provisioner(t *testing.T, commands ...string) *Provisioner {
	return &Provisioner{WorkRoot: t.TempDir(), Commands: func(*provision.Job) ([]string, map[string]string, error) {
		return commands, map[string]string{"FROM_MANIFEST": "yes"}, nil
	}}
}

func job() *provision.Job {
	return &provision.Job{DeploymentID: "d-1", ResourceARN: "arn:aws:proton:us-east-1:000000000000:environment/dev", Region: "us-east-1",
		Action: provision.Provision, Files: map[string][]byte{"main.sh": []byte("echo main"), "lib/x.txt": []byte("x")},
		Inputs: []byte(`{"environment":{"name":"dev","inputs":{"size":"small"}}}`)}
}

func TestOutputsAndEnvironment(t *testing.T) {
	t.Setenv("OPENPROTON_ROOT_SECRET_ACCESS_KEY", "server-secret")
	p := provisioner(t,
		`test "$RESOURCE_ARN" = "arn:aws:proton:us-east-1:000000000000:environment/dev"`,
		`test "$FROM_MANIFEST" = yes`,
		`test -f lib/x.txt`,
		`grep -q '"size":"small"' proton-inputs.json`,
		`if env | grep -q server-secret; then echo leaked; exit 9; fi`,
		`test "$(stat -c %a .)" = 700`,
		`X=carried`,
		`echo "{\"vpc\": \"vpc-1\", \"carried\": \"$X\"}" > proton-outputs.json`,
	)
	res, err := p.Run(context.Background(), job())
	if err != nil {
		t.Fatalf("run: %v\n%s", err, res.Log)
	}
	if res.Outputs["vpc"] != "vpc-1" || res.Outputs["carried"] != "carried" {
		t.Errorf("outputs = %v", res.Outputs)
	}
	entries, _ := os.ReadDir(p.WorkRoot)
	if len(entries) != 0 {
		t.Errorf("work dir left behind: %v", entries)
	}
}

func TestOutputsAsList(t *testing.T) {
	p := provisioner(t, `echo '[{"key":"a","valueString":"1"},{"key":"b","valueString":"2"}]' > proton-outputs.json`)
	res, err := p.Run(context.Background(), job())
	if err != nil || res.Outputs["a"] != "1" || res.Outputs["b"] != "2" {
		t.Errorf("outputs = %v, err %v", res.Outputs, err)
	}
	p = provisioner(t, `echo '42' > proton-outputs.json`)
	if _, err := p.Run(context.Background(), job()); err == nil || !strings.Contains(err.Error(), "proton-outputs.json") {
		t.Errorf("bad outputs file: %v", err)
	}
}

func TestFailureStopsAndReportsTail(t *testing.T) {
	p := provisioner(t, `echo step one`, `echo broken >&2; exit 3`, `echo never > ran`)
	res, err := p.Run(context.Background(), job())
	if err == nil || !strings.Contains(err.Error(), "exit 3") || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(string(res.Log), "step one") || strings.Contains(string(res.Log), "never") {
		t.Errorf("log = %q", res.Log)
	}
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "survived")
	p := provisioner(t, `(sleep 2; touch `+marker+`) &`, `sleep 30`)
	j := job()
	j.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := p.Run(context.Background(), j)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("timeout took %v", time.Since(start))
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a background command outlived the job")
	}
}

func TestCancel(t *testing.T) {
	p := provisioner(t, `sleep 30`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	if _, err := p.Run(ctx, job()); err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestLogIsBounded(t *testing.T) {
	p := provisioner(t, `i=0; while [ $i -lt 5000 ]; do echo "line $i of output that is long enough"; i=$((i+1)); done`)
	p.MaxLog = 4096
	res, err := p.Run(context.Background(), job())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Log) > 4096+64 || !strings.Contains(string(res.Log), "line 4999") || !strings.HasPrefix(string(res.Log), "[earlier output dropped]") {
		t.Errorf("log of %d bytes: %q…", len(res.Log), res.Log[:80])
	}
}

// A command that leaves a background process behind still finishes the job, and the
// background process does not outlive it.
func TestBackgroundProcessesDoNotOutliveTheJob(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "still-running")
	p := &Provisioner{}
	start := time.Now()
	res, err := p.Run(context.Background(), &provision.Job{Action: provision.Provision, Inputs: []byte("{}"),
		Commands: []string{"echo started", "(sleep 3; touch " + marker + ") &", "echo done"}})
	if err != nil {
		t.Fatalf("run: %v (log %q)", err, res.Log)
	}
	if elapsed := time.Since(start); elapsed > 2500*time.Millisecond {
		t.Errorf("the job waited %s for its background process", elapsed)
	}
	if !strings.Contains(string(res.Log), "done") {
		t.Errorf("log = %q", res.Log)
	}
	time.Sleep(4 * time.Second)
	if _, err := os.Stat(marker); err == nil {
		t.Error("the background process kept running after the job ended")
	}
}
