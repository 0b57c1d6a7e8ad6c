package deploy_test

import (
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type compose struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

func readCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	for _, name := range []string{"kafka", "rabbitmq", "otelcol-msg", "tempo", "prometheus", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("%s has no service %q", composeFile, name)
		}
	}
	return c
}

// mount is one short-syntax volume: source:target[:mode].
type mount struct{ source, target string }

func mounts(t *testing.T, s composeService) []mount {
	t.Helper()
	var out []mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Fatalf("volume %q: want source:target[:mode]", v)
		}
		out = append(out, mount{source: parts[0], target: parts[1]})
	}
	return out
}

// mountSource returns the repository file or directory mounted at target (or
// at the directory holding it), relative to this directory.
func mountSource(t *testing.T, s composeService, target string) string {
	t.Helper()
	for _, m := range mounts(t, s) {
		if m.target == target {
			return filepath.FromSlash(m.source)
		}
		if rel, ok := strings.CutPrefix(target, m.target+"/"); ok && strings.HasPrefix(m.source, ".") {
			return filepath.Join(filepath.FromSlash(m.source), filepath.FromSlash(rel))
		}
	}
	t.Fatalf("nothing is mounted at %s", target)
	return ""
}

// flagValue finds -name=value, --name=value or --name value in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		for _, p := range []string{"-" + name, "--" + name} {
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, true
			}
			if a == p && i+1 < len(args) {
				return args[i+1], true
			}
		}
	}
	return "", false
}

// The image names are pinned, so `docker compose up` a year from now runs
// the stack these files were written for.
func TestComposeImagesPinned(t *testing.T) {
	for name, s := range readCompose(t).Services {
		if s.Build != nil {
			continue
		}
		_, tag, ok := strings.Cut(path.Base(s.Image), ":")
		if !ok || tag == "" || tag == "latest" {
			t.Errorf("service %s: image %q is not pinned to a tag", name, s.Image)
		}
	}
}

// Every bind mount names a file of this repository; every other volume is
// declared at the top level.
func TestComposeMountsExist(t *testing.T) {
	c := readCompose(t)
	for name, s := range c.Services {
		for _, m := range mounts(t, s) {
			if !strings.HasPrefix(m.source, ".") {
				if _, ok := c.Volumes[m.source]; !ok {
					t.Errorf("service %s: volume %q is not declared under volumes:", name, m.source)
				}
				continue
			}
			fi, err := os.Stat(filepath.FromSlash(m.source))
			if err != nil {
				t.Errorf("service %s: mount source: %v", name, err)
				continue
			}
			if wantFile := path.Ext(m.target) != ""; wantFile != fi.Mode().IsRegular() {
				t.Errorf("service %s: %s mounted at %s: file/directory mismatch", name, m.source, m.target)
			}
		}
	}
}

func TestComposeHealthDependencies(t *testing.T) {
	c := readCompose(t)
	for name, s := range c.Services {
		for dep, d := range s.DependsOn {
			target, ok := c.Services[dep]
			if !ok {
				t.Errorf("service %s depends on unknown service %s", name, dep)
				continue
			}
			if d.Condition == "service_healthy" && (target.Healthcheck == nil || len(target.Healthcheck.Test) == 0) {
				t.Errorf("service %s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
			}
		}
	}
}

// listenPorts is what each service listens on inside the network, read from
// the files that configure it (or the image's documented default).
func listenPorts(t *testing.T, c compose) map[string][]int {
	t.Helper()
	ports := map[string][]int{}

	gw := c.Services["otelcol-msg"]
	cfgPath, ok := flagValue(gw.Command, "config")
	if !ok {
		t.Fatal("otelcol-msg: command has no --config")
	}
	gwCfg := readYAML(t, mountSource(t, gw, cfgPath))
	for p := range collectorListenPorts(t, gwCfg) {
		ports["otelcol-msg"] = append(ports["otelcol-msg"], p)
	}

	tempo := c.Services["tempo"]
	tempoCfgPath, ok := flagValue(tempo.Command, "config.file")
	if !ok {
		t.Fatal("tempo: command has no -config.file")
	}
	tempoCfg := readYAML(t, mountSource(t, tempo, tempoCfgPath))
	httpPort, ok := dig(tempoCfg, "server", "http_listen_port")
	if !ok {
		t.Fatal("tempo: no server::http_listen_port")
	}
	ports["tempo"] = append(ports["tempo"], httpPort.(int), port(t, digString(t, tempoCfg, "distributor", "receivers", "otlp", "protocols", "grpc", "endpoint")))

	kafka := c.Services["kafka"]
	for _, l := range strings.Split(kafka.Environment["KAFKA_LISTENERS"], ",") {
		_, hp, ok := strings.Cut(l, "://")
		if !ok {
			t.Fatalf("kafka: listener %q", l)
		}
		ports["kafka"] = append(ports["kafka"], port(t, "0.0.0.0"+hp[strings.LastIndex(hp, ":"):]))
	}

	// The rabbitmq:*-management image: AMQP and the management UI.
	ports["rabbitmq"] = []int{5672, 15672}

	prom := c.Services["prometheus"]
	ports["prometheus"] = []int{9090}
	if addr, ok := flagValue(prom.Command, "web.listen-address"); ok {
		ports["prometheus"] = []int{port(t, addr)}
	}

	ports["grafana"] = []int{3000}
	if p, ok := c.Services["grafana"].Environment["GF_SERVER_HTTP_PORT"]; ok {
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("grafana: GF_SERVER_HTTP_PORT=%q", p)
		}
		ports["grafana"] = []int{n}
	}
	return ports
}

// Published ports are ones the services listen on; the gateway publishes
// exactly the ports its config listens on.
func TestComposePublishedPorts(t *testing.T) {
	c := readCompose(t)
	listen := listenPorts(t, c)
	for name, s := range c.Services {
		var published []int
		for _, p := range s.Ports {
			container := p[strings.LastIndex(p, ":")+1:]
			container, _, _ = strings.Cut(container, "/")
			n, err := strconv.Atoi(container)
			if err != nil {
				t.Fatalf("service %s: port %q", name, p)
			}
			published = append(published, n)
			if !slices.Contains(listen[name], n) {
				t.Errorf("service %s publishes %d, but listens on %v", name, n, listen[name])
			}
		}
		if name == "otelcol-msg" {
			slices.Sort(published)
			want := slices.Sorted(slices.Values(listen[name]))
			if !slices.Equal(published, want) {
				t.Errorf("otelcol-msg publishes %v, its config listens on %v", published, want)
			}
		}
	}
}

// reference is an address one service's files use to reach another.
type reference struct {
	from, addr string
}

// Every address a service's config uses to reach another service names a
// service of this file and a port that service listens on.
func TestComposeAddressesResolve(t *testing.T) {
	c := readCompose(t)
	listen := listenPorts(t, c)

	gw := readYAML(t, gatewayConfig)
	refs := []reference{
		{"otelcol-msg exporters::otlp_grpc/tempo", digString(t, gw, "exporters", "otlp_grpc/tempo", "endpoint")},
		{"otelcol-msg exporters::otlp_http/prometheus", digString(t, gw, "exporters", "otlp_http/prometheus", "metrics_endpoint")},
		{"otelcol-msg receivers::msgtrace::rabbitmq", digString(t, gw, "receivers", "msgtrace", "rabbitmq", "endpoint")},
	}
	brokers, ok := dig(gw, "receivers", "msgtrace", "kafka", "brokers")
	if !ok {
		t.Fatal("gateway: no msgtrace::kafka::brokers")
	}
	for _, b := range brokers.([]any) {
		refs = append(refs, reference{"otelcol-msg receivers::msgtrace::kafka", b.(string)})
	}

	prom := readYAML(t, mountSource(t, c.Services["prometheus"], mustFlag(t, c.Services["prometheus"].Command, "config.file")))
	jobs, _ := dig(prom, "scrape_configs")
	for _, j := range jobs.([]any) {
		sc, _ := dig(j, "static_configs")
		for _, s := range sc.([]any) {
			targets, _ := dig(s, "targets")
			for _, tg := range targets.([]any) {
				refs = append(refs, reference{"prometheus job " + digString(t, j, "job_name"), tg.(string)})
			}
		}
	}

	ds := readYAML(t, filepath.Join(mountSource(t, c.Services["grafana"], "/etc/grafana/provisioning/datasources"), "datasources.yaml"))
	list, _ := dig(ds, "datasources")
	for _, d := range list.([]any) {
		refs = append(refs, reference{"grafana data source " + digString(t, d, "name"), digString(t, d, "url")})
	}

	for _, r := range refs {
		host, p := hostPort(t, r.addr)
		service := host
		if host == "localhost" || host == "127.0.0.1" {
			// Only Prometheus scrapes itself.
			service = strings.Fields(r.from)[0]
		}
		ports, ok := listen[service]
		if !ok {
			t.Errorf("%s: %s names no service of %s", r.from, r.addr, composeFile)
			continue
		}
		if !slices.Contains(ports, p) {
			t.Errorf("%s: %s, but %s listens on %v", r.from, r.addr, service, ports)
		}
	}

	// Prometheus scrapes the gateway's own telemetry, and nothing else of it:
	// the span metrics are pushed.
	var scraped []int
	for _, r := range refs {
		if host, p := hostPort(t, r.addr); host == "otelcol-msg" && strings.HasPrefix(r.from, "prometheus") {
			scraped = append(scraped, p)
		}
	}
	cfgPorts := collectorListenPorts(t, gw)
	for p, what := range cfgPorts {
		if what == "self-telemetry" && !slices.Contains(scraped, p) {
			t.Errorf("prometheus does not scrape the gateway's %s on %d", what, p)
		}
	}
	for _, p := range scraped {
		if cfgPorts[p] != "self-telemetry" {
			t.Errorf("prometheus scrapes otelcol-msg:%d, which is not the gateway's own telemetry (%v)", p, cfgPorts)
		}
	}
}

// hasFlag reports whether args hold the boolean flag -name or --name.
func hasFlag(args []string, name string) bool {
	return slices.Contains(args, "-"+name) || slices.Contains(args, "--"+name)
}

// features are the --enable-feature values of a Prometheus command line.
func features(args []string) []string {
	var out []string
	for i, a := range args {
		v, ok := strings.CutPrefix(a, "--enable-feature=")
		if !ok && a == "--enable-feature" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			out = append(out, strings.Split(v, ",")...)
		}
	}
	return out
}

// The RED metrics of span_metrics and service_graph, and msgtrace's
// consumer metrics, reach Prometheus by push: every metrics pipeline they
// feed exports with otlp_http to the compose Prometheus's OTLP receiver,
// which is on, keeps exemplars when span_metrics makes them, and names the
// series as the dashboard queries them.
func TestComposeRedMetricsReachPrometheus(t *testing.T) {
	c := readCompose(t)
	gw := readYAML(t, gatewayConfig)
	prom := c.Services["prometheus"]
	listen := listenPorts(t, c)

	pipelines, _ := dig(gw, "service", "pipelines")
	fed := map[string]bool{}
	for name, p := range pipelines.(map[string]any) {
		receivers, _ := dig(p, "receivers")
		var connectors []string
		for _, r := range receivers.([]any) {
			if _, ok := dig(gw, "connectors", r.(string)); ok {
				connectors = append(connectors, r.(string))
			}
			// msgtrace in a metrics pipeline: its consumer metrics.
			if typ, _, _ := strings.Cut(r.(string), "/"); typ == "msgtrace" && strings.HasPrefix(name, "metrics") {
				connectors = append(connectors, r.(string))
			}
		}
		if len(connectors) == 0 {
			continue
		}
		exporters, _ := dig(p, "exporters")
		if len(exporters.([]any)) == 0 {
			t.Errorf("pipeline %s: %v export nowhere", name, connectors)
		}
		for _, e := range exporters.([]any) {
			id := e.(string)
			if typ, _, _ := strings.Cut(id, "/"); typ != "otlp_http" {
				t.Errorf("pipeline %s exports %v with %s, want an otlp_http exporter to Prometheus", name, connectors, id)
				continue
			}
			ep := withEnvDefaults(digString(t, gw, "exporters", id, "metrics_endpoint"))
			u, err := url.Parse(ep)
			if err != nil {
				t.Fatalf("exporters::%s::metrics_endpoint %q: %v", id, ep, err)
			}
			host, p := hostPort(t, ep)
			if u.Scheme != "http" || host != "prometheus" || !slices.Contains(listen["prometheus"], p) || u.Path != otlpMetricsPath {
				t.Errorf("exporters::%s::metrics_endpoint is %s, want http://prometheus:%v%s (the compose Prometheus's OTLP receiver)",
					id, ep, listen["prometheus"], otlpMetricsPath)
			}
		}
		for _, conn := range connectors {
			fed[conn] = true
		}
	}
	for _, conn := range []string{"span_metrics", "service_graph"} {
		if !fed[conn] {
			t.Errorf("no pipeline takes the metrics of connector %s", conn)
		}
	}
	if len(consumersWatched(t, gw)) > 0 && !fed["msgtrace"] {
		t.Error("msgtrace watches consumer groups, but no metrics pipeline takes its consumer metrics to Prometheus")
	}

	if !hasFlag(prom.Command, "web.enable-otlp-receiver") {
		t.Errorf("prometheus runs %v without --web.enable-otlp-receiver: %s answers 404", prom.Command, otlpMetricsPath)
	}
	if on, _ := dig(gw, "connectors", "span_metrics", "exemplars", "enabled"); on == true && !slices.Contains(features(prom.Command), "exemplar-storage") {
		t.Errorf("span_metrics makes exemplars, but prometheus runs %v without --enable-feature=exemplar-storage", prom.Command)
	}
	promCfg := readYAML(t, mountSource(t, prom, mustFlag(t, prom.Command, "config.file")))
	if s, ok := dig(promCfg, "otlp", "translation_strategy"); ok && s != "UnderscoreEscapingWithSuffixes" {
		t.Errorf("prometheus translates OTLP names with %v; the dashboard queries UnderscoreEscapingWithSuffixes names", s)
	}
}

func mustFlag(t *testing.T, args []string, name string) string {
	t.Helper()
	v, ok := flagValue(args, name)
	if !ok {
		t.Fatalf("no -%s in %v", name, args)
	}
	return v
}

// The gateway service runs the Dockerfile's image with the gateway config
// and is health-checked through the health_check extension's port.
func TestComposeGateway(t *testing.T) {
	c := readCompose(t)
	gw := c.Services["otelcol-msg"]
	if gw.Build == nil {
		t.Fatal("otelcol-msg: no build section")
	}
	df := filepath.Join(filepath.FromSlash(gw.Build.Context), filepath.FromSlash(gw.Build.Dockerfile))
	if !samePath(t, df, dockerfilePath) {
		t.Errorf("otelcol-msg builds %s, want %s", df, dockerfilePath)
	}

	cfgPath := mustFlag(t, gw.Command, "config")
	if src := mountSource(t, gw, cfgPath); !samePath(t, src, gatewayConfig) {
		t.Errorf("otelcol-msg runs %s, want %s", src, gatewayConfig)
	}

	if gw.Healthcheck == nil || len(gw.Healthcheck.Test) < 2 {
		t.Fatal("otelcol-msg: no healthcheck")
	}
	test := gw.Healthcheck.Test
	// The image has no shell: exec form, and the probe the Dockerfile installs.
	if test[0] != "CMD" || test[1] != "/healthcheck" {
		t.Fatalf("otelcol-msg healthcheck %v: want [CMD /healthcheck ...]", test)
	}
	if !slices.Contains(dockerfileCopyTargets(t), "/healthcheck") {
		t.Error("the Dockerfile does not install /healthcheck")
	}
	url := mustFlag(t, test[1:], "url")
	health := digString(t, readYAML(t, gatewayConfig), "extensions", "health_check", "endpoint")
	if port(t, url) != port(t, health) {
		t.Errorf("healthcheck probes %s, health_check listens on %s", url, health)
	}
	if host, _ := hostPort(t, health); host != "0.0.0.0" && host != "127.0.0.1" && host != "localhost" {
		t.Errorf("health_check on %s is not reachable from inside the container", health)
	}
}

// RabbitMQ starts with the firehose on, and its healthcheck waits for it.
func TestComposeRabbitMQFirehose(t *testing.T) {
	c := readCompose(t)
	rmq := c.Services["rabbitmq"]
	b, err := os.ReadFile(mountSource(t, rmq, "/etc/rabbitmq/advanced.config"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `{trace_vhosts, [<<"/">>]}`) {
		t.Errorf("advanced.config does not enable the firehose on vhost /:\n%s", b)
	}
	if rmq.Healthcheck == nil || !strings.Contains(strings.Join(rmq.Healthcheck.Test, " "), "tracing") {
		t.Error("rabbitmq healthcheck does not check that tracing is on")
	}
	if got := digString(t, readYAML(t, gatewayConfig), "receivers", "msgtrace", "rabbitmq", "mode"); got != "firehose" {
		t.Errorf("gateway taps RabbitMQ in mode %q, the stack enables the firehose", got)
	}
	if c.Services["otelcol-msg"].DependsOn["rabbitmq"].Condition != "service_healthy" {
		t.Error("otelcol-msg does not wait for rabbitmq to be healthy (firehose on)")
	}
}

// Kafka runs in KRaft mode: no ZooKeeper anywhere.
func TestComposeKafkaKRaft(t *testing.T) {
	c := readCompose(t)
	env := c.Services["kafka"].Environment
	if !strings.Contains(env["KAFKA_PROCESS_ROLES"], "controller") {
		t.Errorf("kafka: KAFKA_PROCESS_ROLES=%q, want a KRaft controller", env["KAFKA_PROCESS_ROLES"])
	}
	for k := range env {
		if strings.Contains(strings.ToLower(k), "zookeeper") {
			t.Errorf("kafka: %s set", k)
		}
	}
	for name, s := range c.Services {
		if strings.Contains(s.Image, "zookeeper") {
			t.Errorf("service %s runs ZooKeeper", name)
		}
	}
	// The gateway uses the listener advertised to containers.
	adv := env["KAFKA_ADVERTISED_LISTENERS"]
	brokers, _ := dig(readYAML(t, gatewayConfig), "receivers", "msgtrace", "kafka", "brokers")
	for _, b := range brokers.([]any) {
		if !strings.Contains(adv, "://"+withEnvDefaults(b.(string))) {
			t.Errorf("gateway broker %s is not an advertised listener (%s)", b, adv)
		}
	}
}

// Grafana loads the dashboards from where the provisioning file says.
func TestComposeGrafanaProvisioning(t *testing.T) {
	c := readCompose(t)
	g := c.Services["grafana"]
	prov := readYAML(t, filepath.Join(mountSource(t, g, "/etc/grafana/provisioning/dashboards"), "dashboards.yaml"))
	providers, _ := dig(prov, "providers")
	for _, p := range providers.([]any) {
		dir := mountSource(t, g, digString(t, p, "options", "path"))
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil || len(files) == 0 {
			t.Errorf("dashboard provider %s: no dashboards in %s", digString(t, p, "name"), dir)
		}
	}
	if home, ok := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; ok {
		if _, err := os.Stat(mountSource(t, g, home)); err != nil {
			t.Errorf("home dashboard: %v", err)
		}
	}
}
