package deploy_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// throughputVariant is the one shipped broker pipeline allowed to hold spans
// in memory; it is an overlay on gatewayConfig.
const throughputVariant = "otelcol-msg/variants/throughput.yaml"

// holdsSpans reports whether a processor accepts spans before the backend
// has them.
func holdsSpans(processor string) bool {
	typ, _, _ := strings.Cut(processor, "/")
	return typ == "batch" || typ == "tail_sampling" || typ == "groupbytrace"
}

// atLeastOnceViolations lists why the pipelines of cfg that take msgtrace
// spans would let offsets be committed for spans only held in memory (the
// README's at-least-once recipe: no batch, exporters without a sending
// queue that answers before the export; connectors are synchronous).
func atLeastOnceViolations(t *testing.T, cfg map[string]any) []string {
	t.Helper()
	var out []string
	pipelines, _ := dig(cfg, "service", "pipelines")
	connectors, _ := dig(cfg, "connectors")
	for name, p := range pipelines.(map[string]any) {
		// Messages are acknowledged on the delivery of their spans; the
		// consumer metrics of a metrics pipeline are not tied to it.
		if signal, _, _ := strings.Cut(name, "/"); signal != "traces" {
			continue
		}
		recv, _ := dig(p, "receivers")
		fromMsgtrace := false
		for _, r := range asList(recv) {
			typ, _, _ := strings.Cut(r, "/")
			fromMsgtrace = fromMsgtrace || typ == "msgtrace"
		}
		if !fromMsgtrace {
			continue
		}
		procs, _ := dig(p, "processors")
		for _, pr := range asList(procs) {
			if holdsSpans(pr) {
				out = append(out, name+": processor "+pr+" holds spans")
			}
		}
		exps, _ := dig(p, "exporters")
		for _, e := range asList(exps) {
			if _, isConnector := dig(connectors, e); isConnector {
				continue
			}
			// An exporter's own retry without a queue still blocks
			// ConsumeTraces until it gave up (then msgtrace retries):
			// only a queue that does not wait for the result breaks it.
			enabled, _ := dig(cfg, "exporters", e, "sending_queue", "enabled")
			wait, _ := dig(cfg, "exporters", e, "sending_queue", "wait_for_result")
			if enabled != false && wait != true {
				out = append(out, name+": exporter "+e+" has a sending queue (want sending_queue: {enabled: false})")
			}
		}
	}
	return out
}

func asList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, e.(string))
	}
	return out
}

// Every shipped config with msgtrace follows the at-least-once recipe.
func TestShippedBrokerPipelinesAtLeastOnce(t *testing.T) {
	files := append(collectorConfigs(t), "../testdata/e2e-crash.yaml")
	checked := 0
	for _, file := range files {
		cfg := readYAML(t, file)
		if _, ok := dig(cfg, "receivers", "msgtrace"); !ok {
			continue
		}
		checked++
		for _, v := range atLeastOnceViolations(t, cfg) {
			t.Errorf("%s: %s", file, v)
		}
	}
	if checked < 2 {
		t.Fatalf("only %d configs with msgtrace checked", checked)
	}
}

// The throughput variant is what its name says: batch behind msgtrace, on
// top of the gateway config, and the binary accepts the pair.
func TestThroughputVariant(t *testing.T) {
	merged := readYAML(t, gatewayConfig)
	overlay := readYAML(t, throughputVariant)
	pipes, _ := dig(merged, "service", "pipelines")
	over, _ := dig(overlay, "service", "pipelines")
	for name, p := range over.(map[string]any) {
		pipes.(map[string]any)[name] = p
	}
	if len(atLeastOnceViolations(t, merged)) == 0 {
		t.Error("the throughput variant follows the at-least-once recipe: it gains nothing")
	}
	bin := collectorBinary(t)
	out, err := exec.CommandContext(context.Background(), bin, "validate",
		"--config", gatewayConfig, "--config", throughputVariant).CombinedOutput()
	if err != nil {
		t.Fatalf("validate gateway + throughput variant: %v\n%s", err, out)
	}
}

// README examples with a msgtrace pipeline follow the recipe too (the
// throughput one is only linked).
func TestReadmeExamplesAtLeastOnce(t *testing.T) {
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	for _, readme := range []string{"../README.md", "../msgtracereceiver/README.md", "README.md"} {
		b, err := os.ReadFile(readme)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllStringSubmatch(string(b), -1) {
			var cfg map[string]any
			if yaml.Unmarshal([]byte(m[1]), &cfg) != nil {
				continue // a fragment
			}
			if _, ok := dig(cfg, "service", "pipelines"); !ok {
				continue
			}
			if _, ok := dig(cfg, "exporters"); !ok {
				// A pipeline fragment: its exporters are defined elsewhere.
				cfg["exporters"] = map[string]any{}
			}
			for _, v := range atLeastOnceViolations(t, cfg) {
				if strings.Contains(m[1], "tail_sampling") {
					continue // README says tail sampling breaks the recipe
				}
				t.Errorf("%s example: %s", readme, v)
			}
		}
	}
}

// The compose stack is reachable from this host only, with no anonymous
// Grafana admin and no RabbitMQ guest from outside.
func TestComposeLocalOnly(t *testing.T) {
	c := readCompose(t)
	for name, s := range c.Services {
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %q on every interface, want 127.0.0.1:...", name, p)
			}
		}
	}
	g := c.Services["grafana"].Environment
	if strings.EqualFold(g["GF_AUTH_ANONYMOUS_ENABLED"], "true") {
		if role := g["GF_AUTH_ANONYMOUS_ORG_ROLE"]; role != "Viewer" {
			t.Errorf("grafana: anonymous users are %q, want Viewer", role)
		}
	}
	if strings.EqualFold(g["GF_AUTH_DISABLE_LOGIN_FORM"], "true") {
		t.Error("grafana: no login form, so nobody can act as admin but anonymous users")
	}
	b, err := os.ReadFile(filepath.Join("rabbitmq", "advanced.config"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "loopback_users") {
		t.Errorf("rabbitmq advanced.config changes loopback_users: guest must stay localhost-only")
	}
	rmq := c.Services["rabbitmq"].Environment
	if u := rmq["RABBITMQ_DEFAULT_USER"]; u == "" || u == "guest" {
		t.Errorf("rabbitmq: RABBITMQ_DEFAULT_USER=%q, want a user of the stack's own (no guest)", u)
	}
	gw := readYAML(t, gatewayConfig)
	user := withEnvDefaults(digString(t, gw, "receivers", "msgtrace", "rabbitmq", "username"))
	if env := c.Services["otelcol-msg"].Environment["RABBITMQ_USERNAME"]; env != "" {
		user = env
	}
	if user != rmq["RABBITMQ_DEFAULT_USER"] {
		t.Errorf("gateway logs in to RabbitMQ as %q, the broker's user is %q", user, rmq["RABBITMQ_DEFAULT_USER"])
	}
}
