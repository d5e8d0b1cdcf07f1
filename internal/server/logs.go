package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/auth"
)

// DeploymentLogs is implemented by a Service that keeps deployments' captured output.
type DeploymentLogs interface {
	DeploymentLog(ctx context.Context, id string) ([]byte, error)
}

// LogPath is where a deployment's log is read: GET LogPath + id + "/log", signed like a
// Proton request (service "proton"). S3 bucket names cannot start with "_", so the path
// never shadows a bucket.
const LogPath = "/_openproton/deployments/"

// serveLog answers GET LogPath{id}/log with the deployment's captured output as text. Any
// key that may call GetDeployment may read it.
func (h *protonHandler) serveLog(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", requestID)
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "deployment logs answer GET only", http.StatusMethodNotAllowed)
		return
	}
	id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, LogPath), "/log")
	if !ok || id == "" || strings.Contains(id, "/") {
		http.NotFound(w, r)
		return
	}
	caller, err := h.authenticate(r, nil)
	if err != nil {
		h.fail(r.Context(), w, nil, err, requestID)
		return
	}
	get := api.Operations["GetDeployment"]
	if !caller.Role.Allows(get) {
		h.writeError(w, api.AccessDeniedf("User: %s is not authorized to read deployment logs (role %s)", caller.AccessKeyID, caller.Role).(api.Error))
		return
	}
	logs, ok := h.service.(DeploymentLogs)
	if !ok {
		h.writeError(w, api.NotImplemented("deployment logs"))
		return
	}
	log, err := logs.DeploymentLog(auth.WithCaller(r.Context(), caller), id)
	if err != nil {
		h.fail(r.Context(), w, get, err, requestID)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(log)
}
