package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/bucket"
	"github.com/openproton/openproton/internal/server"
	"github.com/openproton/openproton/internal/sigv4"
	"github.com/openproton/openproton/internal/store"
)

// keyringCredentials lets the SigV4 verifier look secrets up in the keyring.
type keyringCredentials struct{ keys *auth.Keyring }

// protonCredentials also knows deployments' own credentials, which only the Proton API
// takes.
type protonCredentials struct {
	keyringCredentials
	jobs *auth.JobKeys
}

func (p protonCredentials) SecretFor(ctx context.Context, id string) (string, error) {
	if _, _, _, ok := p.jobs.Parse(id, time.Now()); ok {
		return p.jobs.Secret(id), nil
	}
	return p.keyringCredentials.SecretFor(ctx, id)
}

func (k keyringCredentials) SecretFor(ctx context.Context, id string) (string, error) {
	key, err := k.keys.Lookup(ctx, id)
	if errors.Is(err, auth.ErrUnknownKey) {
		return "", sigv4.ErrUnknownKey
	}
	if err != nil {
		return "", err
	}
	return key.SecretAccessKey, nil
}

// protonAuthenticator verifies Proton requests and maps failures to the codes AWS's JSON
// services answer with.
func protonAuthenticator(keys *auth.Keyring, jobs *auth.JobKeys, st store.Store, region string) server.Authenticator {
	v := &sigv4.Verifier{Credentials: protonCredentials{keyringCredentials{keys}, jobs}, Service: "proton"}
	return func(r *http.Request, body []byte) (auth.Caller, error) {
		res, err := v.Verify(r, body)
		if err != nil {
			return auth.Caller{}, protonAuthError(err)
		}
		if res.Region != region {
			return auth.Caller{}, &api.ProtocolError{Code: "InvalidSignatureException", Status: http.StatusForbidden,
				Message: "Credential should be scoped to a valid region, not '" + res.Region + "'. This server serves " + region + "."}
		}
		if account, deployment, attempt, ok := jobs.Parse(res.AccessKeyID, time.Now()); ok {
			// A deployment's credential is good only while that attempt of it runs.
			d, err := st.DeploymentGet(r.Context(), account, deployment)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return auth.Caller{}, err // the database, not the credential: a 500 the client retries
			}
			if err != nil || !store.InFlight(d.Status) || d.Attempt != attempt {
				return auth.Caller{}, &api.ProtocolError{Code: "UnrecognizedClientException", Status: http.StatusForbidden,
					Message: "The security token included in the request is invalid: its deployment is no longer running."}
			}
			return auth.Caller{AccountID: account, Role: auth.RoleDeployment, AccessKeyID: res.AccessKeyID, DeploymentID: deployment}, nil
		}
		key, err := keys.Lookup(r.Context(), res.AccessKeyID)
		if err != nil {
			return auth.Caller{}, err
		}
		return auth.Caller{AccountID: key.AccountID, Role: auth.Role(key.Role), AccessKeyID: key.AccessKeyID}, nil
	}
}

func protonAuthError(err error) error {
	var e *sigv4.Error
	if !errors.As(err, &e) {
		return err // not a client error: the server logs it and answers 500
	}
	code, status := "InvalidSignatureException", http.StatusForbidden
	switch e.Kind {
	case sigv4.MissingAuth:
		code = "MissingAuthenticationTokenException"
	case sigv4.UnknownKey:
		code = "UnrecognizedClientException"
	case sigv4.Incomplete:
		code, status = "IncompleteSignatureException", http.StatusBadRequest
	}
	return &api.ProtocolError{Code: code, Status: status, Message: e.Message}
}

// s3Authenticator verifies bucket API requests with the same keys. Buckets hold template
// bundles, so only admin keys may change them; every key may read.
func s3Authenticator(keys *auth.Keyring) bucket.Verify {
	v := &sigv4.Verifier{Credentials: keyringCredentials{keys}, Service: "s3"}
	return func(r *http.Request) (io.ReadCloser, error) {
		res, body, err := v.VerifyStream(r)
		if err != nil {
			return nil, err
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			key, err := keys.Lookup(r.Context(), res.AccessKeyID)
			if err != nil {
				return nil, err
			}
			if auth.Role(key.Role) != auth.RoleAdmin {
				return nil, bucket.ErrAccessDenied
			}
		}
		return body, nil
	}
}
