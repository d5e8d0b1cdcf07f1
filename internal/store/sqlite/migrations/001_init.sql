CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    secret        TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    role          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE account_settings (
    account_id                  TEXT PRIMARY KEY,
    pipeline_service_role_arn   TEXT NOT NULL,
    pipeline_codebuild_role_arn TEXT NOT NULL,
    repo_arn                    TEXT NOT NULL,
    repo_provider               TEXT NOT NULL,
    repo_name                   TEXT NOT NULL,
    repo_branch                 TEXT NOT NULL,
    version                     INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);

CREATE TABLE tags (
    account_id TEXT NOT NULL,
    arn        TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (account_id, arn, key)
);

CREATE TABLE environment_templates (
    account_id          TEXT NOT NULL,
    name                TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    description         TEXT NOT NULL,
    encryption_key      TEXT NOT NULL,
    provisioning        TEXT NOT NULL,
    recommended_version TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    last_modified_at    INTEGER NOT NULL,
    version             INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE service_templates (
    account_id            TEXT NOT NULL,
    name                  TEXT NOT NULL,
    display_name          TEXT NOT NULL,
    description           TEXT NOT NULL,
    encryption_key        TEXT NOT NULL,
    pipeline_provisioning TEXT NOT NULL,
    recommended_version   TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    last_modified_at      INTEGER NOT NULL,
    version               INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);
