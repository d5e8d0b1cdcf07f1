package service

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/store"
)

// Environment account connections: an environment account asks a management account to
// deploy one of its environments into it (PENDING); the management account accepts
// (CONNECTED) or rejects (REJECTED, final). The connection lives in the environment
// account: its ARN names that account, and only that account may update or delete it.
// Both accounts may read it.

const (
	connPending   = string(types.EnvironmentAccountConnectionStatusPending)
	connConnected = string(types.EnvironmentAccountConnectionStatusConnected)
	connRejected  = string(types.EnvironmentAccountConnectionStatusRejected)
)

func (s *Service) connectionARN(c *store.AccountConnection) string {
	return s.arn(c.EnvironmentAccountID, "environment-account-connection/"+c.ID)
}

func (s *Service) connectionOut(c *store.AccountConnection) *types.EnvironmentAccountConnection {
	return &types.EnvironmentAccountConnection{
		Id: c.ID, Arn: s.connectionARN(c), ManagementAccountId: c.ManagementAccountID, EnvironmentAccountId: c.EnvironmentAccountID,
		RoleArn: c.RoleArn, EnvironmentName: c.EnvironmentName, RequestedAt: types.TimeOf(c.RequestedAt),
		LastModifiedAt: types.TimeOf(c.LastModifiedAt), Status: types.EnvironmentAccountConnectionStatus(c.Status),
		ComponentRoleArn: c.ComponentRoleArn, CodebuildRoleArn: c.CodebuildRoleArn,
	}
}

// visibleConnection reads a connection either side of which is the caller's account.
func (s *Service) visibleConnection(ctx context.Context, q store.Queries, accountID, id string) (*store.AccountConnection, error) {
	c, err := q.AccountConnectionGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.EnvironmentAccountID != accountID && c.ManagementAccountID != accountID) {
		return nil, api.NotFoundf("environment account connection %s not found", id)
	}
	return c, err
}

func (s *Service) CreateEnvironmentAccountConnection(ctx context.Context, in *types.CreateEnvironmentAccountConnectionInput) (*types.CreateEnvironmentAccountConnectionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if in.ManagementAccountId == c.AccountID {
		return nil, api.Validationf("managementAccountId: a connection links two different accounts; this request comes from %s itself", c.AccountID)
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	const op = "CreateEnvironmentAccountConnection"
	hash := paramsHash(struct {
		M, R, E, C, B string
		T             []types.Tag
	}{in.ManagementAccountId, in.RoleArn, in.EnvironmentName, in.ComponentRoleArn, in.CodebuildRoleArn, in.Tags})
	if in.ClientToken != "" {
		if existing, err := s.connectionForToken(ctx, c.AccountID, op, in.ClientToken, hash); existing != nil || err != nil {
			return &types.CreateEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: s.connectionOutOrNil(existing)}, err
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	now := s.now()
	conn := &store.AccountConnection{ID: id.String(), EnvironmentAccountID: c.AccountID, ManagementAccountID: in.ManagementAccountId,
		EnvironmentName: in.EnvironmentName, RoleArn: in.RoleArn, ComponentRoleArn: in.ComponentRoleArn,
		CodebuildRoleArn: in.CodebuildRoleArn, Status: connPending, RequestedAt: now, LastModifiedAt: now}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if in.ClientToken != "" {
			if err := q.IdempotencyPut(ctx, &store.IdempotencyRecord{AccountID: c.AccountID, Operation: op, Token: in.ClientToken,
				ParamsHash: hash, Resource: conn.ID, CreatedAt: now}); err != nil {
				return err
			}
		}
		if err := q.AccountConnectionCreate(ctx, conn); err != nil {
			return err
		}
		return putTags(ctx, q, c.AccountID, s.connectionARN(conn), in.Tags)
	})
	if errors.Is(err, store.ErrAlreadyExists) && in.ClientToken != "" {
		// The same token concurrently, or a live connection for this environment already.
		if existing, terr := s.connectionForToken(ctx, c.AccountID, op, in.ClientToken, hash); existing != nil || terr != nil {
			return &types.CreateEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: s.connectionOutOrNil(existing)}, terr
		}
	}
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, api.Conflictf("a pending or connected environment account connection for environment %s with management account %s already exists",
			in.EnvironmentName, in.ManagementAccountId)
	}
	if err != nil {
		return nil, err
	}
	return &types.CreateEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: s.connectionOut(conn)}, nil
}

func (s *Service) connectionOutOrNil(c *store.AccountConnection) *types.EnvironmentAccountConnection {
	if c == nil {
		return nil
	}
	return s.connectionOut(c)
}

// connectionForToken returns the connection a client token made (see forToken).
func (s *Service) connectionForToken(ctx context.Context, accountID, op, token, hash string) (*store.AccountConnection, error) {
	return forToken(ctx, s, accountID, op, token, hash, func(id string) (*store.AccountConnection, error) {
		return s.store.AccountConnectionGet(ctx, id)
	})
}

func (s *Service) GetEnvironmentAccountConnection(ctx context.Context, in *types.GetEnvironmentAccountConnectionInput) (*types.GetEnvironmentAccountConnectionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := s.visibleConnection(ctx, s.store, c.AccountID, in.Id)
	if err != nil {
		return nil, err
	}
	return &types.GetEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: s.connectionOut(conn)}, nil
}

func (s *Service) ListEnvironmentAccountConnections(ctx context.Context, in *types.ListEnvironmentAccountConnectionsInput) (*types.ListEnvironmentAccountConnectionsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	f := store.AccountConnectionFilter{AccountID: c.AccountID, EnvironmentName: in.EnvironmentName,
		ManagementSide: in.RequestedBy == types.EnvironmentAccountConnectionRequesterAccountTypeManagementAccount}
	for _, st := range in.Statuses {
		f.Statuses = append(f.Statuses, string(st))
	}
	scope := "connections/" + paramsHash(f)
	p, err := s.openPage(scope, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	list, next, err := s.store.AccountConnectionList(ctx, f, p)
	if err != nil {
		return nil, err
	}
	out := &types.ListEnvironmentAccountConnectionsOutput{EnvironmentAccountConnections: []types.EnvironmentAccountConnectionSummary{},
		NextToken: s.sealPage(scope, next)}
	for _, conn := range list {
		o := s.connectionOut(conn)
		out.EnvironmentAccountConnections = append(out.EnvironmentAccountConnections, types.EnvironmentAccountConnectionSummary{
			Id: o.Id, Arn: o.Arn, ManagementAccountId: o.ManagementAccountId, EnvironmentAccountId: o.EnvironmentAccountId,
			RoleArn: o.RoleArn, EnvironmentName: o.EnvironmentName, RequestedAt: o.RequestedAt, LastModifiedAt: o.LastModifiedAt,
			Status: o.Status, ComponentRoleArn: o.ComponentRoleArn,
		})
	}
	return out, nil
}

// changeConnection runs a read-modify-write of a visible connection in one transaction.
func (s *Service) changeConnection(ctx context.Context, id string, change func(q store.Queries, accountID string, conn *store.AccountConnection) error) (*store.AccountConnection, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.AccountConnection
	err = s.store.Tx(ctx, func(q store.Queries) error {
		conn, err := s.visibleConnection(ctx, q, c.AccountID, id)
		if err != nil {
			return err
		}
		before := *conn
		if err := change(q, c.AccountID, conn); err != nil {
			return err
		}
		out = conn
		if *conn == before {
			return nil // nothing changed (an accept of a connected connection, say)
		}
		conn.LastModifiedAt = s.now()
		return q.AccountConnectionUpdate(ctx, conn)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("environment account connection %s changed concurrently; retry", id)
	}
	return out, err
}

func (s *Service) AcceptEnvironmentAccountConnection(ctx context.Context, in *types.AcceptEnvironmentAccountConnectionInput) (*types.AcceptEnvironmentAccountConnectionOutput, error) {
	conn, err := s.changeConnection(ctx, in.Id, func(q store.Queries, account string, conn *store.AccountConnection) error {
		if account != conn.ManagementAccountID {
			return api.AccessDeniedf("only the management account %s can accept environment account connection %s", conn.ManagementAccountID, conn.ID)
		}
		if conn.Status == connRejected {
			return api.Conflictf("environment account connection %s was rejected; a rejected connection cannot be accepted", conn.ID)
		}
		conn.Status = connConnected
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &types.AcceptEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: s.connectionOut(conn)}, nil
}

func (s *Service) RejectEnvironmentAccountConnection(ctx context.Context, in *types.RejectEnvironmentAccountConnectionInput) (*types.RejectEnvironmentAccountConnectionOutput, error) {
	conn, err := s.changeConnection(ctx, in.Id, func(q store.Queries, account string, conn *store.AccountConnection) error {
		if account != conn.ManagementAccountID {
			return api.AccessDeniedf("only the management account %s can reject environment account connection %s", conn.ManagementAccountID, conn.ID)
		}
		if conn.Status == connRejected {
			return nil
		}
		if env, err := q.EnvironmentGet(ctx, conn.ManagementAccountID, conn.EnvironmentName); err == nil && env.EnvironmentAccountConnectionID == conn.ID {
			return api.Conflictf("environment account connection %s is used by environment %s; delete the environment first", conn.ID, env.Name)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		conn.Status = connRejected
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &types.RejectEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: s.connectionOut(conn)}, nil
}

func (s *Service) UpdateEnvironmentAccountConnection(ctx context.Context, in *types.UpdateEnvironmentAccountConnectionInput) (*types.UpdateEnvironmentAccountConnectionOutput, error) {
	conn, err := s.changeConnection(ctx, in.Id, func(q store.Queries, account string, conn *store.AccountConnection) error {
		if account != conn.EnvironmentAccountID {
			return api.AccessDeniedf("only the environment account %s can update environment account connection %s", conn.EnvironmentAccountID, conn.ID)
		}
		if conn.Status == connRejected {
			return api.Conflictf("environment account connection %s was rejected and cannot be used", conn.ID)
		}
		if in.RoleArn != "" {
			conn.RoleArn = in.RoleArn
		}
		if in.ComponentRoleArn != "" {
			conn.ComponentRoleArn = in.ComponentRoleArn
		}
		if in.CodebuildRoleArn != "" {
			conn.CodebuildRoleArn = in.CodebuildRoleArn
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &types.UpdateEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: s.connectionOut(conn)}, nil
}

// DeleteEnvironmentAccountConnection removes a connection (environment account only). As on
// Proton, an environment using it stays; it just cannot be deployed through it any more.
// A connection already gone answers an empty success.
func (s *Service) DeleteEnvironmentAccountConnection(ctx context.Context, in *types.DeleteEnvironmentAccountConnectionInput) (*types.DeleteEnvironmentAccountConnectionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.AccountConnection
	err = s.store.Tx(ctx, func(q store.Queries) error {
		conn, err := q.AccountConnectionGet(ctx, in.Id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		switch c.AccountID {
		case conn.EnvironmentAccountID:
		case conn.ManagementAccountID:
			return api.AccessDeniedf("a management account cannot delete environment account connection %s; the environment account %s can", conn.ID, conn.EnvironmentAccountID)
		default:
			return nil // not visible to this account: as if gone
		}
		out = conn
		if err := q.AccountConnectionDelete(ctx, conn.ID); err != nil {
			return err
		}
		return q.TagsDeleteAll(ctx, conn.EnvironmentAccountID, s.connectionARN(conn))
	})
	if err != nil {
		return nil, err
	}
	return &types.DeleteEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: s.connectionOutOrNil(out)}, nil
}

// connectedFor checks that a connection may deploy environment name of the caller's
// (management) account: it exists, is CONNECTED and names that environment.
func (s *Service) connectedFor(ctx context.Context, accountID, id, name string) (*store.AccountConnection, error) {
	conn, err := s.visibleConnection(ctx, s.store, accountID, id)
	if err != nil {
		return nil, err
	}
	switch {
	case conn.ManagementAccountID != accountID:
		return nil, api.Validationf("environmentAccountConnectionId: connection %s is managed by account %s, not %s", id, conn.ManagementAccountID, accountID)
	case conn.Status != connConnected:
		return nil, api.Validationf("environmentAccountConnectionId: connection %s is %s; it must be CONNECTED", id, conn.Status)
	case conn.EnvironmentName != name:
		return nil, api.Validationf("environmentAccountConnectionId: connection %s is for environment %s, not %s", id, conn.EnvironmentName, name)
	}
	return conn, nil
}

// holdConnection re-checks, inside the transaction that starts using a connection, that it
// is still CONNECTED, and writes it (unchanged but for its version) so that a concurrent
// Reject conflicts with this transaction instead of both committing.
func holdConnection(ctx context.Context, q store.Queries, id string) error {
	conn, err := q.AccountConnectionGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return api.Validationf("environmentAccountConnectionId: connection %s no longer exists", id)
	}
	if err != nil {
		return err
	}
	if conn.Status != connConnected {
		return api.Validationf("environmentAccountConnectionId: connection %s is %s; it must be CONNECTED", id, conn.Status)
	}
	return q.AccountConnectionUpdate(ctx, conn)
}
