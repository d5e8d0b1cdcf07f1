// Package server is openproton's HTTP front: the awsJson1_0 Proton API, the S3-compatible
// bucket API, health and metrics on one listener.
package server

import (
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openproton/openproton/internal/api"
)

// Options wires the handler's collaborators.
type Options struct {
	Service      api.Service
	Authenticate Authenticator
	Buckets      http.Handler // S3 bucket API; nil answers 404
	MaxBody      int64        // 0 = DefaultMaxBody
	Logger       *slog.Logger
	Registry     *prometheus.Registry // nil = a private registry
	// SyncWebhook, when set, is called by POST SyncWebhookPath: a git host's push webhook
	// asks for synced branches to be looked at now.
	SyncWebhook func()
}

// SyncWebhookPath is where git hosts' push webhooks go. The request's content is not
// trusted or read: it only makes the server look at the branches it follows at once
// instead of at the next poll, so it needs no signature.
const SyncWebhookPath = "/_openproton/sync-webhook"

// Handler routes requests: Proton calls are POSTs carrying X-Amz-Target; /healthz and
// /metrics are ours; everything else is S3 (bucket names "healthz" and "metrics" are
// therefore reserved).
type Handler struct {
	proton   *protonHandler
	buckets  http.Handler
	metrics  http.Handler
	ready    atomic.Bool
	syncHook func()
}

// New builds the handler. It answers /healthz with 503 until SetReady.
func New(o Options) *Handler {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return &Handler{
		proton: &protonHandler{service: o.Service, authenticate: o.Authenticate, maxBody: o.MaxBody,
			log: o.Logger, metrics: newMetrics(o.Registry)},
		buckets:  o.Buckets,
		metrics:  promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}),
		syncHook: o.SyncWebhook,
	}
}

// SetReady marks the server ready for /healthz.
func (h *Handler) SetReady(ready bool) { h.ready.Store(ready) }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "" {
		if r.Method != http.MethodPost || r.URL.Path != "/" {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "the Proton API answers POST / only", http.StatusMethodNotAllowed)
			return
		}
		h.proton.ServeHTTP(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, LogPath) {
		h.proton.serveLog(w, r)
		return
	}
	if r.URL.Path == SyncWebhookPath {
		if r.Method != http.MethodPost || h.syncHook == nil {
			http.Error(w, "POST a push event here to sync followed branches now", http.StatusMethodNotAllowed)
			return
		}
		h.syncHook()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		switch r.URL.Path {
		case "/healthz":
			if !h.ready.Load() {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok\n"))
			return
		case "/metrics":
			h.metrics.ServeHTTP(w, r)
			return
		}
	}
	if h.buckets == nil {
		http.NotFound(w, r)
		return
	}
	h.buckets.ServeHTTP(w, r)
}
