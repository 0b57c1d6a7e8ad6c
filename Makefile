# otelcol-msg — build, run, test. Only Go is needed on a fresh machine.
SHELL      := /bin/bash
GO         ?= go
OCB_VERSION := v0.158.0
TOOLS      := $(CURDIR)/.tools
OCB        := $(TOOLS)/builder
DIST_DIR   := cmd/otelcol-msg
BINARY     := $(DIST_DIR)/otelcol-msg
# Fuzz time per target for `make fuzz`.
FUZZTIME   ?= 60s

.PHONY: all build binary demo-program generate-dist check-dist run demo demo-all test test-unit bench bench-compare fuzz test-crash lint generate docker clean

all: build

$(OCB):
	GOBIN=$(TOOLS) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

# Generates cmd/otelcol-msg from builder-config.yaml and compiles it (static:
# CGO off). flock keeps parallel builds in one work tree from racing.
build: $(OCB)
	@mkdir -p $(TOOLS)
	flock $(TOOLS)/build.lock $(OCB) --config builder-config.yaml

# The roots of the distribution's standard-library imports (from `go list
# -deps`); one missing here is merely compiled later, with the rest.
DIST_STD := compress/zlib container/heap container/ring crypto/pbkdf2 database/sql/driver embed \
	encoding/base32 encoding/csv encoding/xml expvar hash/fnv io/ioutil log/slog log/syslog math/cmplx \
	net/http/cookiejar net/http/httptest net/http/httputil net/http/pprof net/rpc os/exec os/signal \
	os/user runtime/metrics testing
# What binary and the demo program compile with: static, paths trimmed.
STATIC_BUILD := CGO_ENABLED=0 $(GO) build -trimpath

# The distribution compiled straight from its committed sources (ocb's output,
# kept current by check-dist) with the flags ocb uses: no ocb install and no
# module resolution of its own, so a fresh machine gets the binary in about
# half the time. The standard packages it needs compile while the modules
# download. Same binary as `make build` produces; the demo builds with the
# same flags so that it reuses the compiled packages.
binary:
	@mkdir -p $(TOOLS)
	@cd $(DIST_DIR) && { $(STATIC_BUILD) $(DIST_STD) & std=$$!; \
	  $(GO) list -deps . >/dev/null; listed=$$?; wait $$std; test $$listed -eq 0; }
	cd $(DIST_DIR) && flock $(TOOLS)/build.lock env $(STATIC_BUILD) -ldflags='-s -w' -o otelcol-msg .

# Regenerates the distribution's sources without compiling.
generate-dist: $(OCB)
	flock $(TOOLS)/build.lock $(OCB) --config builder-config.yaml --skip-compilation

# Fails when the committed sources of cmd/otelcol-msg are stale against
# builder-config.yaml, or when its committed go.mod/go.sum do not build as
# they are (what `make binary` and the Dockerfile rely on). Run before
# `make build`, whose ocb run rewrites go.mod and go.sum.
check-dist: $(OCB)
	@cd $(DIST_DIR) && $(GO) list -mod=readonly -deps . >/dev/null || \
	  { echo "check-dist: $(DIST_DIR)/go.mod or go.sum is stale; run 'make build' and commit them"; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	sed "s|output_path: ./cmd/otelcol-msg|output_path: $$tmp/dist|" builder-config.yaml > $$tmp/builder-config.yaml && \
	$(OCB) --config $$tmp/builder-config.yaml --skip-compilation --skip-get-modules >/dev/null 2>&1 && \
	for f in main.go main_others.go main_windows.go components.go; do \
	  diff -u $(DIST_DIR)/$$f $$tmp/dist/$$f || { echo "check-dist: $(DIST_DIR)/$$f is stale; run 'make generate-dist'"; exit 1; }; \
	done && echo "check-dist: $(DIST_DIR) matches builder-config.yaml"

# The demo: in-process Kafka, FastStream-shaped traffic, the real binary, a trace tree.
# The demo program, built like the distribution so it reuses its compiled packages.
demo-program: binary
	$(STATIC_BUILD) -o $(TOOLS)/demo ./internal/cmd/demo

run demo: demo-program
	$(TOOLS)/demo --binary $(BINARY)

# The demo also tapping each local RabbitMQ (5672), NATS (4222) and Redis (6379)
# that answers on 127.0.0.1; one that does not is reported and skipped.
demo-all: demo-program
	$(TOOLS)/demo --binary $(BINARY) --brokers auto

# The whole test suite, as CI runs it (brokers on 127.0.0.1 are started by .ci/run).
test: check-dist build
	OTELCOL_MSG_BINARY=$(CURDIR)/$(BINARY) $(GO) test -count=1 ./...

test-unit:
	$(GO) test -short ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# semconv processor against transformprocessor with equivalent OTTL (a separate Go module, so
# contrib's transformprocessor never becomes a dependency of the distribution).
bench-compare:
	cd bench && $(GO) run ./cmd/benchcompare -go $(GO)

# Fuzzes every Fuzz target for FUZZTIME each, one after the other. Not part of
# `make test`, where the committed seed corpora (testdata/fuzz/) run as tests.
# Packages with targets are found in the sources, the targets by `go test -list`.
fuzz:
	@set -euo pipefail; n=0; failed=""; \
	pkgs=$$(grep -rl --include='*_test.go' --exclude-dir=.git --exclude-dir=.tools '^func Fuzz' . | xargs -n1 dirname | sort -u); \
	for pkg in $$pkgs; do \
	  targets=$$($(GO) test -list '^Fuzz' $$pkg) || { echo "fuzz: cannot list $$pkg"; exit 1; }; \
	  for t in $$(echo "$$targets" | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || failed="$$failed $$pkg:$$t"; \
	    n=$$((n + 1)); \
	  done; \
	done; \
	test $$n -gt 0 || { echo "fuzz: no Fuzz targets found"; exit 1; }; \
	test -z "$$failed" || { echo "fuzz: $$n targets, failing:$$failed (inputs in testdata/fuzz/)"; exit 1; }; \
	echo "fuzz: $$n targets fuzzed for $(FUZZTIME) each"

test-crash: binary
	OTELCOL_MSG_BINARY=$(CURDIR)/$(BINARY) $(GO) test -count=1 -run 'TestCrash' -v ./internal/e2e/

generate:
	$(GO) generate ./...

lint:
	@# cmd/otelcol-msg is ocb output: check-dist keeps it byte-equal to what ocb writes.
	@files=$$(git ls-files '*.go' | grep -v '^$(DIST_DIR)/'); \
	test -z "$$(gofmt -l $$files)" || { gofmt -l $$files; exit 1; }
	$(GO) vet ./...

# The image (multi-stage: compiles inside golang, ships on scratch), where a
# Docker engine runs; needs no local Go. E.g. make docker DOCKER_BUILD_ARGS="--build-arg GOPROXY=..."
IMAGE             ?= otelcol-msg:latest
DOCKER_BUILD_ARGS ?=
DIST_VERSION      := $(shell sed -n 's/^  version: *//p' builder-config.yaml)
docker:
	docker build -f $(DIST_DIR)/Dockerfile --build-arg VERSION=$(DIST_VERSION) -t $(IMAGE) $(DOCKER_BUILD_ARGS) .

clean:
	rm -f $(BINARY)
