package bucket

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openproton/openproton/internal/sigv4"
)

func TestS3Code(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   string
		status int
	}{
		{&sigv4.Error{Kind: sigv4.MissingAuth}, "AccessDenied", 403},
		{&sigv4.Error{Kind: sigv4.Incomplete}, "AuthorizationHeaderMalformed", 400},
		{&sigv4.Error{Kind: sigv4.UnknownKey}, "InvalidAccessKeyId", 403},
		{&sigv4.Error{Kind: sigv4.BadSignature}, "SignatureDoesNotMatch", 403},
		{&sigv4.Error{Kind: sigv4.Expired}, "RequestTimeTooSkewed", 403},
		{&sigv4.Error{Kind: sigv4.BadPayloadHash}, "XAmzContentSHA256Mismatch", 400},
		{&sigv4.Error{Kind: sigv4.BadChecksum}, "BadDigest", 400},
		{&sigv4.Error{Kind: sigv4.BadBody}, "IncompleteBody", 400},
		{fmt.Errorf("role check: %w", ErrAccessDenied), "AccessDenied", 403},
		{errors.New("database is down"), "InternalError", 500},
	} {
		if code, status := S3Code(tc.err); code != tc.code || status != tc.status {
			t.Errorf("S3Code(%v) = %s %d, want %s %d", tc.err, code, status, tc.code, tc.status)
		}
	}
}

// Errors are S3's XML; internal failures say nothing of their cause to the client.
func TestErrorResponses(t *testing.T) {
	b, err := Open(t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, tc := range []struct {
		err      error
		method   string
		wantCode string
		wantMsg  string
	}{
		{&sigv4.Error{Kind: sigv4.Expired, Message: "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001500Z - 15 min.)"},
			"GET", "RequestTimeTooSkewed", "Signature expired: 20260101T000000Z"},
		{&sigv4.Error{Kind: sigv4.UnknownKey, Message: "The security token included in the request is invalid."},
			"GET", "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."},
		{errors.New("lookup failed: secret=hunter2"), "PUT", "InternalError", "We encountered an internal error. Please try again."},
		{&sigv4.Error{Kind: sigv4.BadSignature}, "HEAD", "", ""},
	} {
		h := b.Handler(func(*http.Request) (io.ReadCloser, error) { return nil, tc.err })
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, "/bucket/key", nil))
		if w.Header().Get("X-Amz-Request-Id") == "" {
			t.Errorf("%v: no request id", tc.err)
		}
		if tc.method == "HEAD" {
			if w.Code != 403 || w.Body.Len() != 0 {
				t.Errorf("HEAD: %d with %d body bytes", w.Code, w.Body.Len())
			}
			continue
		}
		var e s3Error
		if err := xml.Unmarshal(w.Body.Bytes(), &e); err != nil {
			t.Fatalf("%v: %v\n%s", tc.err, err, w.Body)
		}
		if e.Code != tc.wantCode || !strings.HasPrefix(e.Message, tc.wantMsg) || e.Resource != "/bucket/key" || e.RequestID == "" {
			t.Errorf("%v: %+v", tc.err, e)
		}
		if strings.Contains(w.Body.String(), "hunter2") {
			t.Errorf("internal error leaked: %s", w.Body)
		}
	}
}
