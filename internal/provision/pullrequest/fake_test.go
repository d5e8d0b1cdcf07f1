package pullrequest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakePR is a pull request held by a fake host.
type fakePR struct {
	num         int64
	head, base  string
	title, body string
	state       State
}

// recorded is one request a fake host received.
type recorded struct {
	Method string
	Path   string // escaped, as sent
	Query  url.Values
	Header http.Header
	Body   map[string]any
}

// fake is an in-memory git host speaking one dialect for one repository, with the
// answers (and refusals) the real hosts give.
type fake struct {
	t     *testing.T
	kind  Kind
	repo  string
	token string
	// gitea makes the GitHub dialect answer as Gitea does: 409 on a duplicate, list
	// filters ignored, small pages linked with Link headers, oldest first.
	gitea bool
	// bitbucketDuplicateOK makes Bitbucket answer a duplicate with the open pull
	// request instead of refusing it.
	bitbucketDuplicateOK bool
	// nextOrigin, when set, is the scheme and host the fake's Link next pages point at.
	nextOrigin string
	// beforeClose runs before a close request is handled: a test races a merge with it.
	beforeClose func(*fakePR)

	mu   sync.Mutex
	prs  []*fakePR
	reqs []recorded
	srv  *httptest.Server
}

const testToken = "s3cr3t-t0ken-value"

// newFake starts a fake host and returns it with an API pointed at it.
func newFake(t *testing.T, kind Kind, configure ...func(*fake)) (*fake, *API) {
	t.Helper()
	f := &fake{t: t, kind: kind, repo: "acme/infra", token: testToken}
	if kind == GitLab {
		f.repo = "acme/platform/infra" // a subgroup: the project id holds two %2F
	}
	for _, c := range configure {
		c(f)
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f, &API{Kind: kind, BaseURL: f.srv.URL + f.prefix(), Token: f.token, HTTP: f.srv.Client()}
}

func (f *fake) prefix() string {
	switch f.kind {
	case GitHub:
		if f.gitea {
			return "/api/v1"
		}
		return "/api/v3"
	case GitLab:
		return "/api/v4"
	}
	return "/2.0"
}

// repoPath is the escaped path of the repository's pull requests.
func (f *fake) repoPath() string {
	switch f.kind {
	case GitHub:
		return f.prefix() + "/repos/" + f.repo + "/pulls"
	case GitLab:
		return f.prefix() + "/projects/" + url.PathEscape(f.repo) + "/merge_requests"
	}
	return f.prefix() + "/repositories/" + f.repo + "/pullrequests"
}

func (f *fake) webURL(p *fakePR) string {
	switch f.kind {
	case GitHub:
		return fmt.Sprintf("https://github.example/%s/pull/%d", f.repo, p.num)
	case GitLab:
		return fmt.Sprintf("https://gitlab.example/%s/-/merge_requests/%d", f.repo, p.num)
	}
	return fmt.Sprintf("https://bitbucket.example/%s/pull-requests/%d", f.repo, p.num)
}

// seed adds a pull request as if someone else had opened it.
func (f *fake) seed(head, base string, st State) *fakePR {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.add(head, base, "seeded", "", st)
}

func (f *fake) add(head, base, title, body string, st State) *fakePR {
	p := &fakePR{num: int64(len(f.prs) + 1), head: head, base: base, title: title, body: body, state: st}
	f.prs = append(f.prs, p)
	return p
}

func (f *fake) get(num int64) *fakePR {
	for _, p := range f.prs {
		if p.num == num {
			return p
		}
	}
	return nil
}

// setState changes a pull request as a person on the host would.
func (f *fake) setState(num int64, st State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.get(num)
	if p == nil {
		f.t.Fatalf("fake: no pull request %d", num)
	}
	p.state = st
}

func (f *fake) stateOf(num int64) State {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.get(num); p != nil {
		return p.state
	}
	return ""
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.prs)
}

func (f *fake) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// writes are the requests that would change something on the host.
func (f *fake) writes() []recorded {
	var w []recorded
	for _, r := range f.requests() {
		if r.Method != http.MethodGet {
			w = append(w, r)
		}
	}
	return w
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone()}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &rec.Body); err != nil {
			f.t.Errorf("fake: %s %s: body is not a JSON object: %v", r.Method, rec.Path, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, rec)

	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.refuse(w, http.StatusUnauthorized, map[Kind]string{
			GitHub: "Bad credentials", GitLab: "401 Unauthorized", Bitbucket: "Access token expired or invalid",
		}[f.kind])
		return
	}
	rest, ok := strings.CutPrefix(rec.Path, f.repoPath())
	if !ok {
		f.refuse(w, http.StatusNotFound, map[Kind]string{
			GitHub: "Not Found", GitLab: "404 Project Not Found", Bitbucket: "Repository not found",
		}[f.kind])
		return
	}
	var p *fakePR
	action := ""
	if rest != "" {
		m := regexp.MustCompile(`^/([0-9]+)(/decline)?$`).FindStringSubmatch(rest)
		if m == nil {
			f.refuse(w, http.StatusNotFound, "no such route "+rest)
			return
		}
		num, _ := strconv.ParseInt(m[1], 10, 64)
		if p = f.get(num); p == nil {
			f.refuse(w, http.StatusNotFound, "Not Found")
			return
		}
		action = m[2]
	}
	switch f.kind {
	case GitHub:
		f.github(w, r, rec, p)
	case GitLab:
		f.gitlab(w, r, rec, p)
	case Bitbucket:
		f.bitbucket(w, r, rec, p, action)
	}
}

func (f *fake) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake: encoding an answer: %v", err)
	}
}

// refuse answers with an error body in the dialect's shape.
func (f *fake) refuse(w http.ResponseWriter, status int, msg string) {
	switch {
	case f.kind == GitHub && f.gitea:
		f.reply(w, status, map[string]any{"message": msg, "url": f.srv.URL + "/api/swagger"})
	case f.kind == GitHub:
		f.reply(w, status, map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"})
	case f.kind == GitLab:
		f.reply(w, status, map[string]any{"message": msg})
	default:
		f.reply(w, status, map[string]any{"type": "error", "error": map[string]any{"message": msg}})
	}
}

func (f *fake) open(head, base string) *fakePR {
	for _, p := range f.prs {
		if p.head == head && p.base == base && p.state == Open {
			return p
		}
	}
	return nil
}

// merged reports whether the branch was merged already: hosts then refuse a new pull
// request, there being nothing left to pull.
func (f *fake) merged(head, base string) bool {
	for _, p := range f.prs {
		if p.head == head && p.base == base && p.state == Merged {
			return true
		}
	}
	return false
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// GitHub and Gitea.

func (f *fake) githubJSON(p *fakePR, listed bool) map[string]any {
	state, mergedAt := "open", any(nil)
	if p.state != Open {
		state = "closed"
	}
	if p.state == Merged {
		mergedAt = "2024-05-01T10:00:00Z"
	}
	m := map[string]any{
		"number": p.num, "html_url": f.webURL(p), "state": state, "merged_at": mergedAt, "title": p.title,
		"head": map[string]any{"ref": p.head, "repo": map[string]any{"full_name": f.repo}},
		"base": map[string]any{"ref": p.base},
	}
	if !listed { // GitHub's list entries carry merged_at but not merged
		m["merged"] = p.state == Merged
	}
	return m
}

func (f *fake) github(w http.ResponseWriter, r *http.Request, rec recorded, p *fakePR) {
	switch {
	case p == nil && r.Method == http.MethodPost:
		head, base := str(rec.Body, "head"), str(rec.Body, "base")
		if head == "" || base == "" || str(rec.Body, "title") == "" {
			f.refuse(w, http.StatusUnprocessableEntity, "Validation Failed")
			return
		}
		if f.open(head, base) != nil {
			if f.gitea {
				f.refuse(w, http.StatusConflict, "pull request already exists for these targets [id: 9, issue_id: 1, head_branch: "+head+", base_branch: "+base+"]")
				return
			}
			owner, _, _ := strings.Cut(f.repo, "/")
			f.reply(w, http.StatusUnprocessableEntity, map[string]any{
				"message": "Validation Failed",
				"errors": []any{map[string]any{
					"resource": "PullRequest", "code": "custom",
					"message": "A pull request already exists for " + owner + ":" + head + ".",
				}},
				"documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
			})
			return
		}
		if f.merged(head, base) {
			if f.gitea {
				f.refuse(w, http.StatusUnprocessableEntity, "Invalid PullRequest: There are no changes between the head and the base")
				return
			}
			f.reply(w, http.StatusUnprocessableEntity, map[string]any{
				"message": "Validation Failed",
				"errors":  []any{map[string]any{"resource": "PullRequest", "code": "custom", "message": "No commits between " + base + " and " + head}},
			})
			return
		}
		f.reply(w, http.StatusCreated, f.githubJSON(f.add(head, base, str(rec.Body, "title"), str(rec.Body, "body"), Open), false))
	case p == nil && r.Method == http.MethodGet:
		f.githubList(w, rec)
	case r.Method == http.MethodGet:
		f.reply(w, http.StatusOK, f.githubJSON(p, false))
	case r.Method == http.MethodPatch:
		if f.beforeClose != nil {
			f.beforeClose(p)
		}
		if str(rec.Body, "state") == "closed" {
			if p.state == Merged {
				f.refuse(w, http.StatusUnprocessableEntity, "Cannot close a merged pull request")
				return
			}
			p.state = Closed
		}
		f.reply(w, http.StatusOK, f.githubJSON(p, false))
	default:
		f.refuse(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (f *fake) githubList(w http.ResponseWriter, rec recorded) {
	var out []map[string]any
	if f.gitea {
		// Gitea ignores head and base and pages oldest first, two at a time.
		page, _ := strconv.Atoi(rec.Query.Get("page"))
		page = max(page, 1)
		from, to := min((page-1)*2, len(f.prs)), min(page*2, len(f.prs))
		for _, p := range f.prs[from:to] {
			out = append(out, f.githubJSON(p, true))
		}
		if to < len(f.prs) {
			origin := f.srv.URL
			if f.nextOrigin != "" {
				origin = f.nextOrigin
			}
			q := url.Values{"state": {"all"}, "page": {strconv.Itoa(page + 1)}}
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next", <%s%s?page=1>; rel="first"`,
				origin, f.repoPath(), q.Encode(), origin, f.repoPath()))
		}
	} else {
		owner, _, _ := strings.Cut(f.repo, "/")
		for i := len(f.prs) - 1; i >= 0; i-- { // newest first
			p := f.prs[i]
			if h := rec.Query.Get("head"); h != "" && h != owner+":"+p.head {
				continue
			}
			if b := rec.Query.Get("base"); b != "" && b != p.base {
				continue
			}
			if rec.Query.Get("state") != "all" && p.state != Open { // the default is open only
				continue
			}
			out = append(out, f.githubJSON(p, true))
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	f.reply(w, http.StatusOK, out)
}

// GitLab.

func (f *fake) gitlabJSON(p *fakePR) map[string]any {
	state := map[State]string{Open: "opened", Merged: "merged", Closed: "closed"}[p.state]
	return map[string]any{
		"id": 1000 + p.num, "iid": p.num, "project_id": 42, "title": p.title, "description": p.body,
		"state": state, "web_url": f.webURL(p), "source_branch": p.head, "target_branch": p.base,
	}
}

func (f *fake) gitlab(w http.ResponseWriter, r *http.Request, rec recorded, p *fakePR) {
	switch {
	case p == nil && r.Method == http.MethodPost:
		head, base := str(rec.Body, "source_branch"), str(rec.Body, "target_branch")
		if head == "" || base == "" || str(rec.Body, "title") == "" {
			f.refuse(w, http.StatusBadRequest, "title is missing")
			return
		}
		if q := f.open(head, base); q != nil {
			f.reply(w, http.StatusConflict, map[string]any{
				"message": []any{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", q.num)},
			})
			return
		}
		f.reply(w, http.StatusCreated, f.gitlabJSON(f.add(head, base, str(rec.Body, "title"), str(rec.Body, "description"), Open)))
	case p == nil && r.Method == http.MethodGet:
		out := []map[string]any{}
		for i := len(f.prs) - 1; i >= 0; i-- {
			q := f.prs[i]
			if s := rec.Query.Get("source_branch"); s != "" && s != q.head {
				continue
			}
			if t := rec.Query.Get("target_branch"); t != "" && t != q.base {
				continue
			}
			out = append(out, f.gitlabJSON(q))
		}
		f.reply(w, http.StatusOK, out)
	case r.Method == http.MethodGet:
		f.reply(w, http.StatusOK, f.gitlabJSON(p))
	case r.Method == http.MethodPut:
		if f.beforeClose != nil {
			f.beforeClose(p)
		}
		// GitLab ignores a close of a merged merge request and answers with it as it is.
		if str(rec.Body, "state_event") == "close" && p.state == Open {
			p.state = Closed
		}
		f.reply(w, http.StatusOK, f.gitlabJSON(p))
	default:
		f.refuse(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
	}
}

// Bitbucket Cloud.

func (f *fake) bitbucketJSON(p *fakePR) map[string]any {
	state := map[State]string{Open: "OPEN", Merged: "MERGED", Closed: "DECLINED"}[p.state]
	branch := func(name string) map[string]any {
		return map[string]any{"branch": map[string]any{"name": name}, "repository": map[string]any{"full_name": f.repo}}
	}
	return map[string]any{
		"id": p.num, "title": p.title, "description": p.body, "state": state, "type": "pullrequest",
		"links":  map[string]any{"html": map[string]any{"href": f.webURL(p)}},
		"source": branch(p.head), "destination": branch(p.base),
	}
}

var bbqlQuery = regexp.MustCompile(`^source\.branch\.name = "([^"\\]*)" AND destination\.branch\.name = "([^"\\]*)"$`)

func (f *fake) bitbucket(w http.ResponseWriter, r *http.Request, rec recorded, p *fakePR, action string) {
	branch := func(end string) string {
		m, _ := rec.Body[end].(map[string]any)
		b, _ := m["branch"].(map[string]any)
		return str(b, "name")
	}
	switch {
	case p == nil && r.Method == http.MethodPost:
		head, base := branch("source"), branch("destination")
		if head == "" || base == "" || str(rec.Body, "title") == "" {
			f.refuse(w, http.StatusBadRequest, "source: branch not found")
			return
		}
		if f.open(head, base) == nil && f.merged(head, base) {
			f.refuse(w, http.StatusBadRequest, "There are no changes to be pulled")
			return
		}
		if q := f.open(head, base); q != nil {
			if f.bitbucketDuplicateOK {
				f.reply(w, http.StatusOK, f.bitbucketJSON(q))
				return
			}
			f.refuse(w, http.StatusBadRequest, "There is already an open pull request from "+head+" to "+base)
			return
		}
		f.reply(w, http.StatusCreated, f.bitbucketJSON(f.add(head, base, str(rec.Body, "title"), str(rec.Body, "description"), Open)))
	case p == nil && r.Method == http.MethodGet:
		m := bbqlQuery.FindStringSubmatch(rec.Query.Get("q"))
		if m == nil {
			f.refuse(w, http.StatusBadRequest, "Invalid query: "+rec.Query.Get("q"))
			return
		}
		states := rec.Query["state"]
		if len(states) == 0 {
			states = []string{"OPEN"} // Bitbucket lists only open ones unless told
		}
		values := []map[string]any{}
		for _, q := range f.prs {
			j := f.bitbucketJSON(q)
			if q.head == m[1] && q.base == m[2] && slices.Contains(states, j["state"].(string)) {
				values = append(values, j)
			}
		}
		f.reply(w, http.StatusOK, map[string]any{"pagelen": 50, "page": 1, "size": len(values), "values": values})
	case r.Method == http.MethodGet && action == "":
		f.reply(w, http.StatusOK, f.bitbucketJSON(p))
	case r.Method == http.MethodPost && action == "/decline":
		if f.beforeClose != nil {
			f.beforeClose(p)
		}
		if p.state != Open {
			f.refuse(w, http.StatusBadRequest, "You can't decline a pull request that is not open.")
			return
		}
		p.state = Closed
		f.reply(w, http.StatusOK, f.bitbucketJSON(p))
	default:
		f.refuse(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}
