// Package cloudformation is the provisioner for CloudFormation templates, as Proton's
// AWS-managed provisioning did it: the rendered template becomes one stack per resource,
// created or updated in place, watched until it settles, and its outputs become the
// resource's outputs.
package cloudformation

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/openproton/openproton/internal/provision"
)

// Provisioner deploys a job's rendered template as a CloudFormation stack.
type Provisioner struct {
	// Config is the server's own AWS configuration (config.LoadDefaultConfig honours
	// AWS_ENDPOINT_URL_CLOUDFORMATION and AWS_ENDPOINT_URL_STS); jobs with a RoleARN assume
	// that role with it.
	Config aws.Config
	// PollMin and PollMax bound the interval between DescribeStacks polls: brisk at first,
	// backing off while a stack takes its time (0 = 1s and 10s).
	PollMin, PollMax time.Duration
	// CleanupTimeout bounds rolling back or deleting a stack after a job is cancelled
	// (0 = 30 minutes).
	CleanupTimeout time.Duration
	// CloudFormationEndpoint and STSEndpoint override the services' endpoints ("" = the
	// Config's own resolution).
	CloudFormationEndpoint, STSEndpoint string
}

var _ provision.Provisioner = (*Provisioner)(nil)

// Engine is how the resources this provisioner reports are labelled.
const Engine = "CLOUDFORMATION"

// capabilities are all that a template may need: Proton's templates create IAM roles and
// may use macros or nested stacks.
var capabilities = []types.Capability{types.CapabilityCapabilityIam, types.CapabilityCapabilityNamedIam, types.CapabilityCapabilityAutoExpand}

// Run creates, updates or deletes the job's stack and waits for it to settle.
func (p *Provisioner) Run(ctx context.Context, job *provision.Job) (res *provision.Result, err error) {
	log := job.Log
	if log == nil {
		log = provision.NewTail(provision.DefaultMaxLog)
	}
	res = &provision.Result{}
	defer func() { res.Log, _ = log.Bytes() }()
	if job.StackName == "" {
		return res, errors.New("cloudformation: the job names no stack")
	}
	timeout := job.Timeout
	if timeout <= 0 {
		timeout = provision.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	r := &run{p: p, cfn: p.client(job), name: job.StackName, log: log, timeout: timeout}
	switch job.Action {
	case provision.Provision:
		return res, r.provision(ctx, job.Rendered, res)
	case provision.Deprovision:
		return res, r.deprovision(ctx)
	default:
		return res, fmt.Errorf("cloudformation: unknown action %q", job.Action)
	}
}

// client is a CloudFormation client for the job's region, with the job's role assumed
// when it names one.
func (p *Provisioner) client(job *provision.Job) *cfn.Client {
	cfg := p.Config.Copy()
	if job.Region != "" {
		cfg.Region = job.Region
	}
	if job.RoleARN != "" {
		stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) {
			if p.STSEndpoint != "" {
				o.BaseEndpoint = aws.String(p.STSEndpoint)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, job.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = sessionName(job.DeploymentID)
		}))
	}
	return cfn.NewFromConfig(cfg, func(o *cfn.Options) {
		if p.CloudFormationEndpoint != "" {
			o.BaseEndpoint = aws.String(p.CloudFormationEndpoint)
		}
	})
}

var sessionUnsafe = regexp.MustCompile(`[^\w+=,.@-]`)

// sessionName names the deployment in the role's CloudTrail entries, within STS's
// constraints (64 characters of [\w+=,.@-]).
func sessionName(deploymentID string) string {
	name := "openproton-" + sessionUnsafe.ReplaceAllString(deploymentID, "-")
	if deploymentID == "" {
		name = "openproton"
	}
	return name[:min(len(name), 64)]
}

// run is one job's work on its stack.
type run struct {
	p       *Provisioner
	cfn     *cfn.Client
	name    string
	log     *provision.Tail
	timeout time.Duration
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "%s %s\n", time.Now().UTC().Format(time.TimeOnly), fmt.Sprintf(format, args...))
}

// provision brings the stack to the template, by the stack's status:
//
//	none, DELETE_COMPLETE                        CreateStack
//	ROLLBACK_COMPLETE, ROLLBACK_FAILED,
//	CREATE_FAILED, REVIEW_IN_PROGRESS            DeleteStack, then CreateStack
//	DELETE_FAILED, UPDATE_ROLLBACK_FAILED,
//	IMPORT_ROLLBACK_FAILED                       error: needs a human
//	other *_IN_PROGRESS                          wait for it to settle, then decide again
//	anything else (*_COMPLETE)                   UpdateStack ("No updates" is success)
func (r *run) provision(ctx context.Context, template []byte, res *provision.Result) error {
	// A stack busy with an earlier operation (a job interrupted by a crash) is waited
	// for first; the loop is bounded in case something else keeps starting operations.
	for range 3 {
		stack, err := r.describe(ctx, r.name)
		if err != nil {
			return err
		}
		switch status := statusOf(stack); {
		case stack == nil || status == types.StackStatusDeleteComplete:
			return r.create(ctx, template, res)
		case status == types.StackStatusRollbackComplete, status == types.StackStatusRollbackFailed,
			status == types.StackStatusCreateFailed, status == types.StackStatusReviewInProgress:
			// A failed create (or an unexecuted change set) holds nothing worth keeping and
			// CloudFormation cannot update it: start over.
			r.logf("stack %s is %s and cannot be updated: deleting it to create it again", r.name, status)
			if err := r.delete(ctx, stack); err != nil {
				return err
			}
			return r.create(ctx, template, res)
		case status == types.StackStatusDeleteFailed, status == types.StackStatusUpdateRollbackFailed,
			status == types.StackStatusImportRollbackFailed:
			return fmt.Errorf("cloudformation: stack %s is %s (%s): it needs attention in CloudFormation before it can be deployed", r.name, status, aws.ToString(stack.StackStatusReason))
		case !settled(status):
			r.logf("stack %s is %s: waiting for that operation to finish", r.name, status)
			id := aws.ToString(stack.StackId)
			if _, err := r.wait(ctx, &operation{stackID: id, after: r.newestEvent(ctx, id)}); err != nil {
				return r.interrupted(ctx, "wait for", err)
			}
		default:
			return r.update(ctx, stack, template, res)
		}
	}
	return fmt.Errorf("cloudformation: stack %s keeps changing under us", r.name)
}

func (r *run) deprovision(ctx context.Context) error {
	stack, err := r.describe(ctx, r.name)
	if err != nil {
		return err
	}
	if stack == nil || statusOf(stack) == types.StackStatusDeleteComplete {
		r.logf("stack %s does not exist: nothing to delete", r.name)
		return nil
	}
	return r.delete(ctx, stack)
}

func (r *run) create(ctx context.Context, template []byte, res *provision.Result) error {
	r.logf("creating stack %s", r.name)
	out, err := r.cfn.CreateStack(ctx, &cfn.CreateStackInput{
		StackName:    aws.String(r.name),
		TemplateBody: aws.String(string(template)),
		Capabilities: capabilities,
	})
	if err != nil {
		if ctx.Err() != nil {
			// The request may have reached CloudFormation: clean up by name.
			return r.cancelled(ctx, "create", &operation{stackID: r.name}, nil)
		}
		return fmt.Errorf("cloudformation: create stack %s: %w", r.name, err)
	}
	op := &operation{stackID: aws.ToString(out.StackId)}
	stack, err := r.wait(ctx, op)
	if err != nil {
		if ctx.Err() != nil {
			return r.cancelled(ctx, "create", op, nil)
		}
		return err
	}
	if stack.StackStatus != types.StackStatusCreateComplete {
		return r.failed(stack, op)
	}
	return r.settledResults(ctx, stack, res)
}

func (r *run) update(ctx context.Context, stack *types.Stack, template []byte, res *provision.Result) error {
	op := &operation{stackID: aws.ToString(stack.StackId)}
	op.after = r.newestEvent(ctx, op.stackID)
	r.logf("updating stack %s (%s)", r.name, stack.StackStatus)
	_, err := r.cfn.UpdateStack(ctx, &cfn.UpdateStackInput{
		StackName:    aws.String(op.stackID),
		TemplateBody: aws.String(string(template)),
		Capabilities: capabilities,
	})
	if isValidation(err, "No updates are to be performed") {
		r.logf("stack %s: no updates are to be performed", r.name)
		return r.results(ctx, stack, res)
	}
	if err != nil {
		if ctx.Err() != nil {
			return r.cancelled(ctx, "update", op, res)
		}
		return fmt.Errorf("cloudformation: update stack %s: %w", r.name, err)
	}
	stack, err = r.wait(ctx, op)
	if err != nil {
		if ctx.Err() != nil {
			return r.cancelled(ctx, "update", op, res)
		}
		return err
	}
	if stack.StackStatus != types.StackStatusUpdateComplete {
		return r.failed(stack, op)
	}
	return r.settledResults(ctx, stack, res)
}

// delete deletes the stack and waits until it is gone. Cancelling cannot stop a delete,
// so a cancelled wait just reports that the stack is still being deleted.
func (r *run) delete(ctx context.Context, stack *types.Stack) error {
	op := &operation{stackID: aws.ToString(stack.StackId), after: r.newestEvent(ctx, aws.ToString(stack.StackId))}
	if !settled(stack.StackStatus) && stack.StackStatus != types.StackStatusDeleteInProgress {
		r.logf("stack %s is %s: waiting for that operation to finish", r.name, stack.StackStatus)
		if _, err := r.wait(ctx, op); err != nil {
			return r.interrupted(ctx, "wait for", err)
		}
		op.events = nil // that operation's failures are not the delete's
	}
	r.logf("deleting stack %s", r.name)
	if _, err := r.cfn.DeleteStack(ctx, &cfn.DeleteStackInput{StackName: aws.String(op.stackID)}); err != nil {
		return r.interrupted(ctx, "delete", fmt.Errorf("cloudformation: delete stack %s: %w", r.name, err))
	}
	done, err := r.wait(ctx, op)
	if err != nil {
		return r.interrupted(ctx, "delete", err)
	}
	if done.StackStatus != types.StackStatusDeleteComplete {
		return r.failed(done, op)
	}
	return nil
}

// interrupted explains err when it comes from the job's context ending.
func (r *run) interrupted(ctx context.Context, what string, err error) error {
	if ctx.Err() == nil {
		return err
	}
	return fmt.Errorf("cloudformation: %s stack %s %s: %w", what, r.name, r.cause(ctx), ctx.Err())
}

func (r *run) cause(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timed out after %s", r.timeout)
	}
	return "cancelled"
}

// cancelled undoes an interrupted create (delete the stack) or update (CancelUpdateStack,
// which rolls back), with a fresh bounded context since the job's own has ended, and
// returns the job context's error. An update that completed before the cancel reached it
// stays: as on Proton, the deployment then succeeded (res gets its results, nil error).
func (r *run) cancelled(ctx context.Context, what string, op *operation, res *provision.Result) error {
	timeout := r.p.CleanupTimeout
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	r.logf("%s of stack %s %s: rolling back", what, r.name, r.cause(ctx))
	final, err := r.rollback(cctx, what, op)
	if err != nil {
		return fmt.Errorf("cloudformation: %s stack %s %s, and rolling back failed (%v): %w", what, r.name, r.cause(ctx), err, ctx.Err())
	}
	if what == "update" && final.StackStatus == types.StackStatusUpdateComplete && res != nil {
		r.logf("stack %s: the update completed before the cancel reached it", r.name)
		return r.results(cctx, final, res)
	}
	return fmt.Errorf("cloudformation: %s stack %s %s (stack is now %s): %w", what, r.name, r.cause(ctx), final.StackStatus, ctx.Err())
}

// rollback goes on watching op, so the log shows the operation's events and then the
// rollback's.
func (r *run) rollback(ctx context.Context, what string, op *operation) (*types.Stack, error) {
	if what == "create" {
		// CloudFormation stops a create in progress when its stack is deleted.
		if _, err := r.cfn.DeleteStack(ctx, &cfn.DeleteStackInput{StackName: aws.String(op.stackID)}); err != nil {
			return nil, fmt.Errorf("delete stack: %w", err)
		}
	} else {
		stack, err := r.describe(ctx, op.stackID)
		if err != nil {
			return nil, err
		}
		if statusOf(stack) == types.StackStatusUpdateInProgress {
			_, err := r.cfn.CancelUpdateStack(ctx, &cfn.CancelUpdateStackInput{StackName: aws.String(op.stackID)})
			// The update may have moved past the point of cancelling meanwhile.
			if err != nil && !isValidation(err, "") {
				return nil, fmt.Errorf("cancel update: %w", err)
			}
		}
	}
	return r.wait(ctx, op)
}

// settledResults reads a completed operation's results even if the job was cancelled or
// timed out just as it completed: the stack is deployed, so the deployment succeeded (a
// cancel reaching a finished deployment has no effect, as on Proton).
func (r *run) settledResults(ctx context.Context, stack *types.Stack, res *provision.Result) error {
	if ctx.Err() == nil {
		return r.results(ctx, stack, res)
	}
	r.logf("stack %s: the operation completed before the job was %s", r.name, r.cause(ctx))
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return r.results(cctx, stack, res)
}

// operation is one stack operation being watched: the stack, the newest event from before
// it began, and the events it has produced so far, oldest first.
type operation struct {
	stackID string
	after   string
	status  types.StackStatus
	events  []types.StackEvent
}

// wait polls the stack until it settles and returns it, logging status changes and
// resource events as they come. A stack that no longer exists is reported DELETE_COMPLETE.
func (r *run) wait(ctx context.Context, op *operation) (*types.Stack, error) {
	interval, longest := r.p.PollMin, r.p.PollMax
	if interval <= 0 {
		interval = time.Second
	}
	if longest <= 0 {
		longest = 10 * time.Second
	}
	for {
		stack, err := r.describe(ctx, op.stackID)
		if err != nil {
			return nil, err
		}
		if stack == nil {
			stack = &types.Stack{StackId: aws.String(op.stackID), StackName: aws.String(r.name), StackStatus: types.StackStatusDeleteComplete}
		}
		r.events(ctx, op)
		if stack.StackStatus != op.status { // the events did not tell (yet)
			op.status = stack.StackStatus
			r.logStatus(op.status, aws.ToString(stack.StackStatusReason))
		}
		if settled(stack.StackStatus) {
			return stack, nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		interval = max(min(interval*3/2, longest), interval)
	}
}

// maxEventPages bounds how far back one look at a stack's events goes.
const maxEventPages = 5

// events logs the resource events that are new since the last look and keeps them for
// failure messages. They only inform, so failing to read them does not fail the job.
func (r *run) events(ctx context.Context, op *operation) {
	var fresh []types.StackEvent
	pages := cfn.NewDescribeStackEventsPaginator(r.cfn, &cfn.DescribeStackEventsInput{StackName: aws.String(op.stackID)})
pages:
	for n := 0; pages.HasMorePages() && n < maxEventPages; n++ {
		page, err := pages.NextPage(ctx)
		if err != nil {
			if ctx.Err() == nil && !isValidation(err, "does not exist") {
				r.logf("stack %s: reading events: %v", r.name, err)
			}
			break
		}
		for _, ev := range page.StackEvents { // newest first
			if aws.ToString(ev.EventId) == op.after {
				break pages
			}
			fresh = append(fresh, ev)
		}
	}
	if len(fresh) == 0 {
		return
	}
	op.after = aws.ToString(fresh[0].EventId)
	for i := len(fresh) - 1; i >= 0; i-- {
		ev := fresh[i]
		op.events = append(op.events, ev)
		if isStackEvent(ev) {
			op.status = types.StackStatus(ev.ResourceStatus)
			r.logStatus(op.status, aws.ToString(ev.ResourceStatusReason))
			continue
		}
		line := fmt.Sprintf("%s %s %s", aws.ToString(ev.LogicalResourceId), aws.ToString(ev.ResourceType), ev.ResourceStatus)
		if reason := strings.TrimSpace(aws.ToString(ev.ResourceStatusReason)); reason != "" {
			line += ": " + reason
		}
		r.logf("%s", line)
	}
}

func (r *run) logStatus(status types.StackStatus, reason string) {
	if reason = strings.TrimSpace(reason); reason != "" {
		r.logf("stack %s %s: %s", r.name, status, reason)
	} else {
		r.logf("stack %s %s", r.name, status)
	}
}

// newestEvent is the stack's latest event id, so that watching an operation starts after it.
func (r *run) newestEvent(ctx context.Context, stackID string) string {
	out, err := r.cfn.DescribeStackEvents(ctx, &cfn.DescribeStackEventsInput{StackName: aws.String(stackID)})
	if err != nil || len(out.StackEvents) == 0 {
		return ""
	}
	return aws.ToString(out.StackEvents[0].EventId)
}

func isStackEvent(ev types.StackEvent) bool {
	return aws.ToString(ev.ResourceType) == "AWS::CloudFormation::Stack" && aws.ToString(ev.PhysicalResourceId) == aws.ToString(ev.StackId)
}

// failed describes a stack that settled in a failure status the way Proton did: the
// stack's status reason and the first resource that failed, with its reason.
func (r *run) failed(stack *types.Stack, op *operation) error {
	msg := fmt.Sprintf("cloudformation: stack %s is %s", r.name, stack.StackStatus)
	reason := aws.ToString(stack.StackStatusReason)
	// A settled rollback may have no reason of its own: the one that started it explains.
	for i := len(op.events) - 1; i >= 0 && reason == ""; i-- {
		if ev := op.events[i]; isStackEvent(ev) && aws.ToString(ev.ResourceStatusReason) != "User Initiated" {
			reason = aws.ToString(ev.ResourceStatusReason)
		}
	}
	if reason = strings.TrimSpace(reason); reason != "" {
		msg += ": " + reason
	}
	if ev := firstFailure(op.events); ev != nil {
		msg += fmt.Sprintf("; %s (%s) %s: %s", aws.ToString(ev.LogicalResourceId), aws.ToString(ev.ResourceType), ev.ResourceStatus, strings.TrimSpace(aws.ToString(ev.ResourceStatusReason)))
	}
	return errors.New(msg)
}

// firstFailure is the earliest resource failure, preferring a cause over the
// cancellations CloudFormation reports for the resources it then abandoned.
func firstFailure(events []types.StackEvent) *types.StackEvent {
	var first *types.StackEvent
	for i, ev := range events {
		if isStackEvent(ev) || !strings.HasSuffix(string(ev.ResourceStatus), "_FAILED") {
			continue
		}
		if !strings.HasSuffix(aws.ToString(ev.ResourceStatusReason), " cancelled") {
			return &events[i]
		}
		if first == nil {
			first = &events[i]
		}
	}
	return first
}

// results are the stack's outputs and resources.
func (r *run) results(ctx context.Context, stack *types.Stack, res *provision.Result) error {
	res.Outputs = make(map[string]string, len(stack.Outputs))
	for _, o := range stack.Outputs {
		res.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	pages := cfn.NewListStackResourcesPaginator(r.cfn, &cfn.ListStackResourcesInput{StackName: stack.StackId})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("cloudformation: list resources of stack %s: %w", r.name, err)
		}
		for _, s := range page.StackResourceSummaries {
			res.Resources = append(res.Resources, provision.Resource{
				Name: aws.ToString(s.LogicalResourceId), Identifier: aws.ToString(s.PhysicalResourceId), Engine: Engine,
			})
		}
	}
	r.logf("stack %s: %d outputs, %d resources", r.name, len(res.Outputs), len(res.Resources))
	return nil
}

// describe returns the stack by name or id, or nil when it does not exist.
func (r *run) describe(ctx context.Context, stack string) (*types.Stack, error) {
	out, err := r.cfn.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(stack)})
	if isValidation(err, "does not exist") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cloudformation: describe stack %s: %w", r.name, err)
	}
	if len(out.Stacks) == 0 {
		return nil, nil
	}
	return &out.Stacks[0], nil
}

func statusOf(stack *types.Stack) types.StackStatus {
	if stack == nil {
		return ""
	}
	return stack.StackStatus
}

// settled reports whether no operation is running on a stack. REVIEW_IN_PROGRESS is a
// stack waiting for a change set to be executed: nothing is happening to it.
func settled(s types.StackStatus) bool {
	return s == types.StackStatusReviewInProgress || !strings.HasSuffix(string(s), "_IN_PROGRESS")
}

// isValidation reports whether err is CloudFormation's ValidationError with a message
// containing text.
func isValidation(err error, text string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationError" && strings.Contains(api.ErrorMessage(), text)
}
