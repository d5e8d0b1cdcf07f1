package pullrequest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	testHead = "proton--proton-environment-0b7c3c36-5d0e-4a55-9a43-3b1f6a0f2c11"
	testBase = "main"
)

func testRequest(f *fake) *Request {
	return &Request{Repository: f.repo, Head: testHead, Base: testBase, Title: "Deploy environment dev", Body: "Opened by openproton."}
}

// dialect is one host flavour with the requests it must receive.
type dialect struct {
	name      string
	kind      Kind
	configure []func(*fake)
	openBody  func(*Request) map[string]any
	// closing: method, path after the pull request's own, and body of the close request
	closeMethod, closeSuffix string
	closeBody                map[string]any
}

var (
	githubOpenBody = func(r *Request) map[string]any {
		return map[string]any{"title": r.Title, "body": r.Body, "head": r.Head, "base": r.Base}
	}
	bitbucketOpenBody = func(r *Request) map[string]any {
		return map[string]any{
			"title": r.Title, "description": r.Body,
			"source":      map[string]any{"branch": map[string]any{"name": r.Head}},
			"destination": map[string]any{"branch": map[string]any{"name": r.Base}},
		}
	}
)

var dialects = []dialect{{
	name: "github", kind: GitHub, openBody: githubOpenBody,
	closeMethod: http.MethodPatch, closeBody: map[string]any{"state": "closed"},
}, {
	name: "gitea", kind: GitHub, configure: []func(*fake){func(f *fake) { f.gitea = true }}, openBody: githubOpenBody,
	closeMethod: http.MethodPatch, closeBody: map[string]any{"state": "closed"},
}, {
	name: "gitlab", kind: GitLab,
	openBody: func(r *Request) map[string]any {
		return map[string]any{"source_branch": r.Head, "target_branch": r.Base, "title": r.Title, "description": r.Body}
	},
	closeMethod: http.MethodPut, closeBody: map[string]any{"state_event": "close"},
}, {
	name: "bitbucket", kind: Bitbucket, openBody: bitbucketOpenBody,
	closeMethod: http.MethodPost, closeSuffix: "/decline",
}, {
	name: "bitbucket answering a duplicate with the open one", kind: Bitbucket,
	configure: []func(*fake){func(f *fake) { f.bitbucketDuplicateOK = true }}, openBody: bitbucketOpenBody,
	closeMethod: http.MethodPost, closeSuffix: "/decline",
}}

// seedOthers fills the repository with pull requests that are not the deployment's.
func seedOthers(f *fake) {
	f.seed("feature-a", testBase, Open)
	f.seed("feature-b", testBase, Merged)
}

func checkHeaders(t *testing.T, d dialect, r recorded) {
	t.Helper()
	if got, want := r.Header.Get("Authorization"), "Bearer "+testToken; got != want {
		t.Errorf("%s %s: Authorization = %q, want %q", r.Method, r.Path, got, want)
	}
	if r.Body != nil && r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s: Content-Type = %q, want application/json", r.Method, r.Path, r.Header.Get("Content-Type"))
	}
	if d.kind == GitHub {
		if got := r.Header.Get("Accept"); got != "application/vnd.github+json" {
			t.Errorf("%s %s: Accept = %q", r.Method, r.Path, got)
		}
		if got := r.Header.Get("X-GitHub-Api-Version"); got != "2022-11-28" {
			t.Errorf("%s %s: X-GitHub-Api-Version = %q", r.Method, r.Path, got)
		}
	}
}

func TestLifecycle(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			f, api := newFake(t, d.kind, d.configure...)
			seedOthers(f)
			ctx := t.Context()
			req := testRequest(f)

			pr, err := api.Open(ctx, req)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			want := &PullRequest{Kind: d.kind, Repository: f.repo, Number: 3, URL: f.webURL(&fakePR{num: 3})}
			if diff := cmp.Diff(want, pr); diff != "" {
				t.Fatalf("Open (-want +got):\n%s", diff)
			}
			writes := f.writes()
			if len(writes) != 1 {
				t.Fatalf("Open sent %d writes, want 1: %+v", len(writes), writes)
			}
			if w := writes[0]; w.Method != http.MethodPost || w.Path != f.repoPath() {
				t.Errorf("Open sent %s %s, want POST %s", w.Method, w.Path, f.repoPath())
			}
			if diff := cmp.Diff(d.openBody(req), writes[0].Body); diff != "" {
				t.Errorf("Open body (-want +got):\n%s", diff)
			}

			if st, err := api.State(ctx, pr); err != nil || st != Open {
				t.Fatalf("State after Open = %q, %v; want open", st, err)
			}

			// A newer pull request from the same branch into another base: a lookup
			// must pass it over.
			sibling := f.seed(testHead, "release", Open).num

			// A retry (the first answer was lost) takes the same pull request.
			again, err := api.Open(ctx, req)
			if err != nil {
				t.Fatalf("second Open: %v", err)
			}
			if diff := cmp.Diff(pr, again); diff != "" {
				t.Errorf("second Open (-first +second):\n%s", diff)
			}
			if n := f.count(); n != 4 {
				t.Errorf("the host holds %d pull requests after the retry, want 4 (no new one)", n)
			}

			if err := api.Close(ctx, pr); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if st := f.stateOf(pr.Number); st != Closed {
				t.Errorf("the host has it %q after Close, want closed", st)
			}
			if st, err := api.State(ctx, pr); err != nil || st != Closed {
				t.Errorf("State after Close = %q, %v; want closed", st, err)
			}
			if err := api.Close(ctx, pr); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if st := f.stateOf(sibling); st != Open {
				t.Errorf("Close touched another pull request from the branch: it is %q", st)
			}

			// Exactly one close reached the host: the second Close saw it closed.
			prPath := f.repoPath() + "/3" + d.closeSuffix
			var closes []recorded
			for _, w := range f.writes() {
				if w.Path == prPath {
					closes = append(closes, w)
				}
			}
			if len(closes) != 1 || closes[0].Method != d.closeMethod {
				t.Fatalf("close requests to %s: %+v, want one %s", prPath, closes, d.closeMethod)
			}
			if diff := cmp.Diff(d.closeBody, closes[0].Body); diff != "" {
				t.Errorf("close body (-want +got):\n%s", diff)
			}
			for _, r := range f.requests() {
				checkHeaders(t, d, r)
			}
		})
	}
}

func TestMerged(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			f, api := newFake(t, d.kind, d.configure...)
			ctx := t.Context()
			pr, err := api.Open(ctx, testRequest(f))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			f.setState(pr.Number, Merged)
			if st, err := api.State(ctx, pr); err != nil || st != Merged {
				t.Fatalf("State = %q, %v; want merged", st, err)
			}
			if err := api.Close(ctx, pr); !errors.Is(err, ErrMerged) {
				t.Fatalf("Close of a merged one = %v, want ErrMerged", err)
			}
			if n := len(f.writes()); n != 1 {
				t.Errorf("%d writes reached the host, want only the open", n)
			}
			if st := f.stateOf(pr.Number); st != Merged {
				t.Errorf("the host has it %q, want merged", st)
			}
		})
	}
}

// TestCloseRace has the pull request merged or closed on the host while Close is on its
// way: the host's final word decides.
func TestCloseRace(t *testing.T) {
	for _, race := range []struct {
		to   State
		want error
	}{{Merged, ErrMerged}, {Closed, nil}} {
		for _, d := range dialects {
			t.Run(string(race.to)+"/"+d.name, func(t *testing.T) {
				f, api := newFake(t, d.kind, d.configure...)
				ctx := t.Context()
				pr, err := api.Open(ctx, testRequest(f))
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				f.beforeClose = func(p *fakePR) { p.state = race.to }
				err = api.Close(ctx, pr)
				if race.want == nil && err != nil || race.want != nil && !errors.Is(err, race.want) {
					t.Fatalf("Close = %v, want %v", err, race.want)
				}
			})
		}
	}
}

// TestOpenAfterMerge retries an Open whose pull request was merged in between: the
// host refuses a new one, there being nothing left to pull, and the merged one is the
// answer. (GitLab opens an empty merge request instead, so it is not here.)
func TestOpenAfterMerge(t *testing.T) {
	for _, d := range dialects {
		if d.kind == GitLab {
			continue
		}
		t.Run(d.name, func(t *testing.T) {
			f, api := newFake(t, d.kind, d.configure...)
			seedOthers(f)
			ctx := t.Context()
			pr, err := api.Open(ctx, testRequest(f))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			f.setState(pr.Number, Merged)
			f.seed("feature-c", testBase, Open) // the merged one is on a later page for Gitea
			again, err := api.Open(ctx, testRequest(f))
			if err != nil {
				t.Fatalf("second Open: %v", err)
			}
			if diff := cmp.Diff(pr, again); diff != "" {
				t.Errorf("second Open (-first +second):\n%s", diff)
			}
			if st, err := api.State(ctx, again); err != nil || st != Merged {
				t.Errorf("State = %q, %v; want merged", st, err)
			}
		})
	}
}

// TestStates maps each host's states, as single and listed pull requests carry them.
func TestStates(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		body string
		want State // "" = an error
	}{
		{GitHub, `{"state":"open","merged":false,"merged_at":null}`, Open},
		{GitHub, `{"state":"closed","merged":false,"merged_at":null}`, Closed},
		{GitHub, `{"state":"closed","merged":true,"merged_at":"2024-05-01T10:00:00Z"}`, Merged},
		{GitHub, `{"state":"closed","merged_at":"2024-05-01T10:00:00Z"}`, Merged}, // a list entry
		{GitHub, `{"state":"draft"}`, ""},
		{GitLab, `{"state":"opened"}`, Open},
		{GitLab, `{"state":"locked"}`, Open},
		{GitLab, `{"state":"merged"}`, Merged},
		{GitLab, `{"state":"closed"}`, Closed},
		{GitLab, `{"state":"all"}`, ""},
		{Bitbucket, `{"state":"OPEN"}`, Open},
		{Bitbucket, `{"state":"MERGED"}`, Merged},
		{Bitbucket, `{"state":"DECLINED"}`, Closed},
		{Bitbucket, `{"state":"SUPERSEDED"}`, Closed},
		{Bitbucket, `{"state":""}`, ""},
	} {
		var got State
		var err error
		switch c.kind {
		case GitHub:
			var p ghPull
			if err = json.Unmarshal([]byte(c.body), &p); err == nil {
				got, err = p.state()
			}
		case GitLab:
			var m glMR
			if err = json.Unmarshal([]byte(c.body), &m); err == nil {
				got, err = m.state()
			}
		case Bitbucket:
			var p bbPR
			if err = json.Unmarshal([]byte(c.body), &p); err == nil {
				got, err = p.state()
			}
		}
		if c.want == "" && err == nil || c.want != "" && (err != nil || got != c.want) {
			t.Errorf("%s %s: state = %q, %v; want %q", c.kind, c.body, got, err, c.want)
		}
	}
}

// TestPick: a retry takes the open pull request from its branch, else the newest.
func TestPick(t *testing.T) {
	c := func(n int64, st State) candidate { return candidate{PullRequest{Number: n}, st} }
	for _, tc := range []struct {
		cs   []candidate
		want int64 // 0 = none
	}{
		{nil, 0},
		{[]candidate{c(3, Closed)}, 3},
		{[]candidate{c(3, Open), c(5, Closed)}, 3},
		{[]candidate{c(5, Closed), c(3, Open)}, 3},
		{[]candidate{c(3, Merged), c(5, Closed)}, 5},
	} {
		got := pick(tc.cs)
		if tc.want == 0 && got != nil || tc.want != 0 && (got == nil || got.Number != tc.want) {
			t.Errorf("pick(%v) = %v, want #%d", tc.cs, got, tc.want)
		}
	}
}

// TestGiteaForeignNextPage: a next page on another host is not followed, so the token
// goes nowhere else.
func TestGiteaForeignNextPage(t *testing.T) {
	var foreign atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreign.Add(1)
		w.Write([]byte("[]"))
	}))
	defer other.Close()
	f, api := newFake(t, GitHub, func(f *fake) { f.gitea = true; f.nextOrigin = other.URL })
	f.seed("feature-a", testBase, Open)
	f.seed("feature-b", testBase, Open)
	f.seed(testHead, testBase, Open) // on page 2, behind the foreign link

	_, err := api.Open(t.Context(), testRequest(f))
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusConflict {
		t.Fatalf("Open = %v, want the 409 refusal to stand", err)
	}
	if n := foreign.Load(); n != 0 {
		t.Errorf("the foreign host got %d requests", n)
	}
}

func TestHTTPErrors(t *testing.T) {
	hostWords := map[Kind]map[int]string{
		GitHub:    {401: "Bad credentials", 404: "Not Found"},
		GitLab:    {401: "401 Unauthorized", 404: "404 Project Not Found"},
		Bitbucket: {401: "Access token expired or invalid", 404: "Repository not found"},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			f, api := newFake(t, d.kind, d.configure...)
			ctx := t.Context()
			pr, err := api.Open(ctx, testRequest(f))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			const wrong = "wrong-t0ken-that-must-not-leak"
			bad := *api
			bad.Token = wrong
			missing := testRequest(f)
			missing.Repository = strings.Replace(f.repo, "infra", "missing", 1)
			unknown := *pr
			unknown.Number = 99

			for _, c := range []struct {
				name   string
				call   func() error
				status int
			}{
				{"open with a bad token", func() error { _, err := bad.Open(ctx, testRequest(f)); return err }, 401},
				{"state with a bad token", func() error { _, err := bad.State(ctx, pr); return err }, 401},
				{"close with a bad token", func() error { return bad.Close(ctx, pr) }, 401},
				{"open in a missing repository", func() error { _, err := api.Open(ctx, missing); return err }, 404},
				{"state of an unknown one", func() error { _, err := api.State(ctx, &unknown); return err }, 404},
			} {
				err := c.call()
				var he *HTTPError
				if !errors.As(err, &he) || he.StatusCode != c.status {
					t.Errorf("%s = %v, want an HTTPError %d", c.name, err, c.status)
					continue
				}
				msg := err.Error()
				words := hostWords[d.kind][c.status]
				if c.name == "state of an unknown one" {
					words = "Not Found"
				}
				for _, part := range []string{strconv.Itoa(c.status), words} {
					if !strings.Contains(msg, part) {
						t.Errorf("%s: error %q lacks %q", c.name, msg, part)
					}
				}
				if strings.Contains(msg, wrong) || strings.Contains(msg, testToken) {
					t.Errorf("%s: error %q shows a token", c.name, msg)
				}
			}
			if st := f.stateOf(pr.Number); st != Open {
				t.Errorf("refused calls changed the pull request to %q", st)
			}
		})
	}
}

// TestErrorMessageRedacted: a host echoing the token, even where the message is cut,
// does not put it in the error.
func TestErrorMessageRedacted(t *testing.T) {
	for _, c := range []struct{ name, message string }{
		{"echoed", "token " + testToken + " lacks the repo scope " + strings.Repeat("x", 2000)},
		{"at the cut", strings.Repeat("x", maxMessage-6) + testToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusForbidden)
				json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"message": c.message}})
			}))
			defer srv.Close()
			api := &API{Kind: Bitbucket, BaseURL: srv.URL, Token: testToken}
			_, err := api.State(t.Context(), &PullRequest{Kind: Bitbucket, Repository: "acme/infra", Number: 1})
			var he *HTTPError
			if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
				t.Fatalf("State = %v, want an HTTPError 403", err)
			}
			if strings.Contains(err.Error(), testToken[:6]) {
				t.Errorf("error %q shows (part of) the token", err)
			}
			if len(he.Message) > maxMessage+len("…") {
				t.Errorf("message is %d bytes, want at most about %d", len(he.Message), maxMessage)
			}
			if !strings.Contains(err.Error(), "xxxx") {
				t.Errorf("error %q lost the host's words", err)
			}
		})
	}
}

func TestHostMessage(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"github validation", `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:b."}],"documentation_url":"x"}`,
			"Validation Failed: A pull request already exists for acme:b."},
		{"github field error", `{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"head","code":"invalid"}]}`,
			"Validation Failed: invalid"},
		{"gitlab list", `{"message":["Another open merge request already exists for this source branch: !7"]}`,
			"Another open merge request already exists for this source branch: !7"},
		{"gitlab fields", `{"message":{"source_branch":["is invalid"],"title":["can't be blank"]}}`,
			"source_branch is invalid: title can't be blank"},
		{"gitlab oauth", `{"error":"invalid_token","error_description":"Token was revoked."}`,
			"invalid_token: Token was revoked."},
		{"bitbucket", `{"type":"error","error":{"message":"Bad request","fields":{"source":["branch not found"]}}}`,
			"Bad request: source branch not found"},
		{"not json", "<html>\n <h1>502 Bad Gateway</h1>\n</html>", "<html> <h1>502 Bad Gateway</h1> </html>"},
		{"json without words", `{"status":500}`, `{"status":500}`},
	} {
		if got := hostMessage([]byte(c.body)); got != c.want {
			t.Errorf("%s: hostMessage = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	for _, d := range dialects {
		f, api := newFake(t, d.kind, d.configure...)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := api.Open(ctx, testRequest(f)); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Open with a cancelled context = %v", d.name, err)
		}
		if n := f.count(); n != 0 {
			t.Errorf("%s: a cancelled Open made %d pull requests", d.name, n)
		}
	}
}

func TestInvalidInput(t *testing.T) {
	f, api := newFake(t, GitHub)
	gl, glAPI := newFake(t, GitLab)
	ctx := t.Context()
	edit := func(e func(*Request)) *Request { r := testRequest(f); e(r); return r }
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"nil request", func() error { _, err := api.Open(ctx, nil); return err }},
		{"no head", func() error { _, err := api.Open(ctx, edit(func(r *Request) { r.Head = "" })); return err }},
		{"no base", func() error { _, err := api.Open(ctx, edit(func(r *Request) { r.Base = "" })); return err }},
		{"head is base", func() error { _, err := api.Open(ctx, edit(func(r *Request) { r.Head = r.Base })); return err }},
		{"no title", func() error { _, err := api.Open(ctx, edit(func(r *Request) { r.Title = " " })); return err }},
		{"repository without owner", func() error { _, err := api.Open(ctx, edit(func(r *Request) { r.Repository = "infra" })); return err }},
		{"github repository with a subgroup", func() error {
			_, err := api.Open(ctx, edit(func(r *Request) { r.Repository = "acme/platform/infra" }))
			return err
		}},
		{"repository reaching up", func() error { _, err := api.Open(ctx, edit(func(r *Request) { r.Repository = "acme/.." })); return err }},
		{"gitlab empty segment", func() error {
			_, err := glAPI.Open(ctx, &Request{Repository: "acme//infra", Head: "h", Base: "b", Title: "t"})
			return err
		}},
		{"state of nil", func() error { _, err := api.State(ctx, nil); return err }},
		{"state of another kind", func() error {
			_, err := api.State(ctx, &PullRequest{Kind: GitLab, Repository: "acme/infra", Number: 1})
			return err
		}},
		{"close without a number", func() error { return api.Close(ctx, &PullRequest{Kind: GitHub, Repository: "acme/infra"}) }},
		{"unknown kind", func() error {
			_, err := (&API{Kind: "gitea", BaseURL: api.BaseURL}).Open(ctx, testRequest(f))
			return err
		}},
		{"ftp base URL", func() error {
			_, err := (&API{Kind: GitHub, BaseURL: "ftp://example.com"}).Open(ctx, testRequest(f))
			return err
		}},
	} {
		if err := c.call(); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if n := len(f.requests()) + len(gl.requests()); n != 0 {
		t.Errorf("invalid input sent %d requests", n)
	}
}

func TestPullRequestJSON(t *testing.T) {
	pr := PullRequest{Kind: GitLab, Repository: "acme/platform/infra", Number: 7, URL: "https://gitlab.example/acme/platform/infra/-/merge_requests/7"}
	b, err := json.Marshal(pr)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"kind":"gitlab","repository":"acme/platform/infra","number":7,"url":"https://gitlab.example/acme/platform/infra/-/merge_requests/7"}`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var back PullRequest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pr, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestAPIPrintsNoToken(t *testing.T) {
	a := API{Kind: GitHub, BaseURL: "https://api.github.com", Token: testToken}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{a, &a} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(s, testToken) {
				t.Errorf("Sprintf(%s, %T) = %q shows the token", verb, v, s)
			}
			if !strings.Contains(s, "https://api.github.com") {
				t.Errorf("Sprintf(%s, %T) = %q lacks the base URL", verb, v, s)
			}
		}
	}
}

func TestParseAPIs(t *testing.T) {
	for _, c := range []struct {
		spec string
		want map[string]*API
	}{
		{"", map[string]*API{}},
		{"  ", map[string]*API{}},
		{"GITHUB=https://api.github.com", map[string]*API{"GITHUB": {Kind: GitHub, BaseURL: "https://api.github.com"}}},
		{"BITBUCKET=https://api.bitbucket.org/2.0/", map[string]*API{"BITBUCKET": {Kind: Bitbucket, BaseURL: "https://api.bitbucket.org/2.0"}}},
		{
			"GITHUB=https://api.github.com, GITHUB_ENTERPRISE=gitlab+https://gitlab.example.com/api/v4 ,bitbucket=http://bb.internal:7990/2.0",
			map[string]*API{
				"GITHUB":            {Kind: GitHub, BaseURL: "https://api.github.com"},
				"GITHUB_ENTERPRISE": {Kind: GitLab, BaseURL: "https://gitlab.example.com/api/v4"},
				"BITBUCKET":         {Kind: Bitbucket, BaseURL: "http://bb.internal:7990/2.0"},
			},
		},
		{"GITHUB_ENTERPRISE=GitHub+https://gitea.example.com/api/v1", map[string]*API{"GITHUB_ENTERPRISE": {Kind: GitHub, BaseURL: "https://gitea.example.com/api/v1"}}},
		{"BITBUCKET=github+https://git.example.com/a+b/api/v1", map[string]*API{"BITBUCKET": {Kind: GitHub, BaseURL: "https://git.example.com/a+b/api/v1"}}},
		{"GITHUB=https://git.example.com/a+b", map[string]*API{"GITHUB": {Kind: GitHub, BaseURL: "https://git.example.com/a+b"}}},
	} {
		got, err := ParseAPIs(c.spec)
		if err != nil {
			t.Errorf("ParseAPIs(%q): %v", c.spec, err)
			continue
		}
		if diff := cmp.Diff(c.want, got, cmp.Comparer(func(a, b *http.Client) bool { return a == b })); diff != "" {
			t.Errorf("ParseAPIs(%q) (-want +got):\n%s", c.spec, diff)
		}
	}

	for _, c := range []struct{ spec, mention, secret string }{
		{"GITLAB=https://gitlab.com/api/v4", `"GITLAB"`, ""},
		{"GITHUB=https://api.github.com,GITHUB=https://ghe.example.com/api/v3", "GITHUB is given twice", ""},
		{"GITHUB=svn+https://x.example.com", `"svn"`, ""},
		{"GITHUB=ftp://x.example.com", `"ftp"`, ""},
		{"GITHUB=", "item 1", ""},
		{"GITHUB", "item 1", ""},
		{"GITHUB=https://api.github.com,", "item 2", ""},
		{"=https://api.github.com", "item 1", ""},
		{"GITHUB=api.github.com", "GITHUB", ""},
		{"GITHUB=https://", "no host", ""},
		{"BITBUCKET=https://me:hunter2@api.bitbucket.org/2.0", "credentials", "hunter2"},
		{"GITHUB=https://api.github.com?x=1", "query", ""},
		{"GITHUB=https://api.github.com/%zz", "GITHUB", ""},
	} {
		_, err := ParseAPIs(c.spec)
		if err == nil {
			t.Errorf("ParseAPIs(%q): no error", c.spec)
			continue
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("ParseAPIs(%q) = %q, want it to name %q", c.spec, err, c.mention)
		}
		if c.secret != "" && strings.Contains(err.Error(), c.secret) {
			t.Errorf("ParseAPIs(%q) = %q shows the secret", c.spec, err)
		}
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"github": GitHub, "GitLab": GitLab, " BITBUCKET ": Bitbucket} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "gitea", "github+"} {
		if _, err := ParseKind(in); err == nil {
			t.Errorf("ParseKind(%q): no error", in)
		}
	}
}

func TestNextLink(t *testing.T) {
	for header, want := range map[string]string{
		`<https://h/api/v1/repos/a/b/pulls?page=2>; rel="next", <https://h/api/v1/repos/a/b/pulls?page=5>; rel="last"`: "https://h/api/v1/repos/a/b/pulls?page=2",
		`<https://h/x?page=1>; rel="prev", <https://h/x?page=3>; rel="next"`:                                           "https://h/x?page=3",
		`<https://h/x?page=1>; rel="first"`:                                                                            "",
		``:                                                                                                             "",
		`garbage; rel="next"`:                                                                                          "",
	} {
		if got := nextLink(header); got != want {
			t.Errorf("nextLink(%q) = %q, want %q", header, got, want)
		}
	}
}
