-- Key columns use the "C" collation so keyset pages sort by bytes, exactly as in SQLite.
CREATE TABLE access_keys (
    access_key_id TEXT COLLATE "C" PRIMARY KEY,
    secret        TEXT NOT NULL,
    account_id    TEXT COLLATE "C" NOT NULL,
    role          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);

CREATE TABLE server_secrets (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE account_settings (
    account_id                  TEXT COLLATE "C" PRIMARY KEY,
    pipeline_service_role_arn   TEXT NOT NULL,
    pipeline_codebuild_role_arn TEXT NOT NULL,
    repo_arn                    TEXT NOT NULL,
    repo_provider               TEXT NOT NULL,
    repo_name                   TEXT NOT NULL,
    repo_branch                 TEXT NOT NULL,
    version                     BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL
);

CREATE TABLE tags (
    account_id TEXT COLLATE "C" NOT NULL,
    arn        TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (account_id, arn, key)
);

CREATE TABLE environment_templates (
    account_id          TEXT COLLATE "C" NOT NULL,
    name                TEXT COLLATE "C" NOT NULL,
    display_name        TEXT NOT NULL,
    description         TEXT NOT NULL,
    encryption_key      TEXT NOT NULL,
    provisioning        TEXT NOT NULL,
    recommended_version TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    last_modified_at    BIGINT NOT NULL,
    version             BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE service_templates (
    account_id            TEXT COLLATE "C" NOT NULL,
    name                  TEXT COLLATE "C" NOT NULL,
    display_name          TEXT NOT NULL,
    description           TEXT NOT NULL,
    encryption_key        TEXT NOT NULL,
    pipeline_provisioning TEXT NOT NULL,
    recommended_version   TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    last_modified_at      BIGINT NOT NULL,
    version               BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);
