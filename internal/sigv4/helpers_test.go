package sigv4

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/logging"
)

type creds map[string]string

func (c creds) SecretFor(_ context.Context, id string) (string, error) {
	if s, ok := c[id]; ok {
		return s, nil
	}
	return "", ErrUnknownKey
}

const (
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var (
	testCreds = creds{testKeyID: testSecret}
	now       = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
)

func verifier(service string) *Verifier {
	return &Verifier{Credentials: testCreds, Service: service, Now: func() time.Time { return now }}
}

// sdkSign signs req with the AWS SDK's own signer, the oracle, and returns the canonical
// request the SDK built, for diagnosing disagreements.
func sdkSign(t testing.TB, req *http.Request, service, payloadHash string, at time.Time) string {
	t.Helper()
	var logged string
	signer := v4.NewSigner(func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = service == "s3"
		o.LogSigning = true
		o.Logger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
			if len(v) > 0 {
				logged, _ = v[0].(string)
			}
		})
	})
	err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret},
		req, payloadHash, service, "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return logged
}

// ourCanonical is the canonical request this package builds for a request as received.
func ourCanonical(r *http.Request, service, payloadHash string) string {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return "unparseable Authorization: " + err.Error()
	}
	return string(appendCanonicalRequest(nil, r, a.signedHeaders, payloadHash, service == "s3"))
}

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func wantKind(t *testing.T, err error, want Kind) {
	t.Helper()
	if got := kindOf(err); got != want {
		t.Errorf("err = %v (kind %v), want kind %v", err, got, want)
	}
	if err != nil && strings.Contains(err.Error(), testSecret) {
		t.Errorf("error leaks the secret: %v", err)
	}
}
