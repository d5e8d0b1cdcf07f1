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

// bbPR is the part of a Bitbucket Cloud pull request read here.
type bbPR struct {
	ID    int64  `json:"id"`
	State string `json:"state"` // OPEN, MERGED, DECLINED or SUPERSEDED
	Links struct {
		HTML struct {
			Href string `json:"href"`
		} `json:"html"`
	} `json:"links"`
	Source      bbEnd `json:"source"`
	Destination bbEnd `json:"destination"`
}

type bbEnd struct {
	Branch struct {
		Name string `json:"name"`
	} `json:"branch"`
}

func bbBranch(name string) bbEnd {
	var e bbEnd
	e.Branch.Name = name
	return e
}

func (p *bbPR) state() (State, error) {
	switch p.State {
	case "OPEN", "DRAFT":
		return Open, nil
	case "MERGED":
		return Merged, nil
	case "DECLINED", "SUPERSEDED":
		return Closed, nil
	}
	return "", fmt.Errorf("unknown pull request state %q", p.State)
}

func (p *bbPR) pullRequest(repo string) (*PullRequest, error) {
	if p.ID <= 0 {
		return nil, errors.New("the answer has no pull request id")
	}
	return &PullRequest{Kind: Bitbucket, Repository: repo, Number: p.ID, URL: p.Links.HTML.Href}, nil
}

func (a *API) bitbucketPR(pr *PullRequest, more ...string) string {
	workspace, slug, _ := strings.Cut(pr.Repository, "/")
	return a.endpoint(nil, append([]string{"repositories", workspace, slug, "pullrequests", strconv.FormatInt(pr.Number, 10)}, more...)...)
}

func (a *API) bitbucketOpen(ctx context.Context, req *Request) (*PullRequest, error) {
	workspace, slug, _ := strings.Cut(req.Repository, "/")
	var p bbPR
	_, err := a.do(ctx, http.MethodPost, a.endpoint(nil, "repositories", workspace, slug, "pullrequests"), map[string]any{
		"title": req.Title, "description": req.Body,
		"source": bbBranch(req.Head), "destination": bbBranch(req.Base),
	}, &p)
	if err == nil {
		// Should Bitbucket answer a duplicate with the open pull request itself, this is it.
		return p.pullRequest(req.Repository)
	}
	if !retryable(err, http.StatusBadRequest, http.StatusConflict) {
		return nil, err
	}
	return existing(err, func() ([]candidate, error) { return a.bitbucketFind(ctx, req) })
}

// bitbucketFind lists the pull requests from req.Head into req.Base in every state:
// without state parameters Bitbucket lists only open ones.
func (a *API) bitbucketFind(ctx context.Context, req *Request) ([]candidate, error) {
	workspace, slug, _ := strings.Cut(req.Repository, "/")
	next := a.endpoint(url.Values{
		"q":       {"source.branch.name = " + bbqlString(req.Head) + " AND destination.branch.name = " + bbqlString(req.Base)},
		"state":   {"OPEN", "MERGED", "DECLINED", "SUPERSEDED"},
		"pagelen": {"50"},
	}, "repositories", workspace, slug, "pullrequests")
	var found []candidate
	for page := 0; next != "" && page < maxPages; page++ {
		var list struct {
			Values []bbPR `json:"values"`
			Next   string `json:"next"`
		}
		if _, err := a.do(ctx, http.MethodGet, next, nil, &list); err != nil {
			return nil, err
		}
		for i := range list.Values {
			p := &list.Values[i]
			if p.Source.Branch.Name != req.Head || p.Destination.Branch.Name != req.Base {
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
		if next = list.Next; next != "" && !a.sameOrigin(next) {
			next = ""
		}
	}
	return found, nil
}

// bbqlString quotes a value for Bitbucket's query language.
func bbqlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func (a *API) bitbucketState(ctx context.Context, pr *PullRequest) (State, error) {
	var p bbPR
	if _, err := a.do(ctx, http.MethodGet, a.bitbucketPR(pr), nil, &p); err != nil {
		return "", err
	}
	return p.state()
}

func (a *API) bitbucketClose(ctx context.Context, pr *PullRequest) (State, error) {
	var p bbPR
	if _, err := a.do(ctx, http.MethodPost, a.bitbucketPR(pr, "decline"), nil, &p); err != nil {
		return "", err
	}
	return p.state()
}
