package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// entry is one baggage entry, for assertions on order.
type entry struct{ key, value string }

// fastStreamBatchMessage is the baggage of message i of a FastStream
// publish_batch, as the app set it, with FastStream's with_batch marker last.
// Keys overlap between messages; note and priority appear on a few only.
func fastStreamBatchMessage(i int) []entry {
	region := "eu"
	if i >= 5 {
		region = "us"
	}
	es := []entry{{"tenant.id", "acme"}, {"step", fmt.Sprint(i)}, {"region", region}, {"user.id", fmt.Sprintf("user %d", i%3)}}
	switch i {
	case 2:
		es = append(es, entry{"note", "hello world!"})
	case 3:
		es = append(es, entry{"priority", "high"})
	case 6:
		es = append(es, entry{"note", "second"})
	}
	return append(es, entry{"with_batch", "True"})
}

// quotePlus encodes a value as OpenTelemetry Python's W3C propagator does
// (urllib.parse.quote_plus): only ASCII letters, digits and "_.-~" are left
// as they are, a space becomes '+'.
func quotePlus(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("_.-~", c) >= 0:
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func baggageHeader(es []entry) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = quotePlus(e.key) + "=" + quotePlus(e.value)
	}
	return strings.Join(parts, ",")
}

// getAll is FastStream's Baggage.get_all() for a consumed batch (a dict
// updated message by message, so the later message wins) under rule "last",
// and the mirror rule under "first"; without the with_batch marker.
func getAll(batch [][]entry, rule string) []entry {
	var out []entry
	pos := map[string]int{}
	for _, es := range batch {
		for _, e := range es {
			if e.key == "with_batch" {
				continue
			}
			i, seen := pos[e.key]
			switch {
			case !seen:
				pos[e.key] = len(out)
				out = append(out, e)
			case rule == "last":
				out[i] = e
			}
		}
	}
	return out
}

func withoutMarker(es []entry) []entry {
	var out []entry
	for _, e := range es {
		if e.key != "with_batch" {
			out = append(out, e)
		}
	}
	return out
}

// baggageOf lists the baggage.<key> attributes of m in order, and fails on
// the raw baggage attribute, which the processor must have consumed.
func baggageOf(t *testing.T, m pcommon.Map) []entry {
	t.Helper()
	var out []entry
	for k, v := range m.All() {
		require.NotEqual(t, "baggage", k, "raw baggage string left behind")
		if key, ok := strings.CutPrefix(k, "baggage."); ok {
			out = append(out, entry{key, v.AsString()})
		}
	}
	return out
}

// startGatewayEnv is startGateway with extra environment for the child.
func startGatewayEnv(t *testing.T, config string, kafka *harness.Kafka, env []string, args ...string) *harness.Gateway {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
	defer cancel()
	gw, err := harness.StartGateway(ctx, harness.GatewayConfig{
		Binary:     otelcolBinary(t),
		ConfigPath: testdataConfig(t, config),
		Brokers:    kafka.Brokers(),
		Dir:        t.TempDir(),
		Args:       args,
		Env:        env,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := gw.Stop(30 * time.Second); err != nil {
			t.Errorf("stop gateway: %v", err)
		}
	})
	return gw
}

// TestBaggageKafkaBatch runs the built binary with testdata/e2e-kafka-batch.yaml:
// a FastStream publish_batch of 10 messages on Kafka (kfake) -> msgtrace in
// batch mode (each message's baggage on its link) -> baggage -> the file
// exporter. Every batch receive span must carry its messages' baggage merged
// in link order by on_conflict, each link its own message's baggage, and
// nothing the with_batch marker. However the tap's fetches split the 10
// messages into batch spans, the rule holds span by span.
func TestBaggageKafkaBatch(t *testing.T) {
	const hmacKey = "e2e-baggage-hmac-key-0123456789"
	tests := []struct {
		name   string
		rule   string
		redact bool
		env    []string
		args   []string
	}{
		{name: "defaults: last wins", rule: "last"},
		{
			name:   "first wins, user.id redacted with a key from the environment",
			rule:   "first",
			redact: true,
			env:    []string{"E2E_BAGGAGE_HMAC_KEY=" + hmacKey},
			args: []string{
				"--set=processors::baggage::on_conflict=first",
				"--set=processors::baggage::redact::keys=[user.id]",
				"--set=processors::baggage::redact::key_env=E2E_BAGGAGE_HMAC_KEY",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orders := harness.Topic{Name: "orders", Partitions: 1}
			kafka := startKafka(t, orders)

			// A batch publish: one traceparent and correlation_id for all.
			pc := newProducerContext(1, true)
			const n = 10
			messages := make([][]entry, n)
			records := make([]*kgo.Record, n)
			for i := range n {
				messages[i] = fastStreamBatchMessage(i)
				records[i] = &kgo.Record{
					Topic: orders.Name,
					Value: []byte(fmt.Sprintf(`{"n":%d}`, i)),
					Headers: []kgo.RecordHeader{
						pc.header(),
						harness.Header("correlation_id", "batch-1"),
						harness.Header("content-type", "application/json"),
						harness.Header("baggage", baggageHeader(messages[i])),
					},
				}
			}
			// Produced before the tap starts, so its first fetches find them all.
			produce(t, kafka, records...)
			byOffset := map[int64]int{}
			for i, r := range records {
				byOffset[r.Offset] = i
			}

			gw := startGatewayEnv(t, "e2e-kafka-batch.yaml", kafka, tt.env, tt.args...)
			td := waitForSpans(t, gw, func(td ptrace.Traces) bool {
				links := 0
				for _, s := range uniqueSpans(spansOf(td, ptrace.SpanKindClient)) {
					links += s.Links().Len()
				}
				return links >= n
			})

			// What the processor must make of a value.
			out := func(e entry) entry {
				if tt.redact && e.key == "user.id" {
					mac := hmac.New(sha256.New, []byte(hmacKey))
					mac.Write([]byte(e.value))
					e.value = hex.EncodeToString(mac.Sum(nil))
				}
				return e
			}
			outAll := func(es []entry) []entry {
				res := make([]entry, len(es))
				for i, e := range es {
					res[i] = out(e)
				}
				return res
			}

			seen := map[int]bool{}
			for _, s := range uniqueSpans(spansOf(td, ptrace.SpanKindClient)) {
				require.Equal(t, "receive orders", s.Name())
				var batch [][]entry
				last := int64(-1)
				for _, l := range s.Links().All() {
					off, ok := l.Attributes().Get("messaging.kafka.offset")
					require.True(t, ok, "link without offset")
					i, ok := byOffset[off.Int()]
					require.True(t, ok, "link to an unknown message at offset %d", off.Int())
					require.False(t, seen[i], "message %d linked twice", i)
					seen[i] = true
					assert.Greater(t, off.Int(), last, "links in batch (offset) order")
					last = off.Int()
					batch = append(batch, messages[i])

					// get_all_batch(): the message's own baggage, in header order.
					assert.Equal(t, outAll(withoutMarker(messages[i])), baggageOf(t, l.Attributes()), "link of message %d", i)
				}
				// get_all(): merged in link order.
				assert.Equal(t, outAll(getAll(batch, tt.rule)), baggageOf(t, s.Attributes()),
					"batch span with %d links", s.Links().Len())
			}
			assert.Len(t, seen, n, "every message linked once")
		})
	}
}
