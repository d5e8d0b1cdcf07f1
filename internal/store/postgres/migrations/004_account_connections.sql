CREATE TABLE account_connections (
    id                     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    environment_account_id TEXT COLLATE "C" NOT NULL,
    management_account_id  TEXT COLLATE "C" NOT NULL,
    environment_name       TEXT COLLATE "C" NOT NULL,
    role_arn               TEXT COLLATE "C" NOT NULL,
    component_role_arn     TEXT COLLATE "C" NOT NULL,
    codebuild_role_arn     TEXT COLLATE "C" NOT NULL,
    status                 TEXT COLLATE "C" NOT NULL,
    requested_at           BIGINT NOT NULL,
    last_modified_at       BIGINT NOT NULL,
    version                BIGINT NOT NULL
);
CREATE INDEX account_connections_environment ON account_connections (environment_account_id, id);
CREATE INDEX account_connections_management ON account_connections (management_account_id, id);
-- One live (not rejected) connection per environment account, management account and environment.
CREATE UNIQUE INDEX account_connections_live ON account_connections (environment_account_id, management_account_id, environment_name) WHERE status <> 'REJECTED';
