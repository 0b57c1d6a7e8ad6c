package main

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// TestDemoLocalBrokers runs `make demo-all`'s program with every local
// broker that answers: each must add its receive spans to the tree, parented
// on the application's publish context or on a rebuilt send span. With
// CI=true, where .ci/run starts them, a broker that does not answer fails.
func TestDemoLocalBrokers(t *testing.T) {
	// What each broker's traffic must yield: receive spans, of which one
	// is under a rebuilt send span (the uninstrumented producer's message).
	want := map[string]int{"rabbitmq": 2, "nats": 3, "redis": 3}
	var names []string
	for _, b := range localBrokers("") {
		if err := reachable(b.addr()); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not reachable on %s (CI=true): %v", b.title(), b.addr(), err)
			}
			t.Logf("%s is not reachable on %s, left out: %v", b.title(), b.addr(), err)
			continue
		}
		names = append(names, b.name())
	}
	if len(names) == 0 {
		t.Skip("no local broker answers")
	}

	output, td := runDemo(t, strings.Join(names, ","))
	assert.Contains(t, output, "gateway spans by broker: kafka ")
	assert.NotContains(t, output, "skipped")

	spans := harness.Spans(td)
	byID := map[pcommon.SpanID]harness.SpanRecord{}
	for _, r := range spans {
		byID[r.Span.SpanID()] = r
	}
	system := func(r harness.SpanRecord) string {
		v, _ := r.Span.Attributes().Get("messaging.system")
		return v.AsString()
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var receives, underApp, underRebuilt int
			for _, r := range spans {
				if isApp(r) || system(r) != name || r.Span.Kind() != ptrace.SpanKindClient {
					continue
				}
				receives++
				parent, ok := byID[r.Span.ParentSpanID()]
				require.True(t, ok, "%q has no exported parent", r.Span.Name())
				assert.Equal(t, name, system(parent), "%q is parented within its broker", r.Span.Name())
				switch {
				case isApp(parent):
					underApp++
					assert.Equal(t, "create", strings.Fields(parent.Span.Name())[0], "the context FastStream put in the message")
					assert.NotEmpty(t, baggageKeys(r.Span.Attributes()), "%q carries the message's baggage", r.Span.Name())
				case parent.Span.Kind() == ptrace.SpanKindProducer:
					underRebuilt++
					assert.True(t, parent.Span.ParentSpanID().IsEmpty(), "a rebuilt send span is a root")
				}
			}
			assert.Equal(t, want[name], receives, "receive spans")
			assert.Equal(t, want[name]-1, underApp, "receive spans in the producer's trace")
			assert.Equal(t, 1, underRebuilt, "receive spans under a rebuilt send span")
		})
	}
}

// TestBrokerOverlaysValidate checks each broker's overlay merged onto the
// demo's config with `otelcol-msg validate`, brokers or not: a broken
// overlay must not wait for a machine with the broker to show.
func TestBrokerOverlaysValidate(t *testing.T) {
	bin, config := demoSetup(t)
	for _, b := range localBrokers("test") {
		t.Run(b.name(), func(t *testing.T) {
			cmd := exec.Command(bin, "validate", "--config", config, "--config", overlayPath(config, b))
			cmd.Env = append(os.Environ(), b.env()...)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "validate demo.yaml + %s:\n%s", filepath.Base(overlayPath(config, b)), out)
		})
	}
}

func baggageKeys(m pcommon.Map) []string {
	var keys []string
	for k := range m.All() {
		if strings.HasPrefix(k, "baggage.") {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestSelectBrokers(t *testing.T) {
	all := localBrokers("test")
	names := func(bs []localBroker) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.name())
		}
		return out
	}
	for _, tt := range []struct {
		spec, wantErr string
		want          []string
	}{
		{spec: "", want: nil},
		{spec: "none", want: nil},
		{spec: "auto", want: []string{"rabbitmq", "nats", "redis"}},
		{spec: "redis, nats,redis", want: []string{"redis", "nats"}},
		{spec: "kafka", wantErr: `unknown broker "kafka"`},
		{spec: "nats,", wantErr: `unknown broker ""`},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := selectBrokers(tt.spec, all)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, names(got))
		})
	}
}

// absentBroker is a broker that does not answer.
type absentBroker struct {
	localBroker
	at    string
	setUp bool
}

func (b *absentBroker) title() string { return "Absent" }
func (b *absentBroker) addr() string  { return b.at }
func (b *absentBroker) setup(context.Context) (string, error) {
	b.setUp = true
	return "", nil
}

func TestStartLocalBrokersSkipsOneThatDoesNotAnswer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	b := &absentBroker{at: addr}
	var out strings.Builder
	up := startLocalBrokers(context.Background(), &out, []localBroker{b})
	assert.Empty(t, up)
	assert.False(t, b.setUp, "a broker that does not answer is not set up")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 1, "one line: %s", out.String())
	assert.True(t, strings.HasPrefix(lines[0], "▸ Absent on "+addr+": not answering ("), lines[0])
	assert.True(t, strings.HasSuffix(lines[0], "); skipped"), lines[0])
	require.NoError(t, waitTaps(context.Background(), io.Discard, up))
}
