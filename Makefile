# Infra — run `make help` for the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# npm puts node_modules/.bin first on PATH, so every script runs on the pinned Node 24.
NPM := npm

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci
	@touch $@

.PHONY: deps
deps: node_modules/.package-lock.json ## Install npm packages, including the pinned Node runtime.

.PHONY: tools
tools: ## Build (or find cached) kube-apiserver and etcd under ~/.cache/infra.
	hack/build-tools.sh >/dev/null

.PHONY: build
build: deps ## Compile the three programs to dist/ (infra, infra-operator, infra-connector).
	$(NPM) run build

.PHONY: typecheck
typecheck: deps ## Type-check everything, tests included.
	$(NPM) run typecheck

.PHONY: manifests
manifests: deps ## Regenerate the TypeScript API types from the CRDs in crds/.
	$(NPM) run manifests

.PHONY: test
test: deps tools ## Run every test: unit, then the real hub + spoke control plane suites.
	$(NPM) run typecheck
	$(NPM) test

.PHONY: e2e
e2e: deps tools ## Run only the suites that need the real control plane.
	$(NPM) run test:cluster

.PHONY: dev
dev: deps tools ## Start a local hub + spoke, install the CRDs and samples; Ctrl-C stops it.
	$(NPM) run dev

.PHONY: bench
bench: deps tools ## Run the benchmarks (bench/README.md).
	$(NPM) run bench

.PHONY: clean
clean: ## Remove build output and local state (not the cached Go binaries).
	rm -rf dist .infra
