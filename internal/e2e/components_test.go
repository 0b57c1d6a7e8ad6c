package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestComponents checks that the distribution holds what builder-config.yaml
// promises (issue 2): the project's components and the stock ones the
// gateway's configs use.
func TestComponents(t *testing.T) {
	out, err := exec.Command(otelcolBinary(t), "components").Output()
	require.NoError(t, err)

	type component struct {
		Name string `yaml:"name"`
	}
	var got struct {
		Receivers  []component `yaml:"receivers"`
		Processors []component `yaml:"processors"`
		Exporters  []component `yaml:"exporters"`
		Connectors []component `yaml:"connectors"`
		Extensions []component `yaml:"extensions"`
	}
	require.NoError(t, yaml.Unmarshal(out, &got), "components output:\n%s", out)
	names := func(cs []component) []string {
		var n []string
		for _, c := range cs {
			n = append(n, c.Name)
		}
		return n
	}

	assert.Subset(t, names(got.Receivers), []string{"msgtrace", "otlp"})
	assert.Subset(t, names(got.Processors), []string{"semconv", "baggage", "batch", "memory_limiter",
		"resource", "attributes", "filter", "probabilistic_sampler", "tail_sampling"})
	// Collector 0.158 names the core OTLP exporters otlp_grpc and otlp_http.
	assert.Subset(t, names(got.Exporters), []string{"otlp_grpc", "otlp_http", "debug", "file", "zipkin",
		"prometheus", "load_balancing"})
	assert.Subset(t, names(got.Connectors), []string{"span_metrics", "service_graph"})
	assert.Subset(t, names(got.Extensions), []string{"health_check", "zpages", "pprof"})
}

// TestValidateConfigs runs `otelcol-msg validate` on the configs the tests
// and the demo start the gateway with, and on a broken one, which it must refuse.
func TestValidateConfigs(t *testing.T) {
	bin := otelcolBinary(t)
	for _, name := range []string{"demo.yaml", "e2e-kafka.yaml", "e2e-kafka-batch.yaml"} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(bin, "validate", "--config", testdataConfig(t, name))
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "validate %s:\n%s", name, out)
		})
	}

	t.Run("invalid receive mode", func(t *testing.T) {
		cfg, err := os.ReadFile(testdataConfig(t, "e2e-kafka.yaml"))
		require.NoError(t, err)
		bad := bytes.Replace(cfg, []byte("receive: message"), []byte("receive: stream"), 1)
		require.NotEqual(t, cfg, bad)
		path := filepath.Join(t.TempDir(), "bad.yaml")
		require.NoError(t, os.WriteFile(path, bad, 0o600))

		out, err := exec.Command(bin, "validate", "--config", path).CombinedOutput()
		require.Error(t, err, "validate accepted spans.receive: stream:\n%s", out)
		assert.Contains(t, string(out), "stream")
	})
}
