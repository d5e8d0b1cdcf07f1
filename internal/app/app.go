// Package app assembles a running openproton server from its configuration: store, keys,
// service, bucket API and HTTP listener.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/riverqueue/river"

	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/bucket"
	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/engine"
	"github.com/openproton/openproton/internal/provision"
	"github.com/openproton/openproton/internal/provision/cloudformation"
	"github.com/openproton/openproton/internal/provision/local"
	"github.com/openproton/openproton/internal/provision/tfapply"
	"github.com/openproton/openproton/internal/render"
	"github.com/openproton/openproton/internal/server"
	"github.com/openproton/openproton/internal/service"
	"github.com/openproton/openproton/internal/store"
)

// CredentialsFile is the name, under the data dir, of the shared-credentials file holding
// the admin key created on first start.
const CredentialsFile = "credentials"

// Server is a started openproton server.
type Server struct {
	cfg      config.Server
	handler  *server.Handler
	log      *slog.Logger
	store    store.Store
	buckets  *bucket.Buckets // the embedded bucket API; nil with an external S3 endpoint
	bundles  bucket.Reader   // where template bundles are read from
	http     *http.Server
	listener net.Listener
	served   chan error
	newConns sync.Map // net.Conn → struct{}: accepted connections that have not sent a request yet
	queue    engine.Queue
	stopWork context.CancelFunc
	workers  sync.WaitGroup
	// CredentialsWritten is the path of the credentials file written on this start, if any.
	CredentialsWritten string
}

// Start opens everything the configuration names and starts serving.
func Start(ctx context.Context, cfg config.Server, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	s := &Server{cfg: cfg, log: logger, served: make(chan error, 1)}
	ok := false
	defer func() {
		if !ok {
			s.closeResources()
		}
	}()

	var err error
	if s.store, err = OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	if s.CredentialsWritten, err = auth.Bootstrap(ctx, s.store, cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey,
		filepath.Join(cfg.DataDir, CredentialsFile)); err != nil {
		return nil, err
	}
	keyring := &auth.Keyring{Store: s.store}
	var bucketAPI http.Handler
	if cfg.S3Endpoint != "" {
		// Bundles live in the operator's S3; the embedded bucket API is off.
		if s.bundles, err = bucket.NewExternal(ctx, cfg.S3Endpoint, cfg.Region); err != nil {
			return nil, err
		}
	} else {
		if s.buckets, err = bucket.Open(filepath.Join(cfg.DataDir, "buckets"), logger); err != nil {
			return nil, fmt.Errorf("open bucket store: %w", err)
		}
		s.bundles = s.buckets
		bucketAPI = s.buckets.Handler(s3Authenticator(keyring))
	}
	jobKey, err := s.store.SecretGetOrCreate(ctx, "deployment-credential-key", randomKey)
	if err != nil {
		return nil, fmt.Errorf("load deployment credential key: %w", err)
	}
	jobKeys := auth.NewJobKeys(jobKey)
	runner := s.newRunner(cfg, jobKeys)
	workers := river.NewWorkers()
	river.AddWorker(workers, runner)
	// The sync workers' service is set below, before the queue starts.
	syncWorker, serviceSyncWorker := &service.SyncWorker{}, &service.ServiceSyncWorker{}
	river.AddWorker(workers, syncWorker)
	river.AddWorker(workers, serviceSyncWorker)
	if s.queue, err = engine.New(ctx, s.store, engine.Config{Workers: workers, MaxWorkers: cfg.DeploymentWorkers,
		RescueAfter: cfg.DeploymentTimeout + time.Minute, Logger: logger}); err != nil {
		return nil, err
	}
	runner.Queue = s.queue
	repos, err := cfg.Repositories()
	if err != nil {
		return nil, err
	}
	svc, err := service.New(ctx, service.Options{Store: s.store, Bundles: s.bundles, Region: cfg.Region, Logger: logger, Queue: s.queue,
		Repositories: repos, TerraformDirect: cfg.TerraformBin != ""})
	if err != nil {
		return nil, err
	}
	syncWorker.S, serviceSyncWorker.S = svc, svc
	runner.RequestOpened = svc.KickWatcher
	var override provision.Provisioner
	if cfg.Provisioner == "noop" {
		override = provision.Noop
	}
	deployer := svc.Deployer(&local.Provisioner{WorkRoot: cfg.DeploymentWorkRoot, Path: cfg.DeploymentPath}, override)
	// CloudFormation is reached with the server's own AWS configuration (environment,
	// shared files, instance roles; AWS_ENDPOINT_URL_CLOUDFORMATION and _STS redirect it).
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
	if err != nil {
		return nil, fmt.Errorf("load the AWS configuration for CloudFormation: %w", err)
	}
	deployer.CloudFormation = &cloudformation.Provisioner{Config: awsCfg, PollMin: cfg.CloudFormationPoll, PollMax: 10 * cfg.CloudFormationPoll}
	deployer.Render = render.Render
	if cfg.TerraformBin != "" {
		deployer.Terraform = &tfapply.Provisioner{Bin: cfg.TerraformBin, StateDir: filepath.Join(cfg.DataDir, "terraform", "state"),
			WorkDir: cfg.DeploymentWorkRoot, PluginCacheDir: filepath.Join(cfg.DataDir, "terraform", "plugins")}
		deployer.AssumeRole = assumeRole(awsCfg)
	}
	runner.Resources = deployer

	// Background work lives until Shutdown.
	workCtx, stopWork := context.WithCancel(context.Background())
	s.stopWork = stopWork
	s.workers.Go(func() { svc.RunRegistrar(workCtx) })
	s.workers.Go(func() { svc.WatchRequests(workCtx, cfg.PullRequestPoll) })
	s.workers.Go(func() { svc.RunSyncPoller(workCtx, cfg.SyncPoll) })
	if err := s.queue.Start(workCtx); err != nil {
		return nil, fmt.Errorf("start deployment queue: %w", err)
	}
	s.workers.Go(func() { runner.Reap(workCtx, cfg.DeploymentLease/3) })

	s.handler = server.New(server.Options{
		Service:      svc,
		Authenticate: protonAuthenticator(keyring, jobKeys, s.store, cfg.Region),
		Buckets:      bucketAPI,
		Logger:       logger,
		SyncWebhook:  svc.KickSync,
	})

	if s.listener, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.http = &http.Server{
		ConnState:         s.trackNewConns,
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	go func() { s.served <- s.http.Serve(s.listener) }()
	s.handler.SetReady(true)
	ok = true
	return s, nil
}

func (s *Server) trackNewConns(c net.Conn, state http.ConnState) {
	if state == http.StateNew {
		s.newConns.Store(c, struct{}{})
	} else {
		s.newConns.Delete(c)
	}
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Handler is the server's HTTP handler (benchmarks call it without a network in between).
func (s *Server) Handler() http.Handler { return s.handler }

// Buckets is where template bundles are read from.
func (s *Server) Buckets() bucket.Reader { return s.bundles }

// Store is the server's store (for tools and tests that seed or inspect state).
func (s *Server) Store() store.Store { return s.store }

// Shutdown stops accepting requests, waits for those in flight (until ctx ends) and closes
// the store.
func (s *Server) Shutdown(ctx context.Context) error {
	// http.Server.Shutdown waits up to 5 s for connections that never sent a request (clients
	// often open spare ones); they hold no work, so close them now.
	s.newConns.Range(func(c, _ any) bool {
		_ = c.(net.Conn).Close()
		return true
	})
	err := s.http.Shutdown(ctx)
	if serveErr := <-s.served; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return errors.Join(err, s.closeResources())
}

func (s *Server) closeResources() error {
	if s.queue != nil {
		// Let running deployments finish briefly; then cancel them. A cancelled run hands
		// its deployment on (another replica, or this one after restart, resumes it).
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if err := s.queue.Stop(ctx); err != nil {
			stopCtx, stopCancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = s.queue.StopAndCancel(stopCtx)
			stopCancel()
		}
		cancel()
	}
	if s.stopWork != nil {
		s.stopWork()
		s.workers.Wait()
	}
	var errs []error
	if s.buckets != nil {
		errs = append(errs, s.buckets.Close())
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	return errors.Join(errs...)
}

// assumeRole gives a deployment's own commands (direct Terraform) temporary credentials of
// the resource's role, through the server's AWS configuration (AWS_ENDPOINT_URL_STS
// redirects it). They last an hour, STS's default, which bounds what a leaked one can do.
func assumeRole(cfg aws.Config) func(ctx context.Context, roleARN, deploymentID string) (map[string]string, error) {
	client := sts.NewFromConfig(cfg)
	return func(ctx context.Context, roleARN, deploymentID string) (map[string]string, error) {
		out, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN),
			RoleSessionName: aws.String(sessionName(deploymentID))})
		if err != nil {
			return nil, err
		}
		c := out.Credentials
		return map[string]string{"AWS_ACCESS_KEY_ID": aws.ToString(c.AccessKeyId), "AWS_SECRET_ACCESS_KEY": aws.ToString(c.SecretAccessKey),
			"AWS_SESSION_TOKEN": aws.ToString(c.SessionToken)}, nil
	}
}

// sessionName names the deployment in the role's CloudTrail entries (at most 64
// characters of [\w+=,.@-]; a deployment id is a UUID).
func sessionName(deploymentID string) string {
	name := "openproton-" + deploymentID
	return name[:min(len(name), 64)]
}
