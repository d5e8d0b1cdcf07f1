package pullrequest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// glMR is the part of a GitLab merge request read here.
type glMR struct {
	IID          int64  `json:"iid"`
	WebURL       string `json:"web_url"`
	State        string `json:"state"` // opened, closed, locked or merged
	SourceBranch string `json:"source_branch"`
	TargetBranch string `json:"target_branch"`
}

func (m *glMR) state() (State, error) {
	switch m.State {
	case "opened", "locked": // locked: a merge is under way, not done
		return Open, nil
	case "merged":
		return Merged, nil
	case "closed":
		return Closed, nil
	}
	return "", fmt.Errorf("unknown merge request state %q", m.State)
}

func (m *glMR) pullRequest(repo string) (*PullRequest, error) {
	if m.IID <= 0 {
		return nil, errors.New("the answer has no merge request iid")
	}
	return &PullRequest{Kind: GitLab, Repository: repo, Number: m.IID, URL: m.WebURL}, nil
}

// The project path is GitLab's project id, sent URL-escaped as one segment.
func (a *API) gitlabMR(pr *PullRequest) string {
	return a.endpoint(nil, "projects", pr.Repository, "merge_requests", strconv.FormatInt(pr.Number, 10))
}

func (a *API) gitlabOpen(ctx context.Context, req *Request) (*PullRequest, error) {
	var m glMR
	_, err := a.do(ctx, http.MethodPost, a.endpoint(nil, "projects", req.Repository, "merge_requests"), map[string]string{
		"source_branch": req.Head, "target_branch": req.Base, "title": req.Title, "description": req.Body,
	}, &m)
	if err == nil {
		return m.pullRequest(req.Repository)
	}
	// 409: "Another open merge request already exists for this source branch".
	if !retryable(err, http.StatusConflict, http.StatusUnprocessableEntity) {
		return nil, err
	}
	return existing(err, func() ([]candidate, error) { return a.gitlabFind(ctx, req) })
}

// gitlabFind lists the merge requests from req.Head into req.Base in any state (the
// list's default).
func (a *API) gitlabFind(ctx context.Context, req *Request) ([]candidate, error) {
	var mrs []glMR
	_, err := a.do(ctx, http.MethodGet, a.endpoint(url.Values{
		"source_branch": {req.Head}, "target_branch": {req.Base}, "per_page": {"100"},
	}, "projects", req.Repository, "merge_requests"), nil, &mrs)
	if err != nil {
		return nil, err
	}
	var found []candidate
	for i := range mrs {
		m := &mrs[i]
		if m.SourceBranch != req.Head || m.TargetBranch != req.Base {
			continue
		}
		st, err := m.state()
		if err != nil {
			return nil, err
		}
		pr, err := m.pullRequest(req.Repository)
		if err != nil {
			return nil, err
		}
		found = append(found, candidate{*pr, st})
	}
	return found, nil
}

func (a *API) gitlabState(ctx context.Context, pr *PullRequest) (State, error) {
	var m glMR
	if _, err := a.do(ctx, http.MethodGet, a.gitlabMR(pr), nil, &m); err != nil {
		return "", err
	}
	return m.state()
}

func (a *API) gitlabClose(ctx context.Context, pr *PullRequest) (State, error) {
	var m glMR
	if _, err := a.do(ctx, http.MethodPut, a.gitlabMR(pr), map[string]string{"state_event": "close"}, &m); err != nil {
		return "", err
	}
	return m.state()
}
