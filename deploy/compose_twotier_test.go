package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	twoTierComposeFile = "compose.two-tier.yaml"
	tier1Config        = "otelcol-msg/tier1.yaml"
	tier2Config        = "otelcol-msg/tier2.yaml"
	tier1Service       = "otelcol-msg-tier1"
	tier2Service       = "otelcol-msg-tier2"
)

// overlayService is a service of compose.two-tier.yaml: compose.yaml's
// fields and the replica count.
type overlayService struct {
	composeService `yaml:",inline"`
	Deploy         *struct {
		Replicas string `yaml:"replicas"`
	} `yaml:"deploy"`
}

func readTwoTier(t *testing.T) map[string]overlayService {
	t.Helper()
	b, err := os.ReadFile(twoTierComposeFile)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]overlayService `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", twoTierComposeFile, err)
	}
	for _, name := range []string{"otelcol-msg", tier1Service, tier2Service} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("%s has no service %q", twoTierComposeFile, name)
		}
	}
	return c.Services
}

// replicaKnob matches ${NAME:-default}, compose's interpolation with a default.
var replicaKnob = regexp.MustCompile(`^\$\{([A-Z0-9_]+):-([0-9]+)\}$`)

// The overlay turns compose.yaml's gateway into tier 1, adds replicas of tier
// 1 and tier 2 with a knob each, and every service runs the image compose.yaml
// builds with the config it is meant to, health-checked on its port.
func TestComposeTwoTierServices(t *testing.T) {
	base := readCompose(t)
	overlay := readTwoTier(t)
	baseGW := base.Services["otelcol-msg"]
	target := mustFlag(t, baseGW.Command, "config")

	// The gateway keeps compose.yaml's command and ports; the overlay's mount
	// at the same target replaces gateway.yaml with tier1.yaml.
	gw := overlay["otelcol-msg"]
	if src := mountSource(t, gw.composeService, target); !samePath(t, src, tier1Config) {
		t.Errorf("otelcol-msg in %s mounts %s at %s, want %s", twoTierComposeFile, src, target, tier1Config)
	}
	var published []int
	for _, p := range baseGW.Ports {
		n, err := strconv.Atoi(p[strings.LastIndex(p, ":")+1:])
		if err != nil {
			t.Fatalf("otelcol-msg port %q", p)
		}
		published = append(published, n)
	}
	listen := slices.Sorted(func(yield func(int) bool) {
		for p := range collectorListenPorts(t, readYAML(t, tier1Config)) {
			if !yield(p) {
				return
			}
		}
	})
	if slices.Sort(published); !slices.Equal(published, listen) {
		t.Errorf("otelcol-msg publishes %v, tier1.yaml listens on %v", published, listen)
	}

	for name, cfg := range map[string]string{tier1Service: tier1Config, tier2Service: tier2Config} {
		s := overlay[name]
		if s.Image != baseGW.Image || s.Build == nil || baseGW.Build == nil ||
			s.Build.Context != baseGW.Build.Context || s.Build.Dockerfile != baseGW.Build.Dockerfile {
			t.Errorf("%s: image %q build %+v, want compose.yaml's otelcol-msg image %q build %+v", name, s.Image, s.Build, baseGW.Image, baseGW.Build)
		}
		cfgPath := mustFlag(t, s.Command, "config")
		if src := mountSource(t, s.composeService, cfgPath); !samePath(t, src, cfg) {
			t.Errorf("%s runs %s, want %s", name, src, cfg)
		}
		// Replicas cannot share a host port.
		if len(s.Ports) > 0 {
			t.Errorf("%s publishes %v: its replicas would collide on the host", name, s.Ports)
		}
		if s.Deploy == nil || !replicaKnob.MatchString(s.Deploy.Replicas) {
			t.Errorf("%s: deploy.replicas must be ${KNOB:-n}, got %+v", name, s.Deploy)
		} else if n, _ := strconv.Atoi(replicaKnob.FindStringSubmatch(s.Deploy.Replicas)[2]); n < 1 {
			t.Errorf("%s: default replicas %d", name, n)
		}
		if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 || s.Healthcheck.Test[0] != "CMD" || s.Healthcheck.Test[1] != "/healthcheck" {
			t.Fatalf("%s: healthcheck %+v, want [CMD /healthcheck -url ...]", name, s.Healthcheck)
		}
		health := digString(t, readYAML(t, cfg), "extensions", "health_check", "endpoint")
		if got := port(t, mustFlag(t, s.Healthcheck.Test[1:], "url")); got != port(t, health) {
			t.Errorf("%s: healthcheck probes port %d, health_check listens on %s", name, got, health)
		}
	}
	if d := overlay[tier2Service].Deploy; d != nil {
		if m := replicaKnob.FindStringSubmatch(d.Replicas); m != nil {
			if n, _ := strconv.Atoi(m[2]); n < 2 {
				t.Errorf("%s defaults to %d replica(s): the stack would not show the routing", tier2Service, n)
			}
		}
	}

	// Dependencies name services of either file; a healthy one has a check.
	all := map[string]bool{}
	for name := range base.Services {
		all[name] = true
	}
	for name := range overlay {
		all[name] = true
	}
	for name, s := range overlay {
		for dep, d := range s.DependsOn {
			if !all[dep] {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			check := base.Services[dep].Healthcheck
			if o, ok := overlay[dep]; ok {
				check = o.Healthcheck
			}
			if d.Condition == "service_healthy" && (check == nil || len(check.Test) == 0) {
				t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
			}
		}
	}
}

// Tier 1 finds tier 2 by the compose service's name and OTLP port, and tier
// 2 sends to compose.yaml's Tempo and Prometheus.
func TestComposeTwoTierAddressesResolve(t *testing.T) {
	base := readCompose(t)
	listen := listenPorts(t, base)
	tier1, tier2 := readYAML(t, tier1Config), readYAML(t, tier2Config)

	host := withEnvDefaults(digString(t, tier1, "exporters", "loadbalancing", "resolver", "dns", "hostname"))
	if host != tier2Service {
		t.Errorf("tier1.yaml resolves %q, want the compose service %q", host, tier2Service)
	}
	lbPort, err := strconv.Atoi(digString(t, tier1, "exporters", "loadbalancing", "resolver", "dns", "port"))
	if err != nil {
		t.Fatal(err)
	}
	if grpc := port(t, digString(t, tier2, "receivers", "otlp", "protocols", "grpc", "endpoint")); grpc != lbPort {
		t.Errorf("tier 1 sends to port %d, tier 2's otlp grpc listens on %d", lbPort, grpc)
	}
	if key := digString(t, tier1, "exporters", "loadbalancing", "routing_key"); key != "traceID" {
		t.Errorf("tier 1 routes by %q: the spans of a trace must meet on one tier-2 instance (traceID)", key)
	}

	for what, addr := range map[string]string{
		"otlp_grpc/tempo":      digString(t, tier2, "exporters", "otlp_grpc/tempo", "endpoint"),
		"otlp_http/prometheus": digString(t, tier2, "exporters", "otlp_http/prometheus", "metrics_endpoint"),
	} {
		h, p := hostPort(t, addr)
		if !slices.Contains(listen[h], p) {
			t.Errorf("tier2.yaml %s: %s, but %s listens on %v", what, addr, h, listen[h])
		}
	}
	if ep := withEnvDefaults(digString(t, tier2, "exporters", "otlp_http/prometheus", "metrics_endpoint")); !strings.HasSuffix(ep, otlpMetricsPath) {
		t.Errorf("tier2.yaml pushes metrics to %s, want Prometheus's OTLP receiver %s", ep, otlpMetricsPath)
	}
}

// Tier 2 and the single gateway name their service_graph series with their
// instance: each instance sees only its share of the traces, and without the
// attribute two instances push the same series (span_metrics adds its own).
func TestServiceGraphSeriesNameTheirInstance(t *testing.T) {
	for _, cfg := range []string{tier2Config, gatewayConfig} {
		c := readYAML(t, cfg)
		procs, _ := dig(c, "service", "pipelines", "metrics/red", "processors")
		list, _ := procs.([]any)
		found := false
		for _, p := range list {
			actions, _ := dig(c, "processors", p.(string), "actions")
			as, _ := actions.([]any)
			for _, a := range as {
				if digString(t, a, "key") == "collector.instance.id" && digString(t, a, "action") == "insert" {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("metrics/red of %s does not insert collector.instance.id (processors %v)", filepath.ToSlash(cfg), list)
		}
		receivers, _ := dig(c, "service", "pipelines", "metrics/red", "receivers")
		if !slices.Contains(receivers.([]any), any("service_graph")) {
			t.Errorf("metrics/red of %s does not take service_graph", cfg)
		}
	}
}
