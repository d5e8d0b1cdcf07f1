package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/auth"
)

// targetPrefix is the X-Amz-Target prefix of the Proton API (awsJson1_0).
const targetPrefix = "AwsProton20200720."

// DefaultMaxBody bounds a Proton request body. The largest members (template files, specs)
// are 51,200 characters each, so 2 MiB leaves room without letting a client exhaust memory.
const DefaultMaxBody = 2 << 20

// Authenticator verifies a request's signature and returns its caller; its errors are wire
// errors (api.Error) so they reach the client as AWS would send them.
type Authenticator func(r *http.Request, body []byte) (auth.Caller, error)

// protonHandler serves the awsJson1_0 Proton API.
type protonHandler struct {
	service      api.Service
	authenticate Authenticator
	maxBody      int64
	log          *slog.Logger
	metrics      *metrics
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (h *protonHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", requestID)
	opName := "unknown"
	status := http.StatusOK
	defer func() { h.metrics.observe(opName, status) }()

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.maxBody)); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			status = h.writeError(w, &api.ProtocolError{Code: "RequestEntityTooLargeException", Status: http.StatusRequestEntityTooLarge,
				Message: "Request body is larger than the limit of " + itoa(h.maxBody) + " bytes"})
			return
		}
		status = h.writeError(w, &api.ProtocolError{Code: "SerializationException", Status: http.StatusBadRequest, Message: "could not read request body"})
		return
	}
	body := buf.Bytes()

	caller, err := h.authenticate(r, body)
	if err != nil {
		status = h.fail(r.Context(), w, nil, err, requestID)
		return
	}

	target := r.Header.Get("X-Amz-Target")
	op := api.Operations[strings.TrimPrefix(target, targetPrefix)]
	if op == nil || !strings.HasPrefix(target, targetPrefix) {
		status = h.writeError(w, &api.ProtocolError{Code: "UnknownOperationException", Status: http.StatusBadRequest,
			Message: "Unknown operation " + quoteTarget(target)})
		return
	}
	opName = op.Name

	if !caller.Role.Allows(op) {
		status = h.writeError(w, api.AccessDeniedf("User: %s is not authorized to perform: proton:%s (role %s)", caller.AccessKeyID, op.Name, caller.Role).(api.Error))
		return
	}

	in := op.NewInput()
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, in); err != nil {
			status = h.writeError(w, serializationError(err))
			return
		}
	}
	if err := in.Validate(); err != nil {
		status = h.fail(r.Context(), w, op, err, requestID)
		return
	}

	ctx := auth.WithCaller(r.Context(), caller)
	out, err := op.Invoke(ctx, h.service, in)
	if err != nil {
		status = h.fail(ctx, w, op, err, requestID)
		return
	}
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		status = h.fail(ctx, w, op, err, requestID)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("Content-Length", itoa(int64(buf.Len())))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// fail writes err as the wire error op may answer with; anything that is not a wire error
// is an internal error, logged with the request id and hidden from the client.
func (h *protonHandler) fail(ctx context.Context, w http.ResponseWriter, op *api.Operation, err error, requestID string) int {
	e, ok := api.AsError(err)
	if !ok {
		h.log.ErrorContext(ctx, "operation failed", "request_id", requestID, "err", err)
		return h.writeError(w, &api.ProtocolError{Code: "InternalServerException", Status: http.StatusInternalServerError, Message: "internal error (request " + requestID + ")"})
	}
	if op != nil {
		e = api.Restrict(op, e)
	}
	return h.writeError(w, e)
}

func (h *protonHandler) writeError(w http.ResponseWriter, e api.Error) int {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.ErrorCode(), e.ErrorMessage()})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-ErrorType", e.ErrorCode())
	w.Header().Set("Content-Length", itoa(int64(len(body))))
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(body)
	return e.HTTPStatus()
}

// serializationError describes a body that is not JSON of the operation's shape.
func serializationError(err error) api.Error {
	msg := "Request body is not valid JSON"
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field != "" {
			msg = "Unexpected value type for '" + typeErr.Field + "': got JSON " + typeErr.Value + ", want " + jsonKind(typeErr.Type.Kind().String())
		} else {
			msg = "Request body must be a JSON object"
		}
	} else if !errors.Is(err, io.ErrUnexpectedEOF) {
		var syntaxErr *json.SyntaxError
		if !errors.As(err, &syntaxErr) {
			// Errors from custom decoders (timestamps) carry a useful message.
			msg = err.Error()
		}
	}
	return &api.ProtocolError{Code: "SerializationException", Status: http.StatusBadRequest, Message: msg}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int32", "int64", "int", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "struct", "ptr", "map":
		return "object"
	}
	return goKind
}

func quoteTarget(t string) string {
	if t == "" {
		return "(no X-Amz-Target header)"
	}
	if len(t) > 200 {
		t = t[:200]
	}
	return "'" + t + "'"
}
