package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openproton/openproton/internal/api"
)

func TestHealthzAndRouting(t *testing.T) {
	buckets := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := New(Options{Service: api.Unimplemented{}, Buckets: buckets})
	get := func(method, path string, header map[string]string) int {
		r := httptest.NewRequest(method, path, strings.NewReader("{}"))
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if c := get("GET", "/healthz", nil); c != http.StatusServiceUnavailable {
		t.Errorf("healthz before ready = %d", c)
	}
	h.SetReady(true)
	if c := get("GET", "/healthz", nil); c != http.StatusOK {
		t.Errorf("healthz when ready = %d", c)
	}
	if c := get("GET", "/metrics", nil); c != http.StatusOK {
		t.Errorf("metrics = %d", c)
	}
	if c := get("PUT", "/bucket/key", nil); c != http.StatusTeapot {
		t.Errorf("S3 request not routed to buckets: %d", c)
	}
	if c := get("POST", "/bucket?delete", nil); c != http.StatusTeapot {
		t.Errorf("S3 POST not routed to buckets: %d", c)
	}
	if c := get("GET", "/", map[string]string{"X-Amz-Target": targetPrefix + "ListEnvironments"}); c != http.StatusMethodNotAllowed {
		t.Errorf("Proton GET = %d", c)
	}
}
