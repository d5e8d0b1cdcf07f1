CREATE TABLE services (
    account_id                TEXT NOT NULL,
    name                      TEXT NOT NULL,
    description               TEXT NOT NULL,
    template_name             TEXT NOT NULL,
    spec                      TEXT NOT NULL,
    status                    TEXT NOT NULL,
    status_message            TEXT NOT NULL,
    repository_connection_arn TEXT NOT NULL,
    repository_id             TEXT NOT NULL,
    branch_name               TEXT NOT NULL,
    change                    INTEGER NOT NULL,
    created_at                INTEGER NOT NULL,
    last_modified_at          INTEGER NOT NULL,
    version                   INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE service_instances (
    account_id                TEXT NOT NULL,
    service_name              TEXT NOT NULL,
    name                      TEXT NOT NULL,
    environment_name          TEXT NOT NULL,
    template_name             TEXT NOT NULL,
    template_major            INTEGER NOT NULL,
    template_minor            INTEGER NOT NULL,
    spec                      TEXT NOT NULL,
    deployment_status         TEXT NOT NULL,
    deployment_status_message TEXT NOT NULL,
    last_attempted_deployment TEXT NOT NULL,
    last_succeeded_deployment TEXT NOT NULL,
    last_attempted_at         INTEGER NOT NULL,
    last_succeeded_at         INTEGER NOT NULL,
    inputs                    TEXT NOT NULL,
    outputs                   TEXT NOT NULL,
    last_client_token         TEXT NOT NULL,
    change                    INTEGER NOT NULL,
    created_at                INTEGER NOT NULL,
    version                   INTEGER NOT NULL,
    PRIMARY KEY (account_id, service_name, name)
);
-- One index per ListServiceInstances order, so that a page costs the same at any depth.
CREATE INDEX service_instances_by_name ON service_instances (account_id, name, service_name);
CREATE INDEX service_instances_by_status ON service_instances (account_id, deployment_status, service_name, name);
CREATE INDEX service_instances_by_template ON service_instances (account_id, template_name, service_name, name);
CREATE INDEX service_instances_by_environment ON service_instances (account_id, environment_name, service_name, name);
CREATE INDEX service_instances_by_attempted ON service_instances (account_id, last_attempted_at, service_name, name);
CREATE INDEX service_instances_by_created ON service_instances (account_id, created_at, service_name, name);
CREATE INDEX service_instances_version ON service_instances (account_id, template_name, template_major, template_minor);

CREATE TABLE service_pipelines (
    account_id                TEXT NOT NULL,
    service_name              TEXT NOT NULL,
    template_name             TEXT NOT NULL,
    template_major            INTEGER NOT NULL,
    template_minor            INTEGER NOT NULL,
    spec                      TEXT NOT NULL,
    deployment_status         TEXT NOT NULL,
    deployment_status_message TEXT NOT NULL,
    last_attempted_deployment TEXT NOT NULL,
    last_succeeded_deployment TEXT NOT NULL,
    last_attempted_at         INTEGER NOT NULL,
    last_succeeded_at         INTEGER NOT NULL,
    inputs                    TEXT NOT NULL,
    outputs                   TEXT NOT NULL,
    pending                   INTEGER NOT NULL,
    change                    INTEGER NOT NULL,
    created_at                INTEGER NOT NULL,
    version                   INTEGER NOT NULL,
    PRIMARY KEY (account_id, service_name)
);
CREATE INDEX service_pipelines_version ON service_pipelines (account_id, template_name, template_major, template_minor);

CREATE INDEX deployments_service ON deployments (account_id, service_name, sort_key);

ALTER TABLE deployments ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE deployments ADD COLUMN awaiting INTEGER NOT NULL DEFAULT 0;

CREATE TABLE components (
    account_id                TEXT NOT NULL,
    name                      TEXT NOT NULL,
    description               TEXT NOT NULL,
    environment_name          TEXT NOT NULL,
    service_name              TEXT NOT NULL,
    service_instance_name     TEXT NOT NULL,
    service_spec              TEXT NOT NULL,
    template_file             TEXT NOT NULL,
    manifest                  TEXT NOT NULL,
    deployment_status         TEXT NOT NULL,
    deployment_status_message TEXT NOT NULL,
    last_attempted_deployment TEXT NOT NULL,
    last_succeeded_deployment TEXT NOT NULL,
    last_attempted_at         INTEGER NOT NULL,
    last_succeeded_at         INTEGER NOT NULL,
    outputs                   TEXT NOT NULL,
    last_client_token         TEXT NOT NULL,
    created_at                INTEGER NOT NULL,
    last_modified_at          INTEGER NOT NULL,
    version                   INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);
CREATE INDEX components_environment ON components (account_id, environment_name, name);
CREATE INDEX components_instance ON components (account_id, service_name, service_instance_name);
