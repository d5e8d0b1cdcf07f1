# The two set-up commands: `make run` (server on embedded defaults) and `make test`.
GO ?= go

.PHONY: run test generate check bench bench-engine load fuzz

run:
	$(GO) run ./cmd/openproton server

# Unit, conformance and end-to-end tests. The PostgreSQL store tests use
# OPENPROTON_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); they skip
# when PostgreSQL is unreachable, except under CI=true where they fail.
test:
	$(GO) test -count=1 -timeout 25m ./...

generate:
	$(GO) generate ./...

# What CI checks besides the tests: generated code is fresh, gofmt, go vet.
check:
	$(GO) generate ./...
	git diff --exit-code --stat -- internal/api
	test -z "$$(git status --porcelain -- internal/api)"
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/app/ ./internal/server/... ./internal/sigv4/... ./internal/bundle/ ./internal/render/ ./internal/provision/terraform/

# The deployment engine with the noop provisioner: 10,000 environments on SQLite and on
# PostgreSQL (OPENPROTON_TEST_DATABASE_URL), and one-at-a-time latency.
bench-engine:
	$(GO) test -run '^$$' -bench 'EnvironmentDeployments' -benchtime 10000x -timeout 30m ./internal/e2e/
	$(GO) test -run '^$$' -bench 'DeploymentLatency' -benchtime 200x ./internal/e2e/

# Compares openproton's request rate with a bare net/http handler serving the same bytes.
load:
	$(GO) run ./cmd/openproton-load -duration 10s

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzProtonRequest -fuzztime 60s ./internal/server/
	$(GO) test -run '^$$' -fuzz FuzzValidate -fuzztime 60s ./internal/server/
	$(GO) test -run '^$$' -fuzz FuzzEnvironmentSpec -fuzztime 60s ./internal/bundle/
	$(GO) test -run '^$$' -fuzz FuzzEnvironmentAPI -fuzztime 60s ./internal/e2e/
	$(GO) test -run '^$$' -fuzz FuzzServiceAPI -fuzztime 60s ./internal/e2e/
	$(GO) test -run '^$$' -fuzz FuzzRepositoryAPI -fuzztime 60s ./internal/e2e/
	$(GO) test -run '^$$' -fuzz FuzzRender -fuzztime 60s ./internal/render/
