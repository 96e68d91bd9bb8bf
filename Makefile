# Atrium — run `make help` for the targets.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
BIN := $(ROOT)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
export KUBEBUILDER_ASSETS := $(BIN)

# The components: one folder and one binary each, the folders holding a
# main.go (internal/components lists them for Go; config/components_test.go
# checks that the two agree).
COMPONENTS := $(patsubst %/main.go,%,$(wildcard operators/*/main.go webhooks/*/main.go apiservers/*/main.go))

# What every binary and image says it is (internal/version, --version,
# atrium_build_info): the version from git tags, the commit, the build
# date (the commit's time for a clean tree, so a commit builds the same
# bytes); hack/version.sh says how each is found. Each can be given:
# make build VERSION=v0.1.0.
VERSION ?= $(shell hack/version.sh version)
REVISION ?= $(shell hack/version.sh revision)
BUILD_DATE ?= $(shell hack/version.sh date)
LDFLAGS = -X github.com/atrium-dev/atrium/internal/version.version=$(VERSION) \
	-X github.com/atrium-dev/atrium/internal/version.revision=$(REVISION) \
	-X github.com/atrium-dev/atrium/internal/version.buildDate=$(BUILD_DATE)

# make images: where the images go (empty: an OCI layout in bin/images/),
# what they are built on (empty: the static nonroot base of
# hack/images/base; gcr.io/distroless/static:nonroot where gcr.io is
# reachable) and for which platforms (docs/images.md).
REGISTRY ?=
BASE_IMAGE ?=
PLATFORMS ?= linux/amd64,linux/arm64

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: tools
tools: ## Build etcd, kube-apiserver, kubectl and controller-gen into bin/ (skips what is built).
	@hack/tools.sh

.PHONY: generate
generate: tools ## Generate deepcopy code for the API types.
	$(CONTROLLER_GEN) object paths=./apis/...

.PHONY: manifests
manifests: tools ## Generate CRDs, RBAC roles and webhook configurations from markers.
	$(CONTROLLER_GEN) crd paths="./apis/tenancy/...;./apis/pages/...;./apis/storage/..." output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) crd paths=./apis/fleet/... output:crd:artifacts:config=config/crd/fleet
	$(CONTROLLER_GEN) rbac:roleName=atrium-projects paths="$(call member_pkgs,operators/projects)" output:rbac:artifacts:config=operators/projects/config/rbac
	$(CONTROLLER_GEN) rbac:roleName=atrium-dns paths="$(call member_pkgs,operators/dns);./internal/sources" output:rbac:artifacts:config=operators/dns/config/rbac
	$(CONTROLLER_GEN) rbac:roleName=atrium-pages paths="$(call member_pkgs,operators/pages)" output:rbac:artifacts:config=operators/pages/config/rbac
	$(CONTROLLER_GEN) rbac:roleName=atrium-volumes paths="$(call member_pkgs,operators/volumes)" output:rbac:artifacts:config=operators/volumes/config/rbac
	$(CONTROLLER_GEN) rbac:roleName=atrium-hub-dns paths=./operators/dns/hubrbac output:rbac:artifacts:config=operators/dns/config/hub
	$(CONTROLLER_GEN) rbac:roleName=atrium-myprojects paths="$(call member_pkgs,apiservers/myprojects)" output:rbac:artifacts:config=apiservers/myprojects/config/rbac
	$(CONTROLLER_GEN) rbac:roleName=atrium-projects-webhook webhook paths="$(call member_pkgs,webhooks/projects)" \
		output:rbac:artifacts:config=webhooks/projects/config/rbac output:webhook:artifacts:config=webhooks/projects/config/webhook
	$(CONTROLLER_GEN) rbac:roleName=atrium-hostnames webhook paths="$(call member_pkgs,webhooks/hostnames);./internal/sources" \
		output:rbac:artifacts:config=webhooks/hostnames/config/rbac output:webhook:artifacts:config=webhooks/hostnames/config/webhook
	$(CONTROLLER_GEN) rbac:roleName=atrium-hub-hostnames paths=./webhooks/hostnames/hubrbac output:rbac:artifacts:config=webhooks/hostnames/config/hub
	$(CONTROLLER_GEN) rbac:roleName=atrium-fleet paths="$(call member_pkgs,operators/fleet)" output:rbac:artifacts:config=operators/fleet/config/rbac
	$(CONTROLLER_GEN) rbac:roleName=atrium-hub-report paths=./internal/report/hubrbac output:rbac:artifacts:config=config/hub/report

# member_pkgs are a component's packages whose markers make its role on the
# member cluster: all but hubrbac/, whose markers make its role at the hub.
member_pkgs = $(shell go list ./$(1)/... | grep -v '/hubrbac$$' | paste -sd ';')

.PHONY: verify
verify: generate manifests ## Fail when generated files are stale or go.mod is untidy.
	go mod tidy -e
	@if [ -n "$$(git status --porcelain -- apis apiservers config operators webhooks go.mod go.sum)" ]; then \
		git status --porcelain -- apis apiservers config operators webhooks go.mod go.sum; \
		git --no-pager diff -- apis apiservers config operators webhooks go.mod go.sum | head -50 || true; \
		echo "generated files are stale: run 'make generate manifests' and commit"; exit 1; fi

.PHONY: lint
lint: ## go vet and gofmt.
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

.PHONY: build
build: ## Build every component into bin/, stamped with VERSION (--version).
	@ldflags='$(LDFLAGS)'; for c in $(COMPONENTS); do echo "go build $$c"; go build -ldflags "$$ldflags" -o $(BIN)/atrium-$$(echo $$c | tr / -) ./$$c; done

.PHONY: images
images: ## Build every component's image with ko (PLATFORMS) into bin/images/, or push them to REGISTRY; bin/images/kustomization.yaml pins them by digest.
	@hack/tools.sh ko
	go run ./hack/images -ko $(BIN)/ko -out $(BIN)/images -registry '$(REGISTRY)' -base '$(BASE_IMAGE)' -platforms '$(PLATFORMS)' \
		-version '$(VERSION)' -revision '$(REVISION)' -build-date '$(BUILD_DATE)' $(COMPONENTS)

##@ The two commands

.PHONY: run
run: tools ## Start a local fleet (hub, two members, BIND9) running every component as shipped, with the examples applied.
	go build -o $(BIN)/devfleet ./hack/devfleet
	$(BIN)/devfleet

.PHONY: test
test: tools ## Unit, envtest integration and e2e tests.
	$(MAKE) verify lint
	go test -count=1 -timeout 25m ./...

##@ Measurement

.PHONY: bench
bench: tools ## Run the benchmarks and write docs/benchmarks.md.
	go run ./hack/bench -out docs/benchmarks.md
