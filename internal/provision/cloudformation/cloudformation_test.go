package cloudformation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/google/go-cmp/cmp"

	"github.com/openproton/openproton/internal/provision"
	"github.com/openproton/openproton/internal/provision/cloudformation/cfntest"
)

const stack = "openproton-environment-dev"

const v1 = `AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: dev-role
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  BucketName:
    Value: !Ref Bucket
  Size:
    Value: small
`

// v2 adds a topic and changes an output.
const v2 = `{"Resources": {
  "Bucket": {"Type": "AWS::S3::Bucket"},
  "Role": {"Type": "AWS::IAM::Role"},
  "Queue": {"Type": "AWS::SQS::Queue"},
  "Topic": {"Type": "AWS::SNS::Topic"}},
 "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}, "Size": {"Value": "large"}}}`

const failing = `Resources:
  Queue:
    Type: AWS::SQS::Queue
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      TestFail: dev-bucket already exists
  Role:
    Type: AWS::IAM::Role
`

const hanging = `Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Cluster:
    Type: AWS::ECS::Cluster
    Properties:
      TestHang: true
`

// setup starts a double and a provisioner pointed at it with the server's own static
// credentials; onCall, when given, hears of every call the double answers.
func setup(t *testing.T, onCall func(cfntest.Call)) (*cfntest.Server, *Provisioner) {
	t.Helper()
	srv := cfntest.New(t)
	srv.PageSize = 2 // three resources span pages
	srv.OnCall = onCall
	return srv, &Provisioner{
		Config:                 aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDSERVER", "server-secret", "")},
		PollMin:                time.Millisecond,
		PollMax:                5 * time.Millisecond,
		CleanupTimeout:         10 * time.Second,
		CloudFormationEndpoint: srv.URL,
		STSEndpoint:            srv.URL,
	}
}

func job(action provision.Action, template string) *provision.Job {
	return &provision.Job{DeploymentID: "d-1", Region: "us-west-2", Action: action, StackName: stack,
		Rendered: []byte(template), Log: provision.NewTail(1 << 20)}
}

func logOf(j *provision.Job) string {
	b, _ := j.Log.Bytes()
	return string(b)
}

func mustRun(t *testing.T, p *Provisioner, j *provision.Job) *provision.Result {
	t.Helper()
	res, err := p.Run(context.Background(), j)
	if err != nil {
		t.Fatalf("run %s: %v\nlog:\n%s", j.Action, err, logOf(j))
	}
	return res
}

func TestCreate(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	j := job(provision.Provision, v1)
	res := mustRun(t, p, j)

	st, ok := srv.Stack(stack)
	if !ok || st.Status != "CREATE_COMPLETE" {
		t.Fatalf("stack = %+v, %v", st, ok)
	}
	if diff := cmp.Diff(map[string]string{"BucketName": st.Resources["Bucket"], "Size": "small"}, res.Outputs); diff != "" || st.Resources["Bucket"] == "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	want := []provision.Resource{
		{Name: "Bucket", Identifier: st.Resources["Bucket"], Engine: "CLOUDFORMATION"},
		{Name: "Role", Identifier: st.Resources["Role"], Engine: "CLOUDFORMATION"},
		{Name: "Queue", Identifier: st.Resources["Queue"], Engine: "CLOUDFORMATION"},
	}
	if diff := cmp.Diff(want, res.Resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if n := len(srv.Calls("ListStackResources")); n != 2 {
		t.Errorf("ListStackResources called %d times, want 2 pages", n)
	}

	creates := srv.Calls("CreateStack")
	if len(creates) != 1 {
		t.Fatalf("CreateStack calls = %d", len(creates))
	}
	c := creates[0]
	if c.Params.Get("StackName") != stack || c.Params.Get("TemplateBody") != v1 {
		t.Errorf("CreateStack got name %q, template %q", c.Params.Get("StackName"), c.Params.Get("TemplateBody"))
	}
	if diff := cmp.Diff([]string{"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}, c.List("Capabilities")); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
	for _, c := range srv.Calls() {
		if c.Service != "cloudformation" || c.Region != "us-west-2" || c.AccessKeyID != "AKIDSERVER" {
			t.Errorf("%s went to %s in %s signed by %s; want cloudformation, us-west-2, AKIDSERVER", c.Action, c.Service, c.Region, c.AccessKeyID)
		}
	}
	if len(srv.Calls("UpdateStack", "DeleteStack", "AssumeRole")) != 0 {
		t.Errorf("unexpected calls: %+v", srv.Calls("UpdateStack", "DeleteStack", "AssumeRole"))
	}

	log := logOf(j)
	for _, line := range []string{"creating stack " + stack, "stack " + stack + " CREATE_IN_PROGRESS: User Initiated",
		"Bucket AWS::S3::Bucket CREATE_IN_PROGRESS", "Queue AWS::SQS::Queue CREATE_COMPLETE", "stack " + stack + " CREATE_COMPLETE\n"} {
		if !strings.Contains(log, line) {
			t.Errorf("log lacks %q:\n%s", line, log)
		}
	}
	if string(res.Log) != log {
		t.Errorf("result log differs from the job's log")
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	mustRun(t, p, job(provision.Provision, v1))
	j := job(provision.Provision, v2)
	res := mustRun(t, p, j)

	st, _ := srv.Stack(stack)
	if st.Status != "UPDATE_COMPLETE" || st.Template != v2 {
		t.Errorf("stack = %+v", st)
	}
	if diff := cmp.Diff(map[string]string{"TopicArn": st.Resources["Topic"], "Size": "large"}, res.Outputs); diff != "" || st.Resources["Topic"] == "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if len(res.Resources) != 4 {
		t.Errorf("resources = %+v", res.Resources)
	}
	updates := srv.Calls("UpdateStack")
	if len(updates) != 1 || updates[0].Params.Get("TemplateBody") != v2 || updates[0].Params.Get("StackName") != st.ID ||
		len(updates[0].List("Capabilities")) != 3 {
		t.Errorf("UpdateStack calls = %+v", updates)
	}
	if n := len(srv.Calls("CreateStack")); n != 1 {
		t.Errorf("CreateStack called %d times", n)
	}
	log := logOf(j)
	if !strings.Contains(log, "Topic AWS::SNS::Topic CREATE_COMPLETE") || !strings.Contains(log, "stack "+stack+" UPDATE_COMPLETE\n") {
		t.Errorf("log:\n%s", log)
	}
	// Events of the earlier create are not repeated.
	if strings.Contains(log, "CREATE_IN_PROGRESS: User Initiated") {
		t.Errorf("log repeats the create's events:\n%s", log)
	}
}

func TestNoopUpdateSucceeds(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	first := mustRun(t, p, job(provision.Provision, v1))
	j := job(provision.Provision, v1)
	res := mustRun(t, p, j)
	if len(srv.Calls("UpdateStack")) != 1 {
		t.Errorf("UpdateStack was not tried")
	}
	if diff := cmp.Diff(first.Outputs, res.Outputs); diff != "" {
		t.Errorf("outputs (-first +now):\n%s", diff)
	}
	if diff := cmp.Diff(first.Resources, res.Resources); diff != "" {
		t.Errorf("resources (-first +now):\n%s", diff)
	}
	if st, _ := srv.Stack(stack); st.Status != "CREATE_COMPLETE" {
		t.Errorf("status = %s", st.Status)
	}
	if !strings.Contains(logOf(j), "no updates are to be performed") {
		t.Errorf("log:\n%s", logOf(j))
	}
}

func TestFailedCreateIsRecreated(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	j := job(provision.Provision, failing)
	_, err := p.Run(context.Background(), j)
	if err == nil {
		t.Fatal("a failing create succeeded")
	}
	for _, want := range []string{"ROLLBACK_COMPLETE", "failed to create: [Bucket]", "Bucket (AWS::S3::Bucket) CREATE_FAILED: dev-bucket already exists"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "cancelled") {
		t.Errorf("error names a cancelled resource rather than the cause: %v", err)
	}
	if !strings.Contains(logOf(j), "Role AWS::IAM::Role CREATE_FAILED: Resource creation cancelled") {
		t.Errorf("log:\n%s", logOf(j))
	}
	failed, _ := srv.Stack(stack)

	res := mustRun(t, p, job(provision.Provision, v1))
	st, _ := srv.Stack(stack)
	if st.Status != "CREATE_COMPLETE" || st.ID == failed.ID || res.Outputs["Size"] != "small" {
		t.Errorf("stack after retry = %+v (failed one was %s), outputs %v", st, failed.ID, res.Outputs)
	}
	if old, _ := srv.Stack(failed.ID); old.Status != "DELETE_COMPLETE" {
		t.Errorf("failed stack is %s", old.Status)
	}
	var actions []string
	for _, c := range srv.Calls("CreateStack", "UpdateStack", "DeleteStack") {
		actions = append(actions, c.Action)
	}
	if diff := cmp.Diff([]string{"CreateStack", "DeleteStack", "CreateStack"}, actions); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
}

func TestFailedUpdate(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	mustRun(t, p, job(provision.Provision, v1))
	_, err := p.Run(context.Background(), job(provision.Provision, failing))
	if err == nil || !strings.Contains(err.Error(), "UPDATE_ROLLBACK_COMPLETE") ||
		!strings.Contains(err.Error(), "Bucket (AWS::S3::Bucket) UPDATE_FAILED: dev-bucket already exists") {
		t.Fatalf("err = %v", err)
	}
	// The rolled-back stack can be updated again.
	if _, err := p.Run(context.Background(), job(provision.Provision, v2)); err != nil {
		t.Fatalf("update after rollback: %v", err)
	}
	if st, _ := srv.Stack(stack); st.Status != "UPDATE_COMPLETE" {
		t.Errorf("status = %s", st.Status)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	mustRun(t, p, job(provision.Provision, v1))
	created, _ := srv.Stack(stack)
	j := job(provision.Deprovision, "")
	res := mustRun(t, p, j)
	if res.Outputs != nil || res.Resources != nil {
		t.Errorf("delete reported %+v", res)
	}
	if st, ok := srv.Stack(stack); ok {
		t.Errorf("stack still live: %+v", st)
	}
	if st, _ := srv.Stack(created.ID); st.Status != "DELETE_COMPLETE" {
		t.Errorf("status = %s", st.Status)
	}
	deletes := srv.Calls("DeleteStack")
	if len(deletes) != 1 || deletes[0].Params.Get("StackName") != created.ID {
		t.Errorf("DeleteStack calls = %+v", deletes)
	}
	if log := logOf(j); !strings.Contains(log, "Bucket AWS::S3::Bucket DELETE_COMPLETE") || !strings.Contains(log, "DELETE_COMPLETE\n") {
		t.Errorf("log:\n%s", log)
	}
}

func TestDeleteMissingStack(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	j := job(provision.Deprovision, "")
	mustRun(t, p, j)
	if n := len(srv.Calls("DeleteStack")); n != 0 {
		t.Errorf("DeleteStack called %d times", n)
	}
	if !strings.Contains(logOf(j), "does not exist") {
		t.Errorf("log:\n%s", logOf(j))
	}
}

// cancelOnce returns a context cancelled when the double first answers a DescribeStacks
// after a call of the given action: the provisioner is then waiting on that operation.
func cancelOnce(action string) (context.Context, func(cfntest.Call)) {
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Bool
	var once sync.Once
	return ctx, func(c cfntest.Call) {
		switch {
		case c.Action == action:
			started.Store(true)
		case c.Action == "DescribeStacks" && started.Load():
			once.Do(cancel)
		}
	}
}

func TestCancelDuringUpdateRollsBack(t *testing.T) {
	t.Parallel()
	ctx, onCall := cancelOnce("UpdateStack")
	srv, p := setup(t, onCall)
	mustRun(t, p, job(provision.Provision, v1))

	j := job(provision.Provision, hanging)
	_, err := p.Run(ctx, j)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled\nlog:\n%s", err, logOf(j))
	}
	if n := len(srv.Calls("CancelUpdateStack")); n != 1 {
		t.Errorf("CancelUpdateStack called %d times", n)
	}
	st, _ := srv.Stack(stack)
	if st.Status != "UPDATE_ROLLBACK_COMPLETE" || st.Template != v1 || st.Outputs["Size"] != "small" {
		t.Errorf("stack = %+v", st)
	}
	if !strings.Contains(err.Error(), "UPDATE_ROLLBACK_COMPLETE") || !strings.Contains(logOf(j), "UPDATE_ROLLBACK_COMPLETE") {
		t.Errorf("err %v; log:\n%s", err, logOf(j))
	}
}

func TestCancelDuringCreateDeletes(t *testing.T) {
	t.Parallel()
	ctx, onCall := cancelOnce("CreateStack")
	srv, p := setup(t, onCall)
	j := job(provision.Provision, hanging)
	_, err := p.Run(ctx, j)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled\nlog:\n%s", err, logOf(j))
	}
	if st, ok := srv.Stack(stack); ok {
		t.Errorf("stack still live: %+v", st)
	}
	creates, deletes := srv.Calls("CreateStack"), srv.Calls("DeleteStack")
	if len(creates) != 1 || len(deletes) != 1 {
		t.Fatalf("creates %d, deletes %d", len(creates), len(deletes))
	}
	id := deletes[0].Params.Get("StackName")
	if st, _ := srv.Stack(id); st.Status != "DELETE_COMPLETE" || st.Name != stack {
		t.Errorf("deleted stack %s = %+v", id, st)
	}
	if len(srv.Calls("CancelUpdateStack")) != 0 {
		t.Error("CancelUpdateStack called for a create")
	}
}

func TestTimeoutRollsBack(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	j := job(provision.Provision, hanging)
	j.Timeout = 50 * time.Millisecond
	_, err := p.Run(context.Background(), j)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := srv.Stack(stack); ok || len(srv.Calls("DeleteStack")) != 1 {
		t.Errorf("the timed-out create was not deleted")
	}
}

func TestAssumesJobRole(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	j := job(provision.Provision, v1)
	j.RoleARN = "arn:aws:iam::111111111111:role/proton-env"
	j.DeploymentID = "4f1c2b7e-9d3a-4b8e-a1f0-5c6d7e8f9a0b"
	mustRun(t, p, j)

	assumes := srv.Calls("AssumeRole")
	if len(assumes) != 1 {
		t.Fatalf("AssumeRole called %d times", len(assumes))
	}
	a := assumes[0]
	if a.Service != "sts" || a.AccessKeyID != "AKIDSERVER" || a.Params.Get("RoleArn") != j.RoleARN ||
		a.Params.Get("RoleSessionName") != "openproton-"+j.DeploymentID {
		t.Errorf("AssumeRole call = %+v", a)
	}
	for _, c := range srv.Calls() {
		if c.Service == "cloudformation" && c.AccessKeyID != cfntest.AssumedAccessKeyID {
			t.Errorf("%s signed by %s, not the assumed role", c.Action, c.AccessKeyID)
		}
	}
}

func TestSessionName(t *testing.T) {
	t.Parallel()
	if got := sessionName(""); got != "openproton" {
		t.Errorf("empty: %q", got)
	}
	if got := sessionName("a b/c"); got != "openproton-a-b-c" {
		t.Errorf("unsafe: %q", got)
	}
	if got := sessionName(strings.Repeat("x", 100)); len(got) != 64 {
		t.Errorf("long: %d characters", len(got))
	}
}

// A job that finds its stack busy (an earlier job interrupted mid-flight) waits for it,
// then updates.
func TestWaitsForOperationInFlight(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	client := cfn.New(cfn.Options{Region: "us-west-2", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDOTHER", "secret", "")})
	if _, err := client.CreateStack(context.Background(), &cfn.CreateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(v1),
		Capabilities: capabilities}); err != nil {
		t.Fatal(err)
	}
	j := job(provision.Provision, v2)
	res := mustRun(t, p, j)
	if res.Outputs["Size"] != "large" || len(srv.Calls("UpdateStack")) != 1 || len(srv.Calls("CreateStack")) != 1 {
		t.Errorf("outputs %v; calls %+v", res.Outputs, srv.Calls("CreateStack", "UpdateStack"))
	}
	if !strings.Contains(logOf(j), "is CREATE_IN_PROGRESS: waiting") {
		t.Errorf("log:\n%s", logOf(j))
	}
}

func TestUnknownActionAndMissingStackName(t *testing.T) {
	t.Parallel()
	srv, p := setup(t, nil)
	if _, err := p.Run(context.Background(), job("EXPLODE", v1)); err == nil {
		t.Error("unknown action accepted")
	}
	j := job(provision.Provision, v1)
	j.StackName = ""
	if _, err := p.Run(context.Background(), j); err == nil {
		t.Error("missing stack name accepted")
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d calls made", n)
	}
}

// The standard AWS_ENDPOINT_URL_* variables steer the server's configuration, STS included.
// Not parallel: it sets the process environment.
func TestEndpointsFromEnvironment(t *testing.T) {
	srv := cfntest.New(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_CLOUDFORMATION": srv.URL, "AWS_ENDPOINT_URL_STS": srv.URL,
		"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_REGION": "eu-central-1",
		"AWS_CONFIG_FILE": dir + "/config", "AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials",
		"AWS_PROFILE": "", "AWS_ENDPOINT_URL": "", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := &Provisioner{Config: cfg, PollMin: time.Millisecond, PollMax: time.Millisecond}
	j := job(provision.Provision, v1)
	j.Region = ""
	j.RoleARN = "arn:aws:iam::111111111111:role/proton-env"
	mustRun(t, p, j)
	var services []string
	for _, c := range srv.Calls() {
		if c.Region != "eu-central-1" {
			t.Errorf("%s in region %s", c.Action, c.Region)
		}
		if !slices.Contains(services, c.Service) {
			services = append(services, c.Service)
		}
	}
	if diff := cmp.Diff([]string{"sts", "cloudformation"}, services); diff != "" {
		t.Errorf("services reached (-want +got):\n%s", diff)
	}
}

// An update that completes just as the job is cancelled stays: the deployment succeeded
// with the new stack's outputs (Proton: a cancel reaching a finished deployment does
// nothing), and nothing is rolled back.
func TestCancelAfterUpdateCompletedSucceeds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var srv *cfntest.Server
	var updating atomic.Bool
	srv, p := setup(t, func(c cfntest.Call) {
		switch {
		case c.Action == "UpdateStack":
			updating.Store(true)
		case c.Action == "DescribeStacks" && updating.Load():
			if st, ok := srv.Stack(stack); ok && st.Status == "UPDATE_COMPLETE" {
				cancel()
			}
		}
	})
	mustRun(t, p, job(provision.Provision, v1))

	j := job(provision.Provision, v2)
	res, err := p.Run(ctx, j)
	if err != nil {
		t.Fatalf("err = %v, want success\nlog:\n%s", err, logOf(j))
	}
	if ctx.Err() == nil {
		t.Fatal("the job was never cancelled: the test proves nothing")
	}
	st, _ := srv.Stack(stack)
	if st.Status != "UPDATE_COMPLETE" || st.Template != v2 || len(srv.Calls("CancelUpdateStack")) != 0 {
		t.Errorf("stack = %+v, CancelUpdateStack calls %d", st, len(srv.Calls("CancelUpdateStack")))
	}
	if len(res.Outputs) == 0 || res.Outputs["Size"] == "small" {
		t.Errorf("outputs = %v, want v2's", res.Outputs)
	}
}
