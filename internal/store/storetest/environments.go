package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/openproton/openproton/internal/store"
)

func environment(name, template string, major, minor int) *store.Environment {
	return &store.Environment{
		AccountID: "a", Name: name, Description: "d", TemplateName: template, TemplateMajor: major, TemplateMinor: minor,
		Spec: "proton: EnvironmentSpec\nspec: {}\n", CodebuildRoleArn: "arn:aws:iam::111111111111:role/cb",
		ProvisioningRepository: &store.RepositoryBranch{ARN: "arn:repo", Provider: "GITHUB", Name: "o/r", Branch: "main"},
		DeploymentStatus:       store.StatusInProgress, LastAttemptedDeploymentID: "d1",
		LastDeploymentAttemptedAt: instant, Inputs: `{"size":3}`, Outputs: []store.Output{{Key: "vpc", Value: "vpc-1"}}, CreatedAt: instant,
	}
}

func testEnvironments(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	must(t, s.EnvironmentCreate(ctx, environment("dev", "vpc", 1, 0)))
	wantErr(t, "duplicate", s.EnvironmentCreate(ctx, environment("dev", "vpc", 1, 1)), store.ErrAlreadyExists)

	got, err := s.EnvironmentGet(ctx, "a", "dev")
	must(t, err)
	want := environment("dev", "vpc", 1, 0)
	want.CreatedAt, want.LastDeploymentAttemptedAt, want.Version = stored, stored, 1
	same(t, "get", got, want)

	// A stale version loses; the current one wins and bumps it.
	stale := *got
	got.DeploymentStatus, got.Outputs, got.ProvisioningRepository = store.StatusSucceeded, nil, nil
	must(t, s.EnvironmentUpdate(ctx, got))
	wantErr(t, "stale update", s.EnvironmentUpdate(ctx, &stale), store.ErrConflict)
	again, err := s.EnvironmentGet(ctx, "a", "dev")
	must(t, err)
	same(t, "after update", again, got)

	must(t, s.EnvironmentCreate(ctx, environment("prod", "vpc", 2, 0)))
	must(t, s.EnvironmentCreate(ctx, environment("test", "other", 1, 0)))
	for i := range 5 {
		must(t, s.EnvironmentCreate(ctx, environment(fmt.Sprintf("x%d", i), "vpc", 1, 1)))
	}
	n, err := s.EnvironmentCountUsing(ctx, "a", "vpc", 1, -1)
	must(t, err)
	same(t, "using vpc:1", n, 6)
	n, err = s.EnvironmentCountUsing(ctx, "a", "vpc", 1, 0)
	must(t, err)
	same(t, "using vpc:1.0", n, 1)

	var names []string
	p := store.Page{Limit: 2}
	for {
		list, next, err := s.EnvironmentList(ctx, "a", []store.TemplateRef{{Name: "vpc", Major: 2}, {Name: "other", Major: 1}}, p)
		must(t, err)
		for _, e := range list {
			names = append(names, e.Name)
		}
		if next == "" {
			break
		}
		p.After = next
	}
	same(t, "filtered list", names, []string{"prod", "test"})
	all, _, err := s.EnvironmentList(ctx, "a", nil, store.Page{})
	must(t, err)
	same(t, "all", len(all), 8)
	n, err = s.EnvironmentCount(ctx, "a")
	must(t, err)
	same(t, "count", n, 8)

	must(t, s.EnvironmentDelete(ctx, "a", "dev"))
	wantErr(t, "delete again", s.EnvironmentDelete(ctx, "a", "dev"), store.ErrNotFound)
	_, err = s.EnvironmentGet(ctx, "a", "dev")
	wantErr(t, "get deleted", err, store.ErrNotFound)
}

func deployment(id, env string, created time.Time) *store.Deployment {
	return &store.Deployment{
		ID: id, AccountID: "a", TargetType: store.TargetEnvironment, TargetARN: "arn:aws:proton:r:a:environment/" + env,
		TargetCreatedAt: instant, EnvironmentName: env, Action: "PROVISION", Status: store.StatusInProgress,
		InitialState: `{}`, TargetState: `{"environment":{}}`, Inputs: `{"size":3}`, InitialInputs: `{"size":2}`,
		CreatedAt: created, LastModifiedAt: created,
	}
}

func testDeployments(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 7 {
		env := "dev"
		if i%2 == 1 {
			env = "prod"
		}
		d := deployment(fmt.Sprintf("d%d", i), env, base.Add(time.Duration(i)*time.Second))
		d.Log = []byte("started\n")
		must(t, s.DeploymentCreate(ctx, d))
	}
	wantErr(t, "duplicate", s.DeploymentCreate(ctx, deployment("d0", "dev", base)), store.ErrAlreadyExists)

	// Newest first, across pages, filtered by environment.
	var ids []string
	p := store.Page{Limit: 2}
	for {
		list, next, err := s.DeploymentList(ctx, "a", store.DeploymentFilter{EnvironmentName: "dev"}, p)
		must(t, err)
		for _, d := range list {
			ids = append(ids, d.ID)
		}
		if next == "" {
			break
		}
		p.After = next
	}
	same(t, "dev deployments", ids, []string{"d6", "d4", "d2", "d0"})
	all, _, err := s.DeploymentList(ctx, "a", store.DeploymentFilter{}, store.Page{})
	must(t, err)
	same(t, "all", len(all), 7)
	other, _, err := s.DeploymentList(ctx, "b", store.DeploymentFilter{}, store.Page{})
	must(t, err)
	same(t, "other account", len(other), 0)

	d, err := s.DeploymentGet(ctx, "a", "d3")
	must(t, err)
	same(t, "get leaves the log out", d.Log, []byte(nil))
	same(t, "completed unset", d.CompletedAt.IsZero(), true)
	same(t, "inputs", d.Inputs+" "+d.InitialInputs, `{"size":3} {"size":2}`)

	// Lease: a deployment whose lease ran out is orphaned; one without a lease is not.
	d.Attempt, d.LeaseOwner, d.LeaseExpiresAt = 1, "replica-1", base.Add(time.Minute)
	d.Outputs = []store.Output{{Key: "k", Value: "v"}}
	d.LastModifiedAt = base.Add(time.Minute)
	must(t, s.DeploymentUpdate(ctx, d))
	orphans, err := s.DeploymentsOrphaned(ctx, base.Add(2*time.Minute), base, 10)
	must(t, err)
	same(t, "orphans", len(orphans), 1)
	same(t, "orphan", orphans[0].ID, "d3")
	same(t, "orphan outputs", orphans[0].Outputs, d.Outputs)
	orphans, err = s.DeploymentsOrphaned(ctx, base.Add(30*time.Second), base, 10)
	must(t, err)
	same(t, "lease still valid", len(orphans), 0)
	// In-flight deployments without a lease count once they sat untouched too long.
	orphans, err = s.DeploymentsOrphaned(ctx, base.Add(30*time.Second), base.Add(3*time.Second), 10)
	must(t, err)
	same(t, "idle unleased", len(orphans), 3) // d0, d1, d2; d3 is leased
	// One handed on (awaiting a report) is never orphaned, however long it waits.
	d0, err := s.DeploymentGet(ctx, "a", "d0")
	must(t, err)
	d0.Awaiting = true
	must(t, s.DeploymentUpdate(ctx, d0))
	d0, err = s.DeploymentGet(ctx, "a", "d0")
	must(t, err)
	same(t, "awaiting kept", d0.Awaiting, true)
	orphans, err = s.DeploymentsOrphaned(ctx, base.Add(30*time.Second), base.Add(time.Hour), 10)
	must(t, err)
	for _, o := range orphans {
		if o.ID == "d0" {
			t.Errorf("a deployment awaiting its report was orphaned")
		}
	}
	d0.Awaiting = false
	must(t, s.DeploymentUpdate(ctx, d0))

	// Claims: not while another lease is valid; yes once it ran out, or for the holder.
	_, err = s.DeploymentClaim(ctx, "a", "d3", 1, "replica-2", base.Add(30*time.Second), base.Add(time.Hour))
	wantErr(t, "claim under a valid lease", err, store.ErrNotFound)
	_, err = s.DeploymentClaim(ctx, "a", "d3", 2, "replica-2", base.Add(2*time.Minute), base.Add(time.Hour))
	wantErr(t, "claim of another attempt", err, store.ErrNotFound)
	claimed, err := s.DeploymentClaim(ctx, "a", "d3", 1, "replica-2", base.Add(2*time.Minute), base.Add(3*time.Minute))
	must(t, err)
	same(t, "claimed by", claimed.LeaseOwner, "replica-2")
	same(t, "claimed until", claimed.LeaseExpiresAt, base.Add(3*time.Minute))
	same(t, "claim bumps the version", claimed.Version, d.Version+1)
	d = claimed

	stale := *d
	d.Status, d.LeaseOwner, d.CompletedAt, d.Log = store.StatusSucceeded, "", base.Add(time.Hour), []byte("done\n")
	must(t, s.DeploymentUpdate(ctx, d))
	wantErr(t, "stale", s.DeploymentUpdate(ctx, &stale), store.ErrConflict)
	log, err := s.DeploymentLog(ctx, "a", "d3")
	must(t, err)
	same(t, "log", string(log), "done\n")
	got, err := s.DeploymentGet(ctx, "a", "d3")
	must(t, err)
	same(t, "completed", got.CompletedAt, base.Add(time.Hour))
	// An update without a log keeps the stored one.
	got.StatusMessage = "fine"
	must(t, s.DeploymentUpdate(ctx, got))
	log, err = s.DeploymentLog(ctx, "a", "d3")
	must(t, err)
	same(t, "log kept", string(log), "done\n")

	must(t, s.DeploymentDelete(ctx, "a", "d3"))
	wantErr(t, "delete again", s.DeploymentDelete(ctx, "a", "d3"), store.ErrNotFound)
	_, err = s.DeploymentLog(ctx, "a", "d3")
	wantErr(t, "log of deleted", err, store.ErrNotFound)
}
