# otelcol-msg — build, run, test. Only Go is needed on a fresh machine.
SHELL      := /bin/bash
GO         ?= go
OCB_VERSION := v0.158.0
TOOLS      := $(CURDIR)/.tools
OCB        := $(TOOLS)/builder-$(OCB_VERSION)
DIST_DIR   := cmd/otelcol-msg
BINARY     := $(DIST_DIR)/otelcol-msg
# Fuzz time per target for `make fuzz`.
FUZZTIME   ?= 60s

.PHONY: all build binary link-binary link-demo dist-deps demo-program update-dist probe-release check-dist run demo demo-all test test-unit bench bench-compare fuzz test-crash test-scale lint generate docker clean

all: build

# ocb, compiled like the distribution (static, paths trimmed) so that the two
# share the compiled standard library and the dependencies they have in common.
OCB_INSTALL := GOBIN=$(TOOLS) CGO_ENABLED=0 $(GO) install -trimpath go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION) && mv $(TOOLS)/builder $(OCB)

$(OCB):
	$(OCB_INSTALL)

# The roots of the distribution's standard-library imports (from `go list
# -deps`); one missing here is merely compiled later, with the rest.
DIST_STD := compress/zlib container/heap container/ring crypto/pbkdf2 database/sql/driver embed \
	encoding/base32 encoding/csv encoding/xml expvar hash/fnv io/ioutil log/slog log/syslog math/cmplx \
	net/http/cookiejar net/http/httptest net/http/httputil net/http/pprof net/rpc os/exec os/signal \
	os/user runtime/metrics testing go/doc go/parser text/scanner
# What ocb compiles the distribution with (cgo_enabled: false), and the demo program too.
STATIC_BUILD := CGO_ENABLED=0 $(GO) build -trimpath

# Downloads the distribution's modules and compiles its packages, linking
# nothing: the standard library compiles while the modules download, then
# everything else. `build` and `binary` then find them in the build cache.
dist-deps:
	@cd $(DIST_DIR) && { $(STATIC_BUILD) $(DIST_STD) & std=$$!; \
	  deps=$$($(GO) list -deps -f '{{if not .Standard}}{{if ne .Name "main"}}{{.ImportPath}}{{end}}{{end}}' .); listed=$$?; \
	  wait $$std && test $$listed -eq 0 && $(STATIC_BUILD) $$deps; }

# ocb generates cmd/otelcol-msg from builder-config.yaml and compiles it
# against the committed go.mod/go.sum (--skip-get-modules: no `go mod tidy`
# of the whole module graph; `make update-dist` resolves modules after
# builder-config.yaml changes, and check-dist fails until it has run). On a
# fresh machine ocb installs while dist-deps runs; ocb's compile then only
# links.
build:
	@mkdir -p $(TOOLS)
	@$(MAKE) --no-print-directory -j2 $(OCB) dist-deps
	flock $(TOOLS)/build.lock $(OCB) --config builder-config.yaml --skip-get-modules

# The distribution compiled straight from its committed sources (ocb's output,
# kept current by check-dist) with the command ocb runs: no ocb install, so a
# fresh machine gets the binary sooner (ocb itself costs some 40 CPU-seconds
# to compile). Same binary as `make build`, byte for byte; the demo builds
# with the same flags so that it reuses the compiled packages.
binary: dist-deps
	@$(MAKE) --no-print-directory link-binary

link-binary:
	@mkdir -p $(TOOLS)
	cd $(DIST_DIR) && flock $(TOOLS)/build.lock env $(STATIC_BUILD) -ldflags='-s -w' -o otelcol-msg .

# Resolves the distribution's modules again and rewrites cmd/otelcol-msg
# (go.mod and go.sum included), then compiles it: run after changing a
# component or a version in builder-config.yaml, and commit the result.
update-dist: $(OCB)
	@mkdir -p $(TOOLS)
	flock $(TOOLS)/build.lock $(OCB) --config builder-config.yaml

# Tells whether every component of builder-config.yaml resolves at another collector
# release (contrib/core v0.N.0 with stable modules v1.(N-94).0): ocb resolves the whole
# module graph of a copy of the manifest, compiling nothing. E.g. make probe-release RELEASE=v0.161.0
probe-release: $(OCB)
	@test -n "$(RELEASE)" || { echo "usage: make probe-release RELEASE=v0.161.0"; exit 2; }
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && minor=$$(echo $(RELEASE) | cut -d. -f2) && \
	stable=v1.$$((minor - 94)).0 && \
	sed -E -e "s|output_path: ./cmd/otelcol-msg|output_path: $$tmp/dist|" \
	  -e "/gomod: (go.opentelemetry.io|github.com\/open-telemetry)\//{s/ v0\.[0-9]+\.[0-9]+\$$/ $(RELEASE)/;s/ v1\.[0-9]+\.[0-9]+\$$/ $$stable/}" \
	  -e "s|path: ./|path: $(CURDIR)/|" builder-config.yaml > $$tmp/builder-config.yaml && \
	if $(OCB) --config $$tmp/builder-config.yaml --skip-compilation > $$tmp/ocb.log 2>&1; then \
	  echo "probe-release: every component resolves at $(RELEASE) / $$stable"; \
	else grep -E 'not available|Forbidden|Not Found|unknown revision|error' $$tmp/ocb.log | sort -u | head -20; \
	  echo "probe-release: $(RELEASE) does not resolve (above)"; exit 1; fi

# Fails when the committed cmd/otelcol-msg is stale against
# builder-config.yaml: a generated source differs from what ocb writes, a
# module version of the manifest is not the one go.mod requires, or the
# committed go.mod/go.sum do not build as they are (what `make build` and
# the Dockerfile rely on).
check-dist: $(OCB)
	@cd $(DIST_DIR) && $(GO) list -mod=readonly -deps . >/dev/null || \
	  { echo "check-dist: $(DIST_DIR)/go.mod or go.sum is stale; run 'make update-dist' and commit them"; exit 1; }
	@sed -n 's/^ *- gomod: *\([^ ]*\) \(v[^ ]*\) *$$/\1 \2/p' builder-config.yaml | while read -r mod ver; do \
	  grep -q "^module $$mod\$$" go.mod && continue; \
	  grep -Eq "^[[:space:]]*(require[[:space:]]+)?$$mod $$ver([[:space:]]|$$)" $(DIST_DIR)/go.mod || \
	    { echo "check-dist: builder-config.yaml wants $$mod $$ver, $(DIST_DIR)/go.mod does not require it; run 'make update-dist'"; exit 1; }; \
	done
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	sed "s|output_path: ./cmd/otelcol-msg|output_path: $$tmp/dist|" builder-config.yaml > $$tmp/builder-config.yaml && \
	$(OCB) --config $$tmp/builder-config.yaml --skip-compilation --skip-get-modules >/dev/null 2>&1 && \
	for f in main.go main_others.go main_windows.go components.go; do \
	  diff -u $(DIST_DIR)/$$f $$tmp/dist/$$f || { echo "check-dist: $(DIST_DIR)/$$f is stale; run 'make update-dist'"; exit 1; }; \
	done && echo "check-dist: $(DIST_DIR) matches builder-config.yaml"

# The demo: in-process Kafka, FastStream-shaped traffic, the real binary, a trace tree.
# The demo program, built like the distribution so it reuses its compiled packages.
# The distribution's link (one core, some 10 s) and the demo's compile run side by side.
demo-program: dist-deps
	@$(MAKE) --no-print-directory -j2 link-binary link-demo

link-demo:
	@mkdir -p $(TOOLS)
	$(STATIC_BUILD) -o $(TOOLS)/demo ./internal/cmd/demo

run demo: demo-program
	$(TOOLS)/demo --binary $(BINARY)

# The demo also tapping each local RabbitMQ (5672), NATS (4222) and Redis (6379)
# that answers on 127.0.0.1; one that does not is reported and skipped.
demo-all: demo-program
	$(TOOLS)/demo --binary $(BINARY) --brokers auto

# The whole test suite, as CI runs it (brokers on 127.0.0.1 are started by .ci/run).
# bench/ is a module of its own (it holds contrib's transformprocessor); its
# tests check that both sides of `make bench-compare` produce the same spans.
test: check-dist build
	OTELCOL_MSG_BINARY=$(CURDIR)/$(BINARY) $(GO) test -count=1 -skip '^TestScale' ./...
	OTELCOL_MSG_BINARY=$(CURDIR)/$(BINARY) $(SCALE_TEST)
	cd bench && $(GO) test -count=1 ./...

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

# Replicas that split the work (issue 16): gateways of the built binary in one
# consumer group on a Kafka of its own, one SIGKILLed and one joining
# mid-stream; prints "scale test: replicas=3 produced=N lost=0 ...". The same,
# smaller, for the RabbitMQ, NATS JetStream and Redis Streams taps on the local
# servers. `make test` runs them too, on their own so that their lines show.
SCALE_TEST := $(GO) test -count=1 -run '^TestScale' -v -timeout 5m ./internal/e2e/
test-scale: binary
	OTELCOL_MSG_BINARY=$(CURDIR)/$(BINARY) $(SCALE_TEST)

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
