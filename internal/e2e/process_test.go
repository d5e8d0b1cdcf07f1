package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/provision/local"
	"github.com/openproton/openproton/internal/store/postgres/pgtest"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// openprotonBinary builds cmd/openproton once per test run.
func openprotonBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "openproton-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "openproton")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/openproton/openproton/cmd/openproton").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// process is an openproton server running as its own process.
type process struct {
	cmd *exec.Cmd
	url string
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProcess runs `openproton server` on dataDir (and database, if not empty) and waits
// until it is ready.
func startProcess(t *testing.T, dataDir, database string) *process {
	t.Helper()
	addr := freePort(t)
	args := []string{"server", "--listen", addr, "--data-dir", dataDir, "--deployment-lease", "3s",
		"--deployment-path", local.DefaultPath + ":" + awsBinDir(t), "--log-level", "warn"}
	if database != "" {
		args = append(args, "--database", database)
	}
	cmd := exec.Command(openprotonBinary(t), args...)
	cmd.Env = append(os.Environ(), "OPENPROTON_ROOT_ACCESS_KEY_ID="+rootKeyID, "OPENPROTON_ROOT_SECRET_ACCESS_KEY="+rootSecret,
		"OPENPROTON_REGION="+region, "OPENPROTON_ACCOUNT_ID="+accountID)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, url: "http://" + addr}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("server log (%s):\n%s", addr, b)
			}
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server on %s not ready: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown code runs.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

func (p *process) client() *proton.Client {
	return proton.NewFromConfig(aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(rootKeyID, rootSecret, "")},
		func(o *proton.Options) { o.BaseEndpoint = aws.String(p.url) })
}

// slowBundle provisions in the given seconds, long enough to stop a server in the middle.
func slowBundle(seconds int) []file {
	return []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: `infrastructure:
  templates:
    - rendering_engine: codebuild
      settings:
        image: aws/codebuild/standard:7.0
        provision:
          - sleep ` + fmt.Sprint(seconds) + `
          - printf '{"finished":"yes"}' > proton-outputs.json
        deprovision:
          - true
`}}
}

// startSlowDeployment publishes the slow template through p and creates an environment.
func startSlowDeployment(t *testing.T, p *process, seconds int) {
	t.Helper()
	startSlowDeploymentNamed(t, p, "slow", seconds)
	// Let the deployment's commands start.
	time.Sleep(1500 * time.Millisecond)
	env, err := p.client().GetEnvironment(context.Background(), &proton.GetEnvironmentInput{Name: aws.String("survivor")})
	if err != nil || env.Environment.DeploymentStatus != types.DeploymentStatusInProgress {
		t.Fatalf("the deployment should still be running: %v %+v", err, env)
	}
}

// startSlowDeploymentNamed publishes a template that provisions in the given seconds as
// name and creates environment "survivor" from it.
func startSlowDeploymentNamed(t *testing.T, p *process, name string, seconds int) {
	t.Helper()
	ctx := context.Background()
	c := p.client()
	if _, err := c.CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	uploadTo(t, p.url, "bundles", name+".tar.gz", tarball(t, name, slowBundle(seconds)))
	if _, err := c.CreateEnvironmentTemplateVersion(ctx, &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, Source: source("bundles", name+".tar.gz")}); err != nil {
		t.Fatal(err)
	}
	if v := waitEnvVersion(t, c, name, "1", "0"); v.Status != types.TemplateVersionStatusDraft {
		t.Fatalf("registration: %s %s", v.Status, aws.ToString(v.StatusMessage))
	}
	if _, err := c.UpdateEnvironmentTemplateVersion(ctx, &proton.UpdateEnvironmentTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("1"),
		MinorVersion: aws.String("0"), Status: types.TemplateVersionStatusPublished}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("survivor"), TemplateName: &name,
		TemplateMajorVersion: aws.String("1"), Spec: spec("  team: platform\n"), CodebuildRoleArn: aws.String(cbRole)}); err != nil {
		t.Fatal(err)
	}
}

// finishedAfterCrash checks the deployment reached SUCCEEDED, once, with its outputs.
func finishedAfterCrash(t *testing.T, p *process) {
	t.Helper()
	c := p.client()
	env, err := waitDeployed(t, c, "survivor", 60*time.Second)
	if err != nil {
		t.Fatalf("after the crash the deployment did not succeed: %v (%s: %s)", err, env.DeploymentStatus, aws.ToString(env.DeploymentStatusMessage))
	}
	if out := outputs(t, c, "survivor", nil); out["finished"] != "yes" {
		t.Errorf("outputs after the crash: %v", out)
	}
	if history := deployments(t, c, "survivor"); len(history) != 1 || history[0].DeploymentStatus != types.DeploymentStatusSucceeded {
		t.Errorf("one deployment, SUCCEEDED, expected: %+v", history)
	}
}

func TestKilledServerResumesDeployments(t *testing.T) {
	dataDir := t.TempDir()
	first := startProcess(t, dataDir, "")
	startSlowDeployment(t, first, 4)
	first.kill(t)

	start := time.Now()
	second := startProcess(t, dataDir, "")
	finishedAfterCrash(t, second)
	t.Logf("deployment finished %s after the restart", time.Since(start).Round(100*time.Millisecond))
}

func TestSecondServerTakesOverOnPostgres(t *testing.T) {
	database := pgtest.Schema(t, pgtest.URL(t))
	a := startProcess(t, t.TempDir(), database)
	startSlowDeployment(t, a, 4)
	b := startProcess(t, t.TempDir(), database)
	a.kill(t)

	start := time.Now()
	finishedAfterCrash(t, b)
	t.Logf("the surviving server finished the deployment %s after the other was killed", time.Since(start).Round(100*time.Millisecond))
}

// A server stopped gracefully in the middle of a deployment hands it on: after a restart
// it runs again and finishes.
func TestGracefulRestartResumesDeployments(t *testing.T) {
	dataDir := t.TempDir()
	first := startProcess(t, dataDir, "")
	// Longer than the 3 s a stopping server lets deployments finish.
	startSlowDeployment(t, first, 8)
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := first.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	start := time.Now()
	second := startProcess(t, dataDir, "")
	finishedAfterCrash(t, second)
	t.Logf("deployment finished %s after the restart", time.Since(start).Round(100*time.Millisecond))
}

// A server killed while a service's instances deploy restarts and takes the service on to
// ACTIVE: the instances finish, then the pipeline deploys.
func TestKilledServerFinishesServices(t *testing.T) {
	dataDir := t.TempDir()
	first := startProcess(t, dataDir, "")
	ctx := context.Background()
	c := first.client()
	startSlowDeploymentNamed(t, first, "quick", 0)
	if _, err := waitDeployed(t, c, "survivor", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineCodebuildRoleArn: aws.String("arn:aws:iam::000000000000:role/p")}); err != nil {
		t.Fatal(err)
	}
	name := "slowsvc"
	if _, err := c.CreateServiceTemplate(ctx, &proton.CreateServiceTemplateInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	slowInstance := strings.Replace(svcManifest, "        provision:\n", "        provision:\n          - sleep 4\n", 1)
	files := []file{{Name: "schema/schema.yaml", Body: svcSchema}, {Name: "instance_infrastructure/manifest.yaml", Body: slowInstance},
		{Name: "pipeline_infrastructure/manifest.yaml", Body: pipelineManifest}}
	uploadTo(t, first.url, "bundles", "slowsvc.tar.gz", tarball(t, name, files))
	if _, err := c.CreateServiceTemplateVersion(ctx, &proton.CreateServiceTemplateVersionInput{TemplateName: &name, Source: source("bundles", "slowsvc.tar.gz"),
		CompatibleEnvironmentTemplates: []types.CompatibleEnvironmentTemplateInput{{TemplateName: aws.String("quick"), MajorVersion: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	w := proton.NewServiceTemplateVersionRegisteredWaiter(c, func(o *proton.ServiceTemplateVersionRegisteredWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := w.Wait(ctx, &proton.GetServiceTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("1"), MinorVersion: aws.String("0")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateServiceTemplateVersion(ctx, &proton.UpdateServiceTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("1"),
		MinorVersion: aws.String("0"), Status: types.TemplateVersionStatusPublished}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &proton.CreateServiceInput{Name: aws.String("svc"), TemplateName: &name, TemplateMajorVersion: aws.String("1"),
		Spec: svcSpec("", "a=survivor", "b=survivor"), RepositoryConnectionArn: aws.String(repoConn), RepositoryId: aws.String("o/r"),
		BranchName: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	first.kill(t)

	second := startProcess(t, dataDir, "")
	c = second.client()
	out, err := proton.NewServiceCreatedWaiter(c, fastService).WaitForOutput(ctx, &proton.GetServiceInput{Name: aws.String("svc")}, 90*time.Second)
	if err != nil {
		t.Fatalf("after the crash the service did not become ACTIVE: %v", err)
	}
	if out.Service.Pipeline.DeploymentStatus != types.DeploymentStatusSucceeded {
		t.Errorf("pipeline %s", out.Service.Pipeline.DeploymentStatus)
	}
	var pns pipelineNamespace
	decodedInputs(t, pipelineOutputs(t, c, "svc"), &pns)
	if len(pns.ServiceInstances) != 2 || pns.ServiceInstances[0].Outputs["url"] == "" {
		t.Errorf("the pipeline saw %+v", pns.ServiceInstances)
	}
}
