CREATE TABLE repositories (
    account_id     TEXT COLLATE "C" NOT NULL,
    provider       TEXT COLLATE "C" NOT NULL,
    name           TEXT COLLATE "C" NOT NULL,
    arn            TEXT NOT NULL,
    connection_arn TEXT NOT NULL,
    encryption_key TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, provider, name)
);

-- Where a deployment's work was handed on (a pushed branch and its pull request), and
-- whether that request still needs watching or closing.
ALTER TABLE deployments ADD COLUMN request TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN request_open BIGINT NOT NULL DEFAULT 0;
-- When the request is next due to be checked (microseconds since the epoch).
ALTER TABLE deployments ADD COLUMN request_check_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX deployments_open_requests ON deployments (request_check_at) WHERE request_open = 1;
