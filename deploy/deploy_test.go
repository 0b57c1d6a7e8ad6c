package deploy_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Paths are relative to this package's directory, where `go test` runs.
const (
	repoRoot       = ".."
	composeFile    = "compose.yaml"
	gatewayConfig  = "otelcol-msg/gateway.yaml"
	defaultConfig  = "otelcol-msg/default.yaml"
	dockerfilePath = "../cmd/otelcol-msg/Dockerfile"
	builderConfig  = "../builder-config.yaml"
	distDir        = "../cmd/otelcol-msg"
	binaryEnv      = "OTELCOL_MSG_BINARY"
)

// ocbBuildArgs is the command ocb v0.158.0 runs for builder-config.yaml
// (`cgo_enabled: false` adds CGO_ENABLED=0); the Dockerfile must run the same.
var ocbBuildArgs = []string{"build", "-trimpath", "-o", "OUT", "-ldflags=-s -w", "-gcflags="}

var outDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "otelcol-msg-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	outDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goBuild compiles pkg (resolved in dir) into outDir/name with the command
// ocb runs, which is also the Dockerfile's.
func goBuild(dir, pkg, name string) (string, error) {
	out := filepath.Join(outDir, name)
	args := make([]string, 0, len(ocbBuildArgs)+1)
	for _, a := range ocbBuildArgs {
		if a == "OUT" {
			a = out
		}
		args = append(args, a)
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(context.Background(), "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("CGO_ENABLED=0 go %s in %s: %w\n%s", strings.Join(args, " "), dir, err, b)
	}
	return out, nil
}

var (
	collectorOnce sync.Once
	collectorPath string
	collectorErr  error
)

// collectorBinary is $OTELCOL_MSG_BINARY (what `make test` built with ocb),
// or else the distribution compiled here as the Dockerfile compiles it.
func collectorBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(binaryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatalf("%s=%q: %v", binaryEnv, p, err)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Fatalf("%s=%q: %v (run `make build`)", binaryEnv, p, err)
		}
		return abs
	}
	collectorOnce.Do(func() {
		collectorPath, collectorErr = goBuild(distDir, ".", "otelcol-msg")
	})
	if collectorErr != nil {
		t.Fatalf("%v(if cmd/otelcol-msg is stale, run `make build`, or set %s)", collectorErr, binaryEnv)
	}
	return collectorPath
}

// readYAML decodes a YAML file into a generic tree.
func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// dig walks a generic YAML tree along keys; ok is false when a key is missing.
func dig(v any, keys ...string) (any, bool) {
	for _, k := range keys {
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil, false
		}
		if v, isMap = m[k]; !isMap {
			return nil, false
		}
	}
	return v, true
}

func digString(t *testing.T, v any, keys ...string) string {
	t.Helper()
	got, ok := dig(v, keys...)
	if !ok {
		t.Fatalf("missing %s", strings.Join(keys, "::"))
	}
	s, ok := got.(string)
	if !ok {
		t.Fatalf("%s is %T, not a string", strings.Join(keys, "::"), got)
	}
	return s
}

var envPlaceholder = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// withEnvDefaults replaces ${env:NAME:-default} by its default, as the
// collector does when NAME is unset.
func withEnvDefaults(s string) string {
	return envPlaceholder.ReplaceAllString(s, "$2")
}

// hostPort splits a host:port, or a URL's authority, after applying the
// defaults of ${env:...} placeholders.
func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	rest := withEnvDefaults(addr)
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			rest = rest[:j]
		}
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			rest = rest[at+1:]
		}
	}
	h, p, err := net.SplitHostPort(rest)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("address %q: port: %v", addr, err)
	}
	return h, n
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p := hostPort(t, addr)
	return p
}

// collectorListenPorts are the ports a collector config listens on: the OTLP
// receiver, health_check and the self-telemetry reader. (Its span metrics
// are pushed, so no exporter listens.)
func collectorListenPorts(t *testing.T, cfg map[string]any) map[int]string {
	t.Helper()
	ports := map[int]string{}
	add := func(what string, p int) {
		if prev, dup := ports[p]; dup {
			t.Fatalf("port %d used by both %s and %s", p, prev, what)
		}
		ports[p] = what
	}
	for _, proto := range []string{"grpc", "http"} {
		if ep, ok := dig(cfg, "receivers", "otlp", "protocols", proto, "endpoint"); ok {
			add("otlp "+proto, port(t, ep.(string)))
		}
	}
	if ep, ok := dig(cfg, "extensions", "health_check", "endpoint"); ok {
		add("health_check", port(t, ep.(string)))
	}
	if readers, ok := dig(cfg, "service", "telemetry", "metrics", "readers"); ok {
		for _, r := range readers.([]any) {
			if p, ok := dig(r, "pull", "exporter", "prometheus", "port"); ok {
				add("self-telemetry", p.(int))
			}
		}
	}
	return ports
}
