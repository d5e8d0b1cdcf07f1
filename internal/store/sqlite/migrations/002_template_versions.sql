CREATE TABLE template_versions (
    account_id       TEXT NOT NULL,
    template_type    TEXT NOT NULL,
    template_name    TEXT NOT NULL,
    major            INTEGER NOT NULL,
    minor            INTEGER NOT NULL,
    sort_key         TEXT NOT NULL,
    description      TEXT NOT NULL,
    status           TEXT NOT NULL,
    status_message   TEXT NOT NULL,
    source_bucket    TEXT NOT NULL,
    source_key       TEXT NOT NULL,
    schema_text      TEXT NOT NULL,
    bundle           BLOB NOT NULL,
    bundle_digest    TEXT NOT NULL,
    compatible_envs  TEXT NOT NULL,
    component_sources TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    last_modified_at INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    PRIMARY KEY (account_id, template_type, template_name, major, minor)
);
CREATE UNIQUE INDEX template_versions_order ON template_versions (account_id, template_type, template_name, sort_key);
CREATE INDEX template_versions_registering ON template_versions (status, created_at);

CREATE TABLE idempotency (
    account_id  TEXT NOT NULL,
    operation   TEXT NOT NULL,
    token       TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    resource    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, operation, token)
);
