package bucket

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/openproton/openproton/internal/sigv4"
)

// ErrAccessDenied is what a Verify returns for a caller not allowed the request.
var ErrAccessDenied = errors.New("Access Denied")

// S3Code maps a verification failure to the error code and HTTP status S3 answers it with.
// Errors that are neither a *sigv4.Error nor ErrAccessDenied are the server's own: 500.
func S3Code(err error) (code string, status int) {
	if errors.Is(err, ErrAccessDenied) {
		return "AccessDenied", http.StatusForbidden
	}
	var e *sigv4.Error
	if !errors.As(err, &e) {
		return "InternalError", http.StatusInternalServerError
	}
	switch e.Kind {
	case sigv4.MissingAuth:
		return "AccessDenied", http.StatusForbidden
	case sigv4.Incomplete:
		return "AuthorizationHeaderMalformed", http.StatusBadRequest
	case sigv4.UnknownKey:
		return "InvalidAccessKeyId", http.StatusForbidden
	case sigv4.Expired:
		return "RequestTimeTooSkewed", http.StatusForbidden
	case sigv4.BadPayloadHash:
		return "XAmzContentSHA256Mismatch", http.StatusBadRequest
	case sigv4.BadChecksum:
		return "BadDigest", http.StatusBadRequest
	case sigv4.BadBody:
		return "IncompleteBody", http.StatusBadRequest
	}
	return "SignatureDoesNotMatch", http.StatusForbidden
}

// s3Messages are S3's own wording where the verifier's, which follows the JSON services,
// would differ or where the error's text is not for clients.
var s3Messages = map[string]string{
	"AccessDenied":       "Access Denied",
	"InvalidAccessKeyId": "The AWS Access Key Id you provided does not exist in our records.",
	"InternalError":      "We encountered an internal error. Please try again.",
}

// s3Error is S3's XML error body.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, r *http.Request, err error, log *slog.Logger) {
	code, status := S3Code(err)
	msg, ok := s3Messages[code]
	if !ok {
		msg = err.Error() // the verifier's messages say what was wrong and never hold a secret
	}
	id := requestID()
	if status == http.StatusInternalServerError {
		log.ErrorContext(r.Context(), "s3 request authentication failed", "err", err, "request_id", id)
	} else {
		log.DebugContext(r.Context(), "s3 request refused", "code", code, "msg", err.Error(), "method", r.Method, "path", r.URL.Path)
	}
	body, _ := xml.Marshal(s3Error{Code: code, Message: msg, Resource: r.URL.Path, RequestID: id})
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", id)
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(xml.Header))
		_, _ = w.Write(body)
	}
}

func requestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
