package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/auth"
)

// rawCall sends a Proton request signed (or not) by hand, returning status and __type.
func rawCall(t *testing.T, srv *testServer, op, body string, sign func(*http.Request, string)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AwsProton20200720."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	if sign != nil {
		sign(req, body)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Type string `json:"__type"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.Header.Get("X-Amzn-ErrorType") != e.Type {
		t.Errorf("X-Amzn-ErrorType %q differs from __type %q", resp.Header.Get("X-Amzn-ErrorType"), e.Type)
	}
	return resp.StatusCode, e.Type
}

func signer(keyID, secret string, at time.Time) func(*http.Request, string) {
	return func(r *http.Request, body string) {
		sum := sha256.Sum256([]byte(body))
		hash := hex.EncodeToString(sum[:])
		r.Header.Set("X-Amz-Content-Sha256", hash)
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
			r, hash, "proton", region, at)
		if err != nil {
			panic(err)
		}
	}
}

func TestAuthenticationFailures(t *testing.T) {
	srv := startServer(t, "")
	now := time.Now()
	for _, tc := range []struct {
		name string
		sign func(*http.Request, string)
		code string
	}{
		{"unsigned", nil, "MissingAuthenticationTokenException"},
		{"unknown key", signer("AKIANOSUCHKEY0000000", rootSecret, now), "UnrecognizedClientException"},
		{"wrong secret", signer(rootKeyID, "not-the-secret", now), "InvalidSignatureException"},
		{"expired", signer(rootKeyID, rootSecret, now.Add(-20*time.Minute)), "InvalidSignatureException"},
		{"from the future", signer(rootKeyID, rootSecret, now.Add(20*time.Minute)), "InvalidSignatureException"},
		{"body changed after signing", func(r *http.Request, body string) {
			signer(rootKeyID, rootSecret, now)(r, body)
			r.Body = ioNopCloser(`{"nextToken":"x"}`)
			r.ContentLength = int64(len(`{"nextToken":"x"}`))
		}, "InvalidSignatureException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code := rawCall(t, srv, "ListEnvironmentTemplates", `{}`, tc.sign)
			if status != http.StatusForbidden || code != tc.code {
				t.Errorf("got %d %s, want 403 %s", status, code, tc.code)
			}
		})
	}
	status, code := rawCall(t, srv, "ListEnvironmentTemplates", `{}`, signer(rootKeyID, rootSecret, now))
	if status != 200 {
		t.Errorf("correctly signed request: %d %s", status, code)
	}
}

func ioNopCloser(s string) *nopCloser { return &nopCloser{bytes.NewReader([]byte(s))} }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func TestSDKAuthErrors(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	_, err := srv.client("AKIANOSUCHKEY0000000", "x").ListEnvironmentTemplates(ctx, &proton.ListEnvironmentTemplatesInput{})
	if apiCode(err) != "UnrecognizedClientException" {
		t.Errorf("unknown key: %v", err)
	}
	_, err = srv.client(rootKeyID, "wrong").ListEnvironmentTemplates(ctx, &proton.ListEnvironmentTemplatesInput{})
	if apiCode(err) != "InvalidSignatureException" {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestRolesLimitWhoChangesTemplates(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	if _, err := srv.admin().CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: aws.String("base")}); err != nil {
		t.Fatal(err)
	}
	devID, devSecret := srv.newKey(t, accountID, auth.RoleDeveloper)
	dev := srv.client(devID, devSecret)
	_, err := dev.CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: aws.String("mine")})
	var denied *types.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Errorf("developer creating a template: %v, want AccessDeniedException", err)
	}
	_, err = dev.DeleteEnvironmentTemplate(ctx, &proton.DeleteEnvironmentTemplateInput{Name: aws.String("base")})
	if !errors.As(err, &denied) {
		t.Errorf("developer deleting a template: %v, want AccessDeniedException", err)
	}
	if out, err := dev.ListEnvironmentTemplates(ctx, &proton.ListEnvironmentTemplatesInput{}); err != nil || len(out.Templates) != 1 {
		t.Errorf("developer listing templates: %v %v", out, err)
	}

	roID, roSecret := srv.newKey(t, accountID, auth.RoleReadOnly)
	ro := srv.client(roID, roSecret)
	_, err = ro.TagResource(ctx, &proton.TagResourceInput{ResourceArn: aws.String("arn:aws:proton:us-east-1:000000000000:environment-template/base"),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if !errors.As(err, &denied) {
		t.Errorf("read-only tagging: %v, want AccessDeniedException", err)
	}
	if _, err := ro.GetAccountSettings(ctx, &proton.GetAccountSettingsInput{}); err != nil {
		t.Errorf("read-only reading settings: %v", err)
	}
}

func TestAccountsAreIsolated(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	if _, err := srv.admin().CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: aws.String("shared-name")}); err != nil {
		t.Fatal(err)
	}
	otherID, otherSecret := srv.newKey(t, "111111111111", auth.RoleAdmin)
	other := srv.client(otherID, otherSecret)

	_, err := other.GetEnvironmentTemplate(ctx, &proton.GetEnvironmentTemplateInput{Name: aws.String("shared-name")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("other account reading: %v, want ResourceNotFoundException", err)
	}
	_, err = other.ListTagsForResource(ctx, &proton.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:proton:us-east-1:000000000000:environment-template/shared-name")})
	if !errors.As(err, &nf) {
		t.Errorf("other account listing tags: %v, want ResourceNotFoundException", err)
	}
	// The same name is free in the other account, with its own ARN.
	out, err := other.CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: aws.String("shared-name")})
	if err != nil {
		t.Fatalf("other account creating the same name: %v", err)
	}
	if got := aws.ToString(out.EnvironmentTemplate.Arn); got != "arn:aws:proton:us-east-1:111111111111:environment-template/shared-name" {
		t.Errorf("arn = %s", got)
	}
	settingsRole := "arn:aws:iam::111111111111:role/p"
	if _, err := other.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineServiceRoleArn: &settingsRole}); err != nil {
		t.Fatal(err)
	}
	mine, _ := srv.admin().GetAccountSettings(ctx, &proton.GetAccountSettingsInput{})
	if mine.AccountSettings.PipelineServiceRoleArn != nil {
		t.Errorf("another account's settings leaked: %v", *mine.AccountSettings.PipelineServiceRoleArn)
	}
}

func timeNow() time.Time { return time.Now() }
