# Infra — run `make help` for the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# npm puts node_modules/.bin first on PATH, so every script runs on the pinned Node 24.
NPM := npm
# Images for docker-build and kind-up; override for your registry, e.g. make docker-build TAG=v0.2.0.
REGISTRY ?= ghcr.io/infrahq
TAG ?= dev
OPERATOR_IMG ?= $(REGISTRY)/infra-operator:$(TAG)
CONNECTOR_IMG ?= $(REGISTRY)/infra-connector:$(TAG)
# Where make install puts infra.
PREFIX ?= $(HOME)/.local/bin
# What deploy and undeploy apply: config/default (hub and spoke in one cluster), config/hub or config/spoke.
DEPLOY ?= config/default

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci
	@touch $@

.PHONY: deps
deps: node_modules/.package-lock.json ## Install npm packages, including the pinned Node runtime.

.PHONY: tools
tools: ## Build (or find cached) kube-apiserver, etcd, helm and the other Go tools under ~/.cache/infra.
	hack/build-tools.sh >/dev/null

.PHONY: build
build: deps ## Compile the three programs to dist/ (infra, infra-operator, infra-connector).
	$(NPM) run build

.PHONY: cli
cli: deps ## Build the infra CLI for people in dist/bin/: an executable per platform (PLATFORMS), the npm tarball, SHA256SUMS.
	$(NPM) run --silent cli

.PHONY: install
install: deps ## Put infra on your PATH: this machine's executable, copied to PREFIX/infra (default PREFIX=~/.local/bin).
	$(NPM) run --silent install-cli -- "$(PREFIX)"

.PHONY: typecheck
typecheck: deps ## Type-check everything, tests included.
	$(NPM) run typecheck

.PHONY: lint
lint: deps ## Lint: ESLint (type-aware), Prettier --check, and the layering rules (.dependency-cruiser.js).
	$(NPM) run lint

.PHONY: manifests
manifests: deps ## Regenerate the TypeScript API types from crds/, config/argocd/argocd-cm.yaml from health.lua, and the Helm chart charts/infra from config/.
	$(NPM) run manifests

.PHONY: test
test: deps tools ## Run every check: typecheck, lint, unit tests, then the real hub + spoke control plane suites.
	$(NPM) run typecheck
	$(NPM) run lint
	$(NPM) test

.PHONY: e2e
e2e: deps tools ## Run only the suites that need the real control plane.
	$(NPM) run test:cluster

.PHONY: dev
dev: deps tools ## Start a local hub + spoke with Infra and its aggregated auth API; prints the infra commands to try. Ctrl-C stops it.
	$(NPM) run dev

.PHONY: bench
bench: deps tools ## Run the benchmarks (bench/README.md).
	$(NPM) run bench

.PHONY: docker-build
docker-build: ## Build the operator and connector images (OPERATOR_IMG, CONNECTOR_IMG) and print their IDs.
	docker build --target operator -t $(OPERATOR_IMG) .
	docker build --target connector -t $(CONNECTOR_IMG) .
	@for img in $(OPERATOR_IMG) $(CONNECTOR_IMG); do echo "$$img $$(docker image inspect --format '{{.Id}}' $$img)"; done

.PHONY: docker-push
docker-push: ## Push both images and print the digest each is pinned by (images: - digest: in your overlay, docs/install.md).
	@for img in $(OPERATOR_IMG) $(CONNECTOR_IMG); do \
	  docker push --quiet $$img >/dev/null; \
	  echo "$$img $$(docker image inspect --format '{{range .RepoDigests}}{{.}} {{end}}' $$img | tr ' ' '\n' | grep "^$${img%:*}@" | head -1 | cut -d@ -f2)"; \
	done

.PHONY: deploy
deploy: ## Install Infra into the current kubectl context from $(DEPLOY) (server-side apply).
	kubectl apply --server-side -k $(DEPLOY)

.PHONY: undeploy
undeploy: ## Remove what deploy installed (the CRDs too, and every Grant: asks unless CONFIRM=yes).
	@[[ "$(CONFIRM)" == yes ]] || { read -r -p "This deletes Infra's CRDs and every Grant, User and Provider in them. Type yes: " answer && [[ $$answer == yes ]]; }
	kubectl delete --ignore-not-found -k $(DEPLOY)

# Where kind-up's images come from: public (pulled), local (built here, no registry needed), or
# auto (local when the public Node image does not pull).
INFRA_IMAGES ?= auto

.PHONY: kind-up
kind-up: deps ## Create a hub and a spoke kind cluster with Infra deployed (starts Docker and builds kind if needed).
	OPERATOR_IMG=$(OPERATOR_IMG) CONNECTOR_IMG=$(CONNECTOR_IMG) INFRA_IMAGES=$(INFRA_IMAGES) hack/kind-up.sh

.PHONY: e2e-kind
e2e-kind: kind-up ## make kind-up, then the e2e suites against those clusters (docs/install.md has its durations).
	E2E_CLUSTER=kind $(NPM) run test:cluster

.PHONY: kind-down
kind-down: ## Delete the kind clusters kind-up made.
	hack/kind-down.sh

.PHONY: clean
clean: ## Remove build output and local state (not the cached Go binaries).
	rm -rf dist .infra
