package deploy_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// testEnv gives every ${env:...} placeholder of the configs a value unlike
// its default, so validate also proves the placeholders resolve and type
// correctly. A new placeholder without an entry here fails the test.
var testEnv = map[string]string{
	"KAFKA_BROKERS":                    "10.0.0.1:19092",
	"RABBITMQ_ENDPOINT":                "amqps://10.0.0.2:5671",
	"RABBITMQ_USERNAME":                "otelcol-msg",
	"RABBITMQ_PASSWORD":                "secret",
	"TEMPO_OTLP_ENDPOINT":              "10.0.0.3:24317",
	"OTELCOL_MSG_SAMPLING_RATIO":       "0.25",
	"PROMETHEUS_OTLP_METRICS_ENDPOINT": "https://10.0.0.4:9443/api/v1/otlp/v1/metrics",
	// The two-tier recipe (otelcol-msg/tier1.yaml, tier2.yaml).
	"OTELCOL_MSG_TAIL_DECISION_WAIT":       "30s",
	"OTELCOL_MSG_TAIL_SAMPLING_PERCENTAGE": "12.5",
	"OTELCOL_MSG_INSTANCE_ID":              "tier2-a",
	"OTELCOL_MSG_TIER2_HOSTNAME":           "otelcol-msg-tier2.observability.svc.cluster.local",
}

// collectorConfigs are the configs `otelcol-msg validate` must accept: every
// collector config under deploy/ and the gateway examples in testdata/.
func collectorConfigs(t *testing.T) []string {
	t.Helper()
	deployed, err := filepath.Glob("otelcol-msg/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "gateway*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := append(deployed, examples...)
	for _, must := range []string{gatewayConfig, defaultConfig, filepath.Join(repoRoot, "testdata", "gateway.yaml")} {
		if !slices.Contains(files, must) {
			t.Fatalf("%s is missing from %v", must, files)
		}
	}
	return files
}

// validate runs `otelcol-msg validate --config file` with env on top of an
// environment that has none of testEnv's variables.
func validate(t *testing.T, bin, file string, env map[string]string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), bin, "validate", "--config", file)
	for _, kv := range os.Environ() {
		if _, ours := testEnv[strings.SplitN(kv, "=", 2)[0]]; !ours {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCollectorConfigsValidate(t *testing.T) {
	bin := collectorBinary(t)
	for _, file := range collectorConfigs(t) {
		t.Run(filepath.ToSlash(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{}
			for _, m := range envPlaceholder.FindAllStringSubmatch(string(b), -1) {
				v, ok := testEnv[m[1]]
				if !ok {
					t.Fatalf("placeholder ${env:%s} has no value in testEnv", m[1])
				}
				env[m[1]] = v
			}
			// With the defaults (what compose and a bare run get) ...
			if out, err := validate(t, bin, file, nil); err != nil {
				t.Fatalf("validate with env defaults: %v\n%s", err, out)
			}
			// ... and with every placeholder set.
			if out, err := validate(t, bin, file, env); err != nil {
				t.Fatalf("validate with %v: %v\n%s", env, err, out)
			}
		})
	}
}

// validate must reject what is wrong, or the test above proves nothing.
func TestValidateRejects(t *testing.T) {
	bin := collectorBinary(t)
	t.Run("unknown key", func(t *testing.T) {
		b, err := os.ReadFile(gatewayConfig)
		if err != nil {
			t.Fatal(err)
		}
		broken := strings.Replace(string(b), "  memory_limiter:\n", "  memory_limiter:\n    no_such_setting: 1\n", 1)
		if broken == string(b) {
			t.Fatal("memory_limiter block not found")
		}
		file := filepath.Join(t.TempDir(), "broken.yaml")
		if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := validate(t, bin, file, nil)
		if err == nil || !strings.Contains(out, "no_such_setting") {
			t.Fatalf("validate accepted an unknown key: err=%v\n%s", err, out)
		}
	})
	t.Run("env value reaches the receiver", func(t *testing.T) {
		out, err := validate(t, bin, gatewayConfig, map[string]string{"OTELCOL_MSG_SAMPLING_RATIO": "2"})
		if err == nil || !strings.Contains(out, "sampling::ratio") {
			t.Fatalf("validate accepted sampling ratio 2: err=%v\n%s", err, out)
		}
	})
}

// testdata/gateway.yaml is the compose gateway's config for a plain binary:
// the same components and settings, only the addresses differ.
func TestPlainBinaryConfigMatchesCompose(t *testing.T) {
	compose := normalizeAddresses(readYAML(t, gatewayConfig))
	plain := normalizeAddresses(readYAML(t, filepath.Join(repoRoot, "testdata", "gateway.yaml")))
	if !reflect.DeepEqual(compose, plain) {
		for _, d := range diffTrees("", compose, plain) {
			t.Error(d)
		}
		t.Fatalf("%s and testdata/gateway.yaml differ beyond addresses", gatewayConfig)
	}
}

// normalizeAddresses maps every host of the two deployments to one name.
func normalizeAddresses(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalizeAddresses(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalizeAddresses(e)
		}
		return out
	case string:
		// Keep a placeholder's name, drop its default (an address).
		s := envPlaceholder.ReplaceAllString(v, "${env:$1}")
		for _, h := range []string{"0.0.0.0", "kafka", "rabbitmq", "tempo", "prometheus"} {
			s = strings.ReplaceAll(s, h+":", "localhost:")
		}
		if s == "0.0.0.0" {
			s = "localhost"
		}
		return s
	default:
		return v
	}
}

func diffTrees(path string, a, b any) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		var out []string
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			out = append(out, diffTrees(path+"::"+k, am[k], bm[k])...)
		}
		return out
	}
	if !reflect.DeepEqual(a, b) {
		return []string{path + ": compose " + stringOf(a) + ", plain " + stringOf(b)}
	}
	return nil
}

func stringOf(v any) string {
	if v == nil {
		return "<missing>"
	}
	return fmt.Sprint(v)
}
