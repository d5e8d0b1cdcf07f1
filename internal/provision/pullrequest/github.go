package pullrequest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ghPull is the part of a GitHub (or Gitea) pull request read here.
type ghPull struct {
	Number   int64   `json:"number"`
	HTMLURL  string  `json:"html_url"`
	State    string  `json:"state"`     // open or closed
	Merged   bool    `json:"merged"`    // only on single pull requests
	MergedAt *string `json:"merged_at"` // also on list entries
	Head     struct {
		Ref  string `json:"ref"`
		Repo *struct {
			FullName string `json:"full_name"`
		} `json:"repo"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
}

func (p *ghPull) state() (State, error) {
	switch p.State {
	case "open":
		return Open, nil
	case "closed":
		if p.Merged || p.MergedAt != nil {
			return Merged, nil
		}
		return Closed, nil
	}
	return "", fmt.Errorf("unknown pull request state %q", p.State)
}

func (p *ghPull) pullRequest(repo string) (*PullRequest, error) {
	if p.Number <= 0 {
		return nil, errors.New("the answer has no pull request number")
	}
	return &PullRequest{Kind: GitHub, Repository: repo, Number: p.Number, URL: p.HTMLURL}, nil
}

func (a *API) githubPull(pr *PullRequest) string {
	owner, name, _ := strings.Cut(pr.Repository, "/")
	return a.endpoint(nil, "repos", owner, name, "pulls", strconv.FormatInt(pr.Number, 10))
}

func (a *API) githubOpen(ctx context.Context, req *Request) (*PullRequest, error) {
	owner, name, _ := strings.Cut(req.Repository, "/")
	var p ghPull
	_, err := a.do(ctx, http.MethodPost, a.endpoint(nil, "repos", owner, name, "pulls"), map[string]string{
		"title": req.Title, "body": req.Body, "head": req.Head, "base": req.Base,
	}, &p)
	if err == nil {
		return p.pullRequest(req.Repository)
	}
	// GitHub refuses a second pull request for a branch with 422 ("A pull request
	// already exists for owner:branch", or "No commits between" once it was merged);
	// Gitea with 409.
	if !retryable(err, http.StatusUnprocessableEntity, http.StatusConflict) {
		return nil, err
	}
	return existing(err, func() ([]candidate, error) { return a.githubFind(ctx, req) })
}

// githubFind lists the pull requests from req.Head into req.Base in any state. GitHub
// filters by head and base itself; Gitea ignores those parameters, so the list is
// filtered here too and followed across pages.
func (a *API) githubFind(ctx context.Context, req *Request) ([]candidate, error) {
	owner, name, _ := strings.Cut(req.Repository, "/")
	next := a.endpoint(url.Values{
		"head": {owner + ":" + req.Head}, "base": {req.Base}, "state": {"all"}, "per_page": {"100"},
	}, "repos", owner, name, "pulls")
	var found []candidate
	for page := 0; next != "" && page < maxPages; page++ {
		var pulls []ghPull
		h, err := a.do(ctx, http.MethodGet, next, nil, &pulls)
		if err != nil {
			return nil, err
		}
		for i := range pulls {
			p := &pulls[i]
			if p.Head.Ref != req.Head || p.Base.Ref != req.Base ||
				p.Head.Repo != nil && !strings.EqualFold(p.Head.Repo.FullName, req.Repository) {
				continue
			}
			st, err := p.state()
			if err != nil {
				return nil, err
			}
			pr, err := p.pullRequest(req.Repository)
			if err != nil {
				return nil, err
			}
			found = append(found, candidate{*pr, st})
		}
		if next = nextLink(h.Get("Link")); next != "" && !a.sameOrigin(next) {
			next = ""
		}
	}
	return found, nil
}

func (a *API) githubState(ctx context.Context, pr *PullRequest) (State, error) {
	var p ghPull
	if _, err := a.do(ctx, http.MethodGet, a.githubPull(pr), nil, &p); err != nil {
		return "", err
	}
	return p.state()
}

func (a *API) githubClose(ctx context.Context, pr *PullRequest) (State, error) {
	var p ghPull
	if _, err := a.do(ctx, http.MethodPatch, a.githubPull(pr), map[string]string{"state": "closed"}, &p); err != nil {
		return "", err
	}
	return p.state()
}
