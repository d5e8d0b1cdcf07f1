package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/apitest"
	"github.com/openproton/openproton/internal/auth"
)

// These tests walk the model metadata: for every operation they build a valid request, then
// break one constraint at a time and expect a ValidationException that names the member.
// The service behind is Unimplemented, so a valid request answers 501: validation must come
// first.

func adminHandler() *Handler {
	h := New(Options{
		Service: api.Unimplemented{},
		Authenticate: func(*http.Request, []byte) (auth.Caller, error) {
			return auth.Caller{AccountID: "000000000000", Role: auth.RoleAdmin, AccessKeyID: "AKIATEST"}, nil
		},
	})
	h.SetReady(true)
	return h
}

type wireResult struct {
	status int
	code   string
	msg    string
}

func call(t testing.TB, h http.Handler, op string, body []byte) wireResult {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	return wireResult{status: rec.Code, code: e.Type, msg: e.Message}
}

func TestEveryOperationValidatesItsInput(t *testing.T) {
	h := adminHandler()
	names := make([]string, 0, len(api.Operations))
	for n := range api.Operations {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) != 87 {
		t.Fatalf("operation table has %d operations, want 87", len(names))
	}
	checked := 0
	for _, name := range names {
		op := api.Operations[name]
		t.Run(name, func(t *testing.T) {
			valid := apitest.Sample(t, op.Input).(map[string]any)
			body, _ := json.Marshal(valid)
			if r := call(t, h, name, body); r.code == "ValidationException" || r.status == 500 {
				t.Fatalf("valid input %s: got %d %s %s", body, r.status, r.code, r.msg)
			}
			for _, v := range apitest.Violations(t, op.Input, valid) {
				body, _ := json.Marshal(v.Body)
				r := call(t, h, name, body)
				if r.status != 400 || r.code != "ValidationException" || !strings.Contains(r.msg, "'"+v.Path+"'") {
					t.Errorf("%s: body %s\n got %d %s %q; want 400 ValidationException naming '%s'", v.What, body, r.status, r.code, r.msg, v.Path)
				}
				checked++
			}
		})
	}
	t.Logf("checked %d constraint violations across %d operations", checked, len(names))
}

func TestMalformedBodiesAreClientErrors(t *testing.T) {
	h := adminHandler()
	for _, tc := range []struct {
		body string
		code string
	}{
		{`{"name": `, "SerializationException"},
		{`[1,2]`, "SerializationException"},
		{`{"name": 5, "templateName": "t"}`, "SerializationException"},
		{`{"maxResults": "ten"}`, "SerializationException"},
		{`{"maxResults": 1.5}`, "SerializationException"},
		{`not json`, "SerializationException"},
	} {
		op := "CreateEnvironmentTemplate"
		if strings.Contains(tc.body, "maxResults") {
			op = "ListEnvironmentTemplates"
		}
		r := call(t, h, op, []byte(tc.body))
		if r.status != 400 || r.code != tc.code {
			t.Errorf("%s %s: got %d %s %q, want 400 %s", op, tc.body, r.status, r.code, r.msg, tc.code)
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	h := adminHandler()
	r := call(t, h, "DescribeNothing", []byte(`{}`))
	if r.status != 400 || r.code != "UnknownOperationException" {
		t.Errorf("unknown operation: got %d %s", r.status, r.code)
	}

	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "SomethingElse.ListEnvironments")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 400 || rec.Header().Get("X-Amzn-ErrorType") != "UnknownOperationException" {
		t.Errorf("wrong target prefix: got %d %q", rec.Code, rec.Header().Get("X-Amzn-ErrorType"))
	}

	big := fmt.Sprintf(`{"name": "n", "description": %q}`, strings.Repeat("x", DefaultMaxBody))
	r = call(t, h, "CreateEnvironmentTemplate", []byte(big))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: got %d %s", r.status, r.code)
	}

	r = call(t, h, "ListEnvironments", []byte(`{}`))
	if r.status != 501 || r.code != "NotImplementedException" || !strings.Contains(r.msg, "ListEnvironments") {
		t.Errorf("unimplemented operation: got %d %s %q", r.status, r.code, r.msg)
	}

	req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", targetPrefix+"GetAccountSettings")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("x-amzn-RequestId") == "" || rec.Header().Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("response headers: %v", rec.Header())
	}
}
