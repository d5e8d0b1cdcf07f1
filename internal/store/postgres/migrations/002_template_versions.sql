CREATE TABLE template_versions (
    account_id       TEXT COLLATE "C" NOT NULL,
    template_type    TEXT COLLATE "C" NOT NULL,
    template_name    TEXT COLLATE "C" NOT NULL,
    major            BIGINT NOT NULL,
    minor            BIGINT NOT NULL,
    sort_key         TEXT COLLATE "C" NOT NULL,
    description      TEXT NOT NULL,
    status           TEXT COLLATE "C" NOT NULL,
    status_message   TEXT NOT NULL,
    source_bucket    TEXT NOT NULL,
    source_key       TEXT NOT NULL,
    schema_text      TEXT NOT NULL,
    bundle           BYTEA NOT NULL,
    bundle_digest    TEXT NOT NULL,
    compatible_envs  TEXT NOT NULL,
    component_sources TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_modified_at BIGINT NOT NULL,
    version          BIGINT NOT NULL,
    PRIMARY KEY (account_id, template_type, template_name, major, minor)
);
CREATE UNIQUE INDEX template_versions_order ON template_versions (account_id, template_type, template_name, sort_key);
CREATE INDEX template_versions_registering ON template_versions (status, created_at);

CREATE TABLE idempotency (
    account_id  TEXT COLLATE "C" NOT NULL,
    operation   TEXT COLLATE "C" NOT NULL,
    token       TEXT COLLATE "C" NOT NULL,
    params_hash TEXT NOT NULL,
    resource    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, operation, token)
);
