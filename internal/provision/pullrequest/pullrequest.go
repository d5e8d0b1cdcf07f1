// Package pullrequest opens, watches and closes the pull requests of self-managed
// provisioning.
//
// AWS Proton's self-managed provisioning did not apply infrastructure itself: it pushed
// the rendered deployment to a branch of the customer's provisioning repository and
// opened a pull request from that branch into the base branch, so that the customer's
// own review and pipeline applied it. A pull request closed without merging cancelled
// the deployment, and cancelling the deployment closed the pull request. openproton does
// the same through the git host's REST API; this package speaks the three dialects such
// a request is made in: GitHub's (also GitHub Enterprise Server and Gitea, which answers
// these calls the same way), GitLab's and Bitbucket Cloud's.
//
// Whether a host has an API configured at all is the caller's business: without one, the
// pushed branch itself is the request.
package pullrequest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Kind is the REST API dialect a host speaks.
type Kind string

const (
	GitHub    Kind = "github" // GitHub, GitHub Enterprise Server, Gitea
	GitLab    Kind = "gitlab"
	Bitbucket Kind = "bitbucket" // Bitbucket Cloud (API 2.0)
)

// ParseKind reads a dialect name, in any case.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case GitHub, GitLab, Bitbucket:
		return k, nil
	}
	return "", fmt.Errorf("pullrequest: unknown API kind %q (want github, gitlab or bitbucket)", s)
}

// State is where a pull request stands.
type State string

const (
	Open   State = "open"
	Merged State = "merged"
	Closed State = "closed" // closed without merging: the deployment is cancelled
)

// ErrMerged is Close's answer for a pull request that was merged: it can no longer be
// closed, and the deployment it carries was accepted.
var ErrMerged = errors.New("pull request is already merged")

// API is one configured git host API.
type API struct {
	Kind Kind
	// BaseURL is the API root, e.g. https://api.github.com,
	// https://ghe.example.com/api/v3, https://gitea.example.com/api/v1,
	// https://gitlab.example.com/api/v4 or https://api.bitbucket.org/2.0.
	BaseURL string
	// Token is sent as "Authorization: Bearer <token>"; it never appears in errors or
	// in the API's printed form.
	Token string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
}

// String names the API without its token.
func (a API) String() string { return string(a.Kind) + " " + a.BaseURL }

// GoString keeps %#v from printing the token.
func (a API) GoString() string {
	return fmt.Sprintf("pullrequest.API{Kind:%q, BaseURL:%q}", a.Kind, a.BaseURL)
}

// Request asks for a pull request from Head into Base.
type Request struct {
	// Repository is "owner/name" (Bitbucket: "workspace/slug"; GitLab: the project's
	// full path, which may hold subgroups, e.g. "group/sub/name").
	Repository string
	Head       string // the branch with the deployment
	Base       string // the branch it is to be merged into
	Title      string
	Body       string
}

// PullRequest identifies an opened pull request. It is stored as JSON with the
// deployment, so its fields are its whole identity.
type PullRequest struct {
	Kind       Kind   `json:"kind"`
	Repository string `json:"repository"`
	Number     int64  `json:"number"` // GitHub number, GitLab iid, Bitbucket id
	URL        string `json:"url"`    // the web page people review it on
}

// HTTPError is a host's refusal: its status and its own words, never the token.
type HTTPError struct {
	Method     string
	URL        string // without the query
	StatusCode int
	Message    string // the host's message, cut to about 300 bytes
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Open opens a pull request from req.Head into req.Base. A retry finds the pull request
// an earlier call opened and returns it: hosts refuse a second one for the same branches,
// and the branch is named by the deployment, so any pull request from it is this one.
func (a *API) Open(ctx context.Context, req *Request) (*PullRequest, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	if err := req.validate(a.Kind); err != nil {
		return nil, fmt.Errorf("pullrequest: %w", err)
	}
	var pr *PullRequest
	var err error
	switch a.Kind {
	case GitHub:
		pr, err = a.githubOpen(ctx, req)
	case GitLab:
		pr, err = a.gitlabOpen(ctx, req)
	case Bitbucket:
		pr, err = a.bitbucketOpen(ctx, req)
	}
	if err != nil {
		return nil, fmt.Errorf("pullrequest: %s: opening a pull request from %s into %s of %s: %w",
			a.Kind, req.Head, req.Base, req.Repository, err)
	}
	return pr, nil
}

// State asks the host where pr stands.
func (a *API) State(ctx context.Context, pr *PullRequest) (State, error) {
	if err := a.checkPR(pr); err != nil {
		return "", err
	}
	st, err := a.state(ctx, pr)
	if err != nil {
		return "", fmt.Errorf("pullrequest: %s: reading %s: %w", a.Kind, pr.name(), err)
	}
	return st, nil
}

// Close closes pr without merging it (Bitbucket: declines it). Closing one that is
// already closed succeeds; a merged one is ErrMerged.
func (a *API) Close(ctx context.Context, pr *PullRequest) error {
	if err := a.checkPR(pr); err != nil {
		return err
	}
	st, err := a.state(ctx, pr)
	if err == nil && st == Open {
		st, err = a.close(ctx, pr)
		if err != nil {
			// A merge or close racing this call makes the host refuse: what it
			// reports now decides.
			if now, serr := a.state(ctx, pr); serr == nil && now != Open {
				st, err = now, nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("pullrequest: %s: closing %s: %w", a.Kind, pr.name(), err)
	}
	switch st {
	case Merged:
		return fmt.Errorf("pullrequest: %s: closing %s: %w", a.Kind, pr.name(), ErrMerged)
	case Closed:
		return nil
	}
	return fmt.Errorf("pullrequest: %s: closing %s: the host still reports it %s", a.Kind, pr.name(), st)
}

func (a *API) state(ctx context.Context, pr *PullRequest) (State, error) {
	switch a.Kind {
	case GitHub:
		return a.githubState(ctx, pr)
	case GitLab:
		return a.gitlabState(ctx, pr)
	default:
		return a.bitbucketState(ctx, pr)
	}
}

// close asks the host to close pr and returns the state the host answers with.
func (a *API) close(ctx context.Context, pr *PullRequest) (State, error) {
	switch a.Kind {
	case GitHub:
		return a.githubClose(ctx, pr)
	case GitLab:
		return a.gitlabClose(ctx, pr)
	default:
		return a.bitbucketClose(ctx, pr)
	}
}

func (pr *PullRequest) name() string {
	if pr.URL != "" {
		return pr.URL
	}
	return fmt.Sprintf("%s#%d", pr.Repository, pr.Number)
}

func (a *API) check() error {
	if a == nil {
		return errors.New("pullrequest: no API")
	}
	switch a.Kind {
	case GitHub, GitLab, Bitbucket:
	default:
		return fmt.Errorf("pullrequest: unknown API kind %q", a.Kind)
	}
	if _, err := baseURL(a.BaseURL); err != nil {
		return fmt.Errorf("pullrequest: %s base URL: %w", a.Kind, err)
	}
	return nil
}

func (a *API) checkPR(pr *PullRequest) error {
	if err := a.check(); err != nil {
		return err
	}
	switch {
	case pr == nil:
		return errors.New("pullrequest: no pull request")
	case pr.Kind != a.Kind:
		return fmt.Errorf("pullrequest: %s is a %s pull request, not %s", pr.name(), pr.Kind, a.Kind)
	case pr.Number <= 0:
		return fmt.Errorf("pullrequest: %s has no number", pr.name())
	}
	if err := checkRepository(a.Kind, pr.Repository); err != nil {
		return fmt.Errorf("pullrequest: %w", err)
	}
	return nil
}

func (r *Request) validate(kind Kind) error {
	switch {
	case r == nil:
		return errors.New("no request")
	case r.Head == "":
		return errors.New("no head branch")
	case r.Base == "":
		return errors.New("no base branch")
	case r.Head == r.Base:
		return fmt.Errorf("head and base are the same branch %s", r.Head)
	case strings.TrimSpace(r.Title) == "":
		return errors.New("no title")
	}
	return checkRepository(kind, r.Repository)
}

// checkRepository keeps a repository name from reaching into other API paths.
func checkRepository(kind Kind, repo string) error {
	parts := strings.Split(repo, "/")
	bad := len(parts) < 2 || (kind != GitLab && len(parts) != 2)
	for _, p := range parts {
		bad = bad || p == "" || p == "." || p == ".."
	}
	if bad {
		if kind == GitLab {
			return fmt.Errorf("repository %q: want a project path like group/name", repo)
		}
		return fmt.Errorf("repository %q: want owner/name", repo)
	}
	return nil
}

// defaultKinds are the dialects of Proton's repository providers when a spec names none.
var defaultKinds = map[string]Kind{
	"GITHUB":            GitHub,
	"GITHUB_ENTERPRISE": GitHub,
	"BITBUCKET":         Bitbucket,
}

// ParseAPIs reads a configuration value of comma-separated PROVIDER=[KIND+]URL items,
// e.g. "GITHUB=https://api.github.com,GITHUB_ENTERPRISE=gitlab+https://gitlab.example.com/api/v4".
// PROVIDER is one of Proton's repository providers (GITHUB, GITHUB_ENTERPRISE,
// BITBUCKET); KIND is the dialect the host speaks, by default github for the GitHub
// providers and bitbucket for BITBUCKET, so a provider name can stand for any host.
// The APIs come back by provider with no token or client: those are the caller's.
// An empty spec configures none.
func ParseAPIs(spec string) (map[string]*API, error) {
	apis := map[string]*API{}
	if strings.TrimSpace(spec) == "" {
		return apis, nil
	}
	for i, item := range strings.Split(spec, ",") {
		provider, value, ok := strings.Cut(item, "=")
		provider = strings.ToUpper(strings.TrimSpace(provider))
		value = strings.TrimSpace(value)
		// Items are named by position and provider only: a value may hold secrets.
		if !ok || provider == "" || value == "" {
			return nil, fmt.Errorf("pullrequest: API item %d: want PROVIDER=[KIND+]URL", i+1)
		}
		kind, known := defaultKinds[provider]
		if !known {
			return nil, fmt.Errorf("pullrequest: API item %d: unknown provider %q (want one of %s)",
				i+1, provider, strings.Join(slices.Sorted(maps.Keys(defaultKinds)), ", "))
		}
		if _, dup := apis[provider]; dup {
			return nil, fmt.Errorf("pullrequest: API item %d: provider %s is given twice", i+1, provider)
		}
		// A kind prefix ends before the URL's scheme, so it holds no colon.
		if k, rest, ok := strings.Cut(value, "+"); ok && !strings.Contains(k, ":") {
			var err error
			if kind, err = ParseKind(k); err != nil {
				return nil, fmt.Errorf("pullrequest: API item %d (%s): unknown kind %q (want github, gitlab or bitbucket)", i+1, provider, k)
			}
			value = rest
		}
		u, err := baseURL(value)
		if err != nil {
			return nil, fmt.Errorf("pullrequest: API item %d (%s): %w", i+1, provider, err)
		}
		apis[provider] = &API{Kind: kind, BaseURL: u}
	}
	return apis, nil
}

// baseURL checks an API root and returns it without a trailing slash. Its errors never
// repeat the URL, which may hold credentials.
func baseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return "", errors.New("no URL")
	case err != nil:
		return "", errors.New("the URL does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("URL scheme %q: want http or https", u.Scheme)
	case u.Host == "":
		return "", errors.New("the URL has no host")
	case u.User != nil:
		return "", errors.New("the URL holds credentials: give them as the token")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", errors.New("the URL has a query or fragment")
	}
	return strings.TrimSuffix(raw, "/"), nil
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

func (a *API) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return defaultClient
}
