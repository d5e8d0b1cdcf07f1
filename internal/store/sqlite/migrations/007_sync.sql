-- Template sync: a template follows <subdirectory>/<template>/v<N>/ on a branch of a
-- linked repository.
CREATE TABLE template_sync_configs (
    account_id    TEXT NOT NULL,
    template_type TEXT NOT NULL,
    template_name TEXT NOT NULL,
    provider      TEXT NOT NULL,
    repository    TEXT NOT NULL,
    branch        TEXT NOT NULL,
    subdirectory  TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    PRIMARY KEY (account_id, template_type, template_name)
);
CREATE INDEX template_sync_configs_branch ON template_sync_configs (account_id, provider, repository, branch);

-- Sync attempts, for the status operations: one row per attempt on a target (a template
-- major, a repository branch), with its events.
CREATE TABLE sync_attempts (
    account_id       TEXT NOT NULL,
    id               TEXT NOT NULL,
    sync_type        TEXT NOT NULL,
    target           TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    status           TEXT NOT NULL,
    initial_revision TEXT NOT NULL,
    target_revision  TEXT NOT NULL,
    events           TEXT NOT NULL,
    digest           TEXT NOT NULL,
    version          INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX sync_attempts_target ON sync_attempts (account_id, sync_type, target, started_at);

-- The last commit synced from each branch, so a commit is synced once.
CREATE TABLE sync_heads (
    account_id TEXT NOT NULL,
    provider   TEXT NOT NULL,
    repository TEXT NOT NULL,
    branch     TEXT NOT NULL,
    sync_type  TEXT NOT NULL,
    sha        TEXT NOT NULL,
    synced_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, provider, repository, branch, sync_type)
);

-- Service sync: a service's instances follow a proton-ops file on a branch of a linked
-- repository.
CREATE TABLE service_sync_configs (
    account_id   TEXT NOT NULL,
    service_name TEXT NOT NULL,
    provider     TEXT NOT NULL,
    repository   TEXT NOT NULL,
    branch       TEXT NOT NULL,
    file_path    TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    PRIMARY KEY (account_id, service_name)
);

-- Service sync blockers: a manual change stops syncing a service instance (or, for a
-- removed instance, the whole service: instance name '') until resolved.
CREATE TABLE sync_blockers (
    account_id            TEXT NOT NULL,
    id                    TEXT NOT NULL,
    service_name          TEXT NOT NULL,
    service_instance_name TEXT NOT NULL,
    type                  TEXT NOT NULL,
    status                TEXT NOT NULL,
    created_reason        TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    contexts              TEXT NOT NULL,
    resolved_reason       TEXT NOT NULL,
    resolved_at           INTEGER NOT NULL,
    version               INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX sync_blockers_target ON sync_blockers (account_id, service_name, service_instance_name, created_at);
