package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/config"
)

const environmentAccount = "222222222222"

// The connection lifecycle across two accounts: requested in the environment account,
// accepted or rejected in the management account, used to create an environment there.
func TestEnvironmentAccountConnections(t *testing.T) {
	srv := startServerWith(t, func(c *config.Server) { c.Provisioner = "noop" })
	ctx := context.Background()
	mgmt := srv.admin() // account 000000000000
	envID, envSecret := srv.newKey(t, environmentAccount, auth.RoleAdmin)
	envAcct := srv.client(envID, envSecret)
	strangerID, strangerSecret := srv.newKey(t, "333333333333", auth.RoleAdmin)
	stranger := srv.client(strangerID, strangerSecret)

	req := &proton.CreateEnvironmentAccountConnectionInput{ManagementAccountId: aws.String(accountID), EnvironmentName: aws.String("linked"),
		RoleArn: aws.String("arn:aws:iam::222222222222:role/proton"), CodebuildRoleArn: aws.String("arn:aws:iam::222222222222:role/cb"),
		ClientToken: aws.String("token-1"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}
	created, err := envAcct.CreateEnvironmentAccountConnection(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	conn := created.EnvironmentAccountConnection
	if conn.Status != types.EnvironmentAccountConnectionStatusPending || aws.ToString(conn.EnvironmentAccountId) != environmentAccount ||
		aws.ToString(conn.Arn) != "arn:aws:proton:us-east-1:222222222222:environment-account-connection/"+aws.ToString(conn.Id) {
		t.Fatalf("created %+v", conn)
	}
	// The same client token returns the same connection; other parameters with it are refused.
	again, err := envAcct.CreateEnvironmentAccountConnection(ctx, req)
	if err != nil || aws.ToString(again.EnvironmentAccountConnection.Id) != aws.ToString(conn.Id) {
		t.Fatalf("retry with the token: %v %+v", err, again)
	}
	other := *req
	other.RoleArn = aws.String("arn:aws:iam::222222222222:role/else")
	if _, err := envAcct.CreateEnvironmentAccountConnection(ctx, &other); apiCode(err) != "ValidationException" {
		t.Fatalf("token reused with other parameters: %v", err)
	}
	// A second live connection for the same environment is a conflict.
	other.ClientToken = nil
	if _, err := envAcct.CreateEnvironmentAccountConnection(ctx, &other); apiCode(err) != "ConflictException" {
		t.Fatalf("second pending connection: %v", err)
	}
	if _, err := mgmt.CreateEnvironmentAccountConnection(ctx, &proton.CreateEnvironmentAccountConnectionInput{ManagementAccountId: aws.String(accountID),
		EnvironmentName: aws.String("self")}); apiCode(err) != "ValidationException" {
		t.Fatalf("connection to oneself: %v", err)
	}

	// Both sides see it, from their side of the listing; a third account does not.
	if _, err := stranger.GetEnvironmentAccountConnection(ctx, &proton.GetEnvironmentAccountConnectionInput{Id: conn.Id}); apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("third account: %v", err)
	}
	list, err := mgmt.ListEnvironmentAccountConnections(ctx, &proton.ListEnvironmentAccountConnectionsInput{RequestedBy: types.EnvironmentAccountConnectionRequesterAccountTypeManagementAccount,
		Statuses: []types.EnvironmentAccountConnectionStatus{types.EnvironmentAccountConnectionStatusPending}})
	if err != nil || len(list.EnvironmentAccountConnections) != 1 {
		t.Fatalf("management listing: %v %+v", err, list)
	}
	list, err = mgmt.ListEnvironmentAccountConnections(ctx, &proton.ListEnvironmentAccountConnectionsInput{RequestedBy: types.EnvironmentAccountConnectionRequesterAccountTypeEnvironmentAccount})
	if err != nil || len(list.EnvironmentAccountConnections) != 0 {
		t.Fatalf("the management account requested none: %v %+v", err, list)
	}
	tags, err := envAcct.ListTagsForResource(ctx, &proton.ListTagsForResourceInput{ResourceArn: conn.Arn})
	if err != nil || len(tags.Tags) != 1 {
		t.Fatalf("tags: %v %+v", err, tags)
	}

	// Creating an environment through a connection that is not CONNECTED is refused.
	publishEnv(t, srv, "cb", "", codebuildEnvBundle(), "")
	viaConn := &proton.CreateEnvironmentInput{Name: aws.String("linked"), TemplateName: aws.String("cb"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: platform\n"), EnvironmentAccountConnectionId: conn.Id}
	if _, err := mgmt.CreateEnvironment(ctx, viaConn); apiCode(err) != "ValidationException" {
		t.Fatalf("environment through a pending connection: %v", err)
	}
	// Only the management account accepts; it may not delete.
	if _, err := envAcct.AcceptEnvironmentAccountConnection(ctx, &proton.AcceptEnvironmentAccountConnectionInput{Id: conn.Id}); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("accept by the environment account: %v", err)
	}
	accepted, err := mgmt.AcceptEnvironmentAccountConnection(ctx, &proton.AcceptEnvironmentAccountConnectionInput{Id: conn.Id})
	if err != nil || accepted.EnvironmentAccountConnection.Status != types.EnvironmentAccountConnectionStatusConnected {
		t.Fatalf("accept: %v %+v", err, accepted)
	}
	if _, err := mgmt.DeleteEnvironmentAccountConnection(ctx, &proton.DeleteEnvironmentAccountConnectionInput{Id: conn.Id}); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("delete by the management account: %v", err)
	}

	// The environment is created through it: the connection's CodeBuild role serves, and the
	// environment names the environment account.
	env, err := mgmt.CreateEnvironment(ctx, viaConn)
	if err != nil {
		t.Fatalf("environment through a connected connection: %v", err)
	}
	if aws.ToString(env.Environment.EnvironmentAccountId) != environmentAccount || aws.ToString(env.Environment.EnvironmentAccountConnectionId) != aws.ToString(conn.Id) {
		t.Errorf("environment %+v", env.Environment)
	}
	if _, err := waitDeployed(t, mgmt, "linked", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := mgmt.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("unlinked"), TemplateName: aws.String("cb"),
		TemplateMajorVersion: aws.String("1"), Spec: spec("  team: platform\n"), EnvironmentAccountConnectionId: conn.Id}); apiCode(err) != "ValidationException" {
		t.Fatalf("a connection is for its one environment: %v", err)
	}
	// In use: it cannot be rejected.
	if _, err := mgmt.RejectEnvironmentAccountConnection(ctx, &proton.RejectEnvironmentAccountConnectionInput{Id: conn.Id}); apiCode(err) != "ConflictException" {
		t.Fatalf("reject a connection in use: %v", err)
	}
	upd, err := envAcct.UpdateEnvironmentAccountConnection(ctx, &proton.UpdateEnvironmentAccountConnectionInput{Id: conn.Id, RoleArn: aws.String("arn:aws:iam::222222222222:role/new")})
	if err != nil || aws.ToString(upd.EnvironmentAccountConnection.RoleArn) != "arn:aws:iam::222222222222:role/new" {
		t.Fatalf("update: %v %+v", err, upd)
	}

	// A rejected connection is final.
	second, err := envAcct.CreateEnvironmentAccountConnection(ctx, &proton.CreateEnvironmentAccountConnectionInput{ManagementAccountId: aws.String(accountID),
		EnvironmentName: aws.String("other-env")})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := mgmt.RejectEnvironmentAccountConnection(ctx, &proton.RejectEnvironmentAccountConnectionInput{Id: second.EnvironmentAccountConnection.Id}); err != nil ||
		r.EnvironmentAccountConnection.Status != types.EnvironmentAccountConnectionStatusRejected {
		t.Fatalf("reject: %v %+v", err, r)
	}
	if _, err := mgmt.AcceptEnvironmentAccountConnection(ctx, &proton.AcceptEnvironmentAccountConnectionInput{Id: second.EnvironmentAccountConnection.Id}); apiCode(err) != "ConflictException" {
		t.Fatalf("accept after reject: %v", err)
	}
	// The environment account deletes it; deleting again is an empty success.
	del, err := envAcct.DeleteEnvironmentAccountConnection(ctx, &proton.DeleteEnvironmentAccountConnectionInput{Id: second.EnvironmentAccountConnection.Id})
	if err != nil || del.EnvironmentAccountConnection == nil {
		t.Fatalf("delete: %v %+v", err, del)
	}
	if del, err := envAcct.DeleteEnvironmentAccountConnection(ctx, &proton.DeleteEnvironmentAccountConnectionInput{Id: second.EnvironmentAccountConnection.Id}); err != nil || del.EnvironmentAccountConnection != nil {
		t.Fatalf("delete again: %v %+v", err, del)
	}
}
