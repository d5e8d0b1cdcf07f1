CREATE TABLE account_connections (
    id                     TEXT NOT NULL PRIMARY KEY,
    environment_account_id TEXT NOT NULL,
    management_account_id  TEXT NOT NULL,
    environment_name       TEXT NOT NULL,
    role_arn               TEXT NOT NULL,
    component_role_arn     TEXT NOT NULL,
    codebuild_role_arn     TEXT NOT NULL,
    status                 TEXT NOT NULL,
    requested_at           INTEGER NOT NULL,
    last_modified_at       INTEGER NOT NULL,
    version                INTEGER NOT NULL
);
CREATE INDEX account_connections_environment ON account_connections (environment_account_id, id);
CREATE INDEX account_connections_management ON account_connections (management_account_id, id);
-- One live (not rejected) connection per environment account, management account and environment.
CREATE UNIQUE INDEX account_connections_live ON account_connections (environment_account_id, management_account_id, environment_name) WHERE status <> 'REJECTED';
