CREATE TABLE services (
    account_id                TEXT COLLATE "C" NOT NULL,
    name                      TEXT COLLATE "C" NOT NULL,
    description               TEXT COLLATE "C" NOT NULL,
    template_name             TEXT COLLATE "C" NOT NULL,
    spec                      TEXT COLLATE "C" NOT NULL,
    status                    TEXT COLLATE "C" NOT NULL,
    status_message            TEXT COLLATE "C" NOT NULL,
    repository_connection_arn TEXT COLLATE "C" NOT NULL,
    repository_id             TEXT COLLATE "C" NOT NULL,
    branch_name               TEXT COLLATE "C" NOT NULL,
    change                    BIGINT NOT NULL,
    created_at                BIGINT NOT NULL,
    last_modified_at          BIGINT NOT NULL,
    version                   BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE service_instances (
    account_id                TEXT COLLATE "C" NOT NULL,
    service_name              TEXT COLLATE "C" NOT NULL,
    name                      TEXT COLLATE "C" NOT NULL,
    environment_name          TEXT COLLATE "C" NOT NULL,
    template_name             TEXT COLLATE "C" NOT NULL,
    template_major            BIGINT NOT NULL,
    template_minor            BIGINT NOT NULL,
    spec                      TEXT COLLATE "C" NOT NULL,
    deployment_status         TEXT COLLATE "C" NOT NULL,
    deployment_status_message TEXT COLLATE "C" NOT NULL,
    last_attempted_deployment TEXT COLLATE "C" NOT NULL,
    last_succeeded_deployment TEXT COLLATE "C" NOT NULL,
    last_attempted_at         BIGINT NOT NULL,
    last_succeeded_at         BIGINT NOT NULL,
    inputs                    TEXT COLLATE "C" NOT NULL,
    outputs                   TEXT COLLATE "C" NOT NULL,
    last_client_token         TEXT COLLATE "C" NOT NULL,
    change                    BIGINT NOT NULL,
    created_at                BIGINT NOT NULL,
    version                   BIGINT NOT NULL,
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
    account_id                TEXT COLLATE "C" NOT NULL,
    service_name              TEXT COLLATE "C" NOT NULL,
    template_name             TEXT COLLATE "C" NOT NULL,
    template_major            BIGINT NOT NULL,
    template_minor            BIGINT NOT NULL,
    spec                      TEXT COLLATE "C" NOT NULL,
    deployment_status         TEXT COLLATE "C" NOT NULL,
    deployment_status_message TEXT COLLATE "C" NOT NULL,
    last_attempted_deployment TEXT COLLATE "C" NOT NULL,
    last_succeeded_deployment TEXT COLLATE "C" NOT NULL,
    last_attempted_at         BIGINT NOT NULL,
    last_succeeded_at         BIGINT NOT NULL,
    inputs                    TEXT COLLATE "C" NOT NULL,
    outputs                   TEXT COLLATE "C" NOT NULL,
    pending                   BIGINT NOT NULL,
    change                    BIGINT NOT NULL,
    created_at                BIGINT NOT NULL,
    version                   BIGINT NOT NULL,
    PRIMARY KEY (account_id, service_name)
);
CREATE INDEX service_pipelines_version ON service_pipelines (account_id, template_name, template_major, template_minor);

CREATE INDEX deployments_service ON deployments (account_id, service_name, sort_key);

ALTER TABLE deployments ADD COLUMN resources TEXT COLLATE "C" NOT NULL DEFAULT '[]';
ALTER TABLE deployments ADD COLUMN awaiting BIGINT NOT NULL DEFAULT 0;

CREATE TABLE components (
    account_id                TEXT COLLATE "C" NOT NULL,
    name                      TEXT COLLATE "C" NOT NULL,
    description               TEXT COLLATE "C" NOT NULL,
    environment_name          TEXT COLLATE "C" NOT NULL,
    service_name              TEXT COLLATE "C" NOT NULL,
    service_instance_name     TEXT COLLATE "C" NOT NULL,
    service_spec              TEXT COLLATE "C" NOT NULL,
    template_file             TEXT COLLATE "C" NOT NULL,
    manifest                  TEXT COLLATE "C" NOT NULL,
    deployment_status         TEXT COLLATE "C" NOT NULL,
    deployment_status_message TEXT COLLATE "C" NOT NULL,
    last_attempted_deployment TEXT COLLATE "C" NOT NULL,
    last_succeeded_deployment TEXT COLLATE "C" NOT NULL,
    last_attempted_at         BIGINT NOT NULL,
    last_succeeded_at         BIGINT NOT NULL,
    outputs                   TEXT COLLATE "C" NOT NULL,
    last_client_token         TEXT COLLATE "C" NOT NULL,
    created_at                BIGINT NOT NULL,
    last_modified_at          BIGINT NOT NULL,
    version                   BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);
CREATE INDEX components_environment ON components (account_id, environment_name, name);
CREATE INDEX components_instance ON components (account_id, service_name, service_instance_name);
