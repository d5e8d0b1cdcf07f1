// Package service implements Proton's semantics behind the generated api.Service interface:
// one file per resource family. It never touches HTTP.
package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/bucket"
	"github.com/openproton/openproton/internal/engine"
	"github.com/openproton/openproton/internal/pagetoken"
	"github.com/openproton/openproton/internal/repoaccess"
	"github.com/openproton/openproton/internal/store"
)

// Service is openproton's implementation of the Proton API. Operations not built yet fall
// through to api.Unimplemented.
type Service struct {
	api.Unimplemented
	store   store.Store
	bundles bucket.Reader
	region  string
	tokens  *pagetoken.Sealer
	now     func() time.Time
	log     *slog.Logger
	kick    chan struct{} // wakes the registrar

	queue       engine.Queue // where deployments' jobs go
	bundleCache bundleCache
	repos       *repoaccess.Access // nil refuses repositories
	watchKick   chan struct{}      // wakes the handed-on request watcher
	watchEvery  time.Duration      // the watcher's interval (set when it starts)
	syncKick    chan struct{}      // wakes the sync poller
	lastWebhook atomic.Int64       // when the sync webhook last kicked the poller (unix ns)
	// terraformDirect: Terraform templates without a provisioning repository are applied
	// by the server (the deployer's Terraform provisioner).
	terraformDirect bool
}

var _ api.Service = (*Service)(nil)

// Options configures a Service.
type Options struct {
	Store   store.Store
	Bundles bucket.Reader // where template bundles are read from
	Region  string
	Now     func() time.Time // nil = time.Now
	Logger  *slog.Logger
	// Queue takes deployment jobs; deployments are refused without one.
	Queue engine.Queue
	// Repositories reaches linked git repositories (self-managed provisioning, sync);
	// nil refuses them.
	Repositories *repoaccess.Access
	// TerraformDirect accepts Terraform templates without a provisioning repository: the
	// deployer applies them itself.
	TerraformDirect bool
}

// New builds the service, loading the pagination key all replicas share.
func New(ctx context.Context, o Options) (*Service, error) {
	key, err := o.Store.SecretGetOrCreate(ctx, "pagination-token-key", func() []byte {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return k
	})
	if err != nil {
		return nil, fmt.Errorf("load pagination key: %w", err)
	}
	tokens, err := pagetoken.New(key)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{store: o.Store, bundles: o.Bundles, region: o.Region, tokens: tokens, now: o.Now, log: o.Logger,
		kick: make(chan struct{}, 1), queue: o.Queue, repos: o.Repositories, watchKick: make(chan struct{}, 1), syncKick: make(chan struct{}, 1), terraformDirect: o.TerraformDirect}, nil
}

// caller returns the authenticated caller; the server always sets one.
func caller(ctx context.Context) (auth.Caller, error) {
	c, ok := auth.CallerFrom(ctx)
	if !ok {
		return auth.Caller{}, errors.New("service: request has no authenticated caller")
	}
	return c, nil
}

// pageSize turns the model's optional maxResults into a store page size. Proton's default
// page is 100, its maximum.
func pageSize(maxResults *int32) int {
	if maxResults == nil {
		return 100
	}
	return int(*maxResults)
}

// openPage turns nextToken into the store position for the listing named by scope.
func (s *Service) openPage(scope, nextToken string, maxResults *int32) (store.Page, error) {
	p := store.Page{Limit: pageSize(maxResults)}
	if nextToken == "" {
		return p, nil
	}
	after, err := s.tokens.Open(scope, nextToken)
	if err != nil {
		return p, api.Validationf("The nextToken is not valid for this request")
	}
	p.After = after
	return p, nil
}

// sealPage turns the store's next position into a nextToken ("" when the listing is done).
func (s *Service) sealPage(scope, next string) string {
	if next == "" {
		return ""
	}
	return s.tokens.Seal(scope, next)
}

// txRetrying runs fn in a transaction, again (up to five times) when it lost an optimistic
// concurrency race: the deployment runner rewrites a running deployment's row every few
// seconds, and a caller should not see that as a conflict.
func (s *Service) txRetrying(ctx context.Context, fn func(q store.Queries) error) error {
	for attempt := 0; ; attempt++ {
		err := s.store.Tx(ctx, fn)
		if !errors.Is(err, store.ErrConflict) || attempt == 4 {
			return err
		}
	}
}

// clientTokenLifetime is how long Proton remembers a client token.
const clientTokenLifetime = 8 * time.Hour

// forToken returns the resource a client token made (get reads it by the idempotency
// record's Resource), nil when the token is unused, expired or its resource is gone (the
// token is then forgotten), or IdempotentParameterMismatch when it came with other
// parameters.
func forToken[T any](ctx context.Context, s *Service, accountID, op, token, hash string, get func(resource string) (*T, error)) (*T, error) {
	rec, err := s.store.IdempotencyGet(ctx, accountID, op, token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.now().Sub(rec.CreatedAt) > clientTokenLifetime) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rec.ParamsHash != hash {
		return nil, api.Validationf("IdempotentParameterMismatch: client token %s was already used with other parameters", token)
	}
	v, err := get(rec.Resource)
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.store.IdempotencyDelete(ctx, accountID, op, token)
	}
	return v, err
}
