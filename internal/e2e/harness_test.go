// Package e2e drives a real openproton server, started in-process on a loopback port, with
// real clients: the AWS SDK for Go, the aws CLI and boto3.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/proton"

	"github.com/openproton/openproton/internal/app"
	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/store/postgres/pgtest"
)

const (
	rootKeyID  = "AKIAOPENPROTONTEST01"
	rootSecret = "openproton-test-secret-key-0123456789abcd"
	accountID  = "000000000000"
	region     = "us-east-1"
)

// postgresBase, when set, makes startServer use a fresh PostgreSQL schema instead of
// embedded SQLite (see TestOnPostgres).
var postgresBase string

// testServer is a server started for one test.
type testServer struct {
	*app.Server
	cfg     config.Server
	stopped bool
}

// startServer starts a server on a fresh data dir (or dataDir, to restart on old state).
func startServer(t testing.TB, dataDir string) *testServer {
	t.Helper()
	return startServerWith(t, func(c *config.Server) {
		if dataDir != "" {
			c.DataDir = dataDir
		}
	})
}

// startServerWith starts a server on a fresh data dir with the configuration adjusted.
func startServerWith(t testing.TB, adjust func(*config.Server)) *testServer {
	t.Helper()
	cfg := config.Server{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), Region: region, AccountID: accountID, LogLevel: "error",
		RootAccessKeyID: rootKeyID, RootSecretAccessKey: rootSecret,
	}
	if postgresBase != "" {
		cfg.DatabaseURL = pgtest.Schema(t, postgresBase)
	}
	adjust(&cfg)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := app.Start(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	ts := &testServer{Server: srv, cfg: cfg}
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop shuts the server down once; later calls do nothing.
func (s *testServer) stop(t testing.TB) {
	if s.stopped {
		return
	}
	s.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// client returns an SDK client signing with the given key.
func (s *testServer) client(keyID, secret string) *proton.Client {
	return proton.NewFromConfig(aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, ""),
	}, func(o *proton.Options) {
		o.BaseEndpoint = aws.String(s.URL())
		o.RetryMaxAttempts = 1
	})
}

func (s *testServer) admin() *proton.Client { return s.client(rootKeyID, rootSecret) }

// newKey creates a key with a role in an account, straight in the store.
func (s *testServer) newKey(t testing.TB, account string, role auth.Role) (id, secret string) {
	t.Helper()
	k, err := auth.NewKey(account, role, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store().AccessKeyCreate(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k.AccessKeyID, k.SecretAccessKey
}

// awsEnv is an environment for the aws CLI and boto3 that sees only this server's key: a
// private HOME and config files, so nothing on the machine leaks in.
func (s *testServer) awsEnv(t testing.TB, keyID, secret string) []string {
	home := t.TempDir()
	cfgFile := filepath.Join(home, "config")
	if err := os.WriteFile(cfgFile, []byte("[default]\nregion = "+region+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"AWS_CONFIG_FILE=" + cfgFile, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID=" + keyID, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_DEFAULT_REGION=" + region,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
	}
}

func needTool(t testing.TB, name string, args ...string) {
	t.Helper()
	if err := exec.Command(name, args...).Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not available: %v", name, err)
	}
}
