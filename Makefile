# lakegate developer targets. `make` lists them.

GO          ?= go
export GOTOOLCHAIN := local
# The scan data plane's DuckDB engine reads Arrow streams, which duckdb-go
# builds only with this tag; every target builds and checks with it.
export GOFLAGS ?= -tags=duckdb_arrow

GOBIN       := $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GOBIN)/staticcheck

# Extra flags for go test, e.g. make test TESTFLAGS='-run Quickstart -v'.
TESTFLAGS   ?=
# Duration of each fuzz target in `make fuzz`.
FUZZTIME    ?= 30s
# Benchmark selection and duration in `make bench`.
BENCH       ?= .
BENCHTIME   ?= 1s
# Arguments for `make quickstart`, e.g. ARGS='--write-aws-config'.
ARGS        ?=

.DEFAULT_GOAL := help
.PHONY: help build install test lint e2e bench bench-proxy fuzz quickstart

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z0-9-]*:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/lakegate
	$(GO) build -o bin/lakegate ./cmd/lakegate

install: ## Install lakegate into `go env GOBIN` (default ~/go/bin: put that on your PATH)
	$(GO) install ./cmd/lakegate

test: ## Run all tests: unit, integration and e2e (e2e skips what is not installed)
	$(GO) test -count=1 -timeout 40m $(TESTFLAGS) ./...

lint: ## Check gofmt, run go vet and staticcheck (installed on first use)
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -w needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@$(STATICCHECK) -version 2>/dev/null | grep -qF '($(patsubst v%,%,$(STATICCHECK_VERSION)))' || \
		{ echo "installing staticcheck $(STATICCHECK_VERSION) into $(GOBIN)"; \
		  $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); }
	$(STATICCHECK) ./...

e2e: ## Run only the end-to-end tests (real S3 servers and clients), verbosely
	$(GO) test -count=1 -v $(TESTFLAGS) ./e2e/...

bench: ## Run benchmarks (compare runs with benchstat: make bench > new.txt)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) ./...

bench-proxy: ## Measure the proxy against direct MinIO access and rewrite docs/BENCHMARKS.md
	$(GO) run ./bench -out docs/BENCHMARKS.md

fuzz: ## Run every fuzz target for FUZZTIME (default 30s) each
	@set -e; for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

quickstart: ## Run lakegate quickstart (ARGS='--write-aws-config' to add the AWS CLI profile)
	$(GO) run ./cmd/lakegate quickstart $(ARGS)
