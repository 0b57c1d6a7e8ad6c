package baggageprocessor

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-msg/otelcol-msg/baggageprocessor/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/baggageprocessor/internal/metadatatest"
	"github.com/otelcol-msg/otelcol-msg/internal/baggage"
)

// fastStreamBatch is the baggage header of 10 messages consumed as one
// batch, as FastStream (OpenTelemetry Python, quote_plus values) writes them:
// every message carries the with_batch marker of a batch publish, keys
// overlap, some keys appear on a few messages only.
var fastStreamBatch = []string{
	"tenant.id=acme,step=0,region=eu,with_batch=True",
	"tenant.id=acme,step=1,region=eu,with_batch=True",
	"tenant.id=acme,step=2,region=eu,note=hello+world%21,with_batch=True",
	"tenant.id=acme,step=3,region=eu,priority=high,with_batch=True",
	"tenant.id=acme,step=4,region=eu,with_batch=True",
	"tenant.id=acme,step=5,region=us,with_batch=True",
	"tenant.id=acme,step=6,region=us,note=second,with_batch=True",
	"tenant.id=acme,step=7,region=us,with_batch=True",
	"tenant.id=acme,step=8,region=us,with_batch=True",
	"tenant.id=acme,step=9,region=us,with_batch=True",
}

// kv is one attribute, for assertions on order.
type kv struct{ k, v string }

func newTestProcessor(t *testing.T, cfg *Config) (*baggageProcessor, error) {
	t.Helper()
	return newBaggageProcessor(processortest.NewNopSettings(metadata.Type), cfg)
}

func mustProcessor(t *testing.T, cfg *Config) *baggageProcessor {
	t.Helper()
	p, err := newTestProcessor(t, cfg)
	require.NoError(t, err)
	return p
}

func mustProcessorWithTelemetry(t *testing.T, cfg *Config) (*baggageProcessor, *componenttest.Telemetry) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p, err := newBaggageProcessor(metadatatest.NewSettings(tel), cfg)
	require.NoError(t, err)
	return p, tel
}

func defaultConfig() *Config { return createDefaultConfig().(*Config) }

// newSpan appends a span with one ordinary attribute to a new ResourceSpans.
func newSpan(td ptrace.Traces) ptrace.Span {
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("orders receive")
	span.Attributes().PutStr("messaging.system", "kafka")
	return span
}

// receiverLinks adds one link per header, with the baggage as the msgtrace
// receiver records it in batch mode: "baggage.<key>" link attributes.
func receiverLinks(t *testing.T, span ptrace.Span, headers []string) {
	t.Helper()
	for i, h := range headers {
		link := span.Links().AppendEmpty()
		link.Attributes().PutInt("messaging.kafka.offset", int64(i))
		members, faults := baggage.Parse(h, baggage.DefaultOptions)
		require.False(t, faults.Any(), h)
		for _, m := range members {
			link.Attributes().PutStr("baggage."+m.Key, m.Value)
		}
	}
}

// baggageAttrs lists the attributes under prefix, in map order.
func baggageAttrs(m pcommon.Map, prefix string) []kv {
	var out []kv
	for k, v := range m.All() {
		if strings.HasPrefix(k, prefix) {
			out = append(out, kv{strings.TrimPrefix(k, prefix), v.AsString()})
		}
	}
	return out
}

func process(t *testing.T, p *baggageProcessor, td ptrace.Traces) {
	t.Helper()
	processCtx(t, context.Background(), p, td)
}

func processCtx(t *testing.T, ctx context.Context, p *baggageProcessor, td ptrace.Traces) {
	t.Helper()
	out, err := p.processTraces(ctx, td)
	require.NoError(t, err)
	require.Equal(t, td, out)
}

func TestFastStreamBatchLastWins(t *testing.T) {
	p := mustProcessor(t, defaultConfig())
	td := ptrace.NewTraces()
	span := newSpan(td)
	receiverLinks(t, span, fastStreamBatch)

	process(t, p, td)

	// get_all(): the later message wins; keys in order of first appearance; no marker.
	assert.Equal(t, []kv{
		{"tenant.id", "acme"}, {"step", "9"}, {"region", "us"}, {"note", "second"}, {"priority", "high"},
	}, baggageAttrs(span.Attributes(), "baggage."))
	v, _ := span.Attributes().Get("messaging.system")
	assert.Equal(t, "kafka", v.Str(), "other attributes are left alone")

	// get_all_batch(): each link keeps its own message's baggage, in batch
	// order and header order, without the marker.
	require.Equal(t, len(fastStreamBatch), span.Links().Len())
	for i := range fastStreamBatch {
		link := span.Links().At(i).Attributes()
		want := []kv{{"tenant.id", "acme"}, {"step", string(rune('0' + i))}, {"region", map[bool]string{true: "eu", false: "us"}[i < 5]}}
		switch i {
		case 2:
			want = append(want, kv{"note", "hello world!"})
		case 3:
			want = append(want, kv{"priority", "high"})
		case 6:
			want = append(want, kv{"note", "second"})
		}
		assert.Equal(t, want, baggageAttrs(link, "baggage."), "link %d", i)
		off, _ := link.Get("messaging.kafka.offset")
		assert.Equal(t, int64(i), off.Int(), "link %d keeps its other attributes", i)
	}
}

func TestFastStreamBatchFirstWins(t *testing.T) {
	cfg := defaultConfig()
	cfg.OnConflict = ConflictFirst
	p := mustProcessor(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	receiverLinks(t, span, fastStreamBatch)

	process(t, p, td)

	assert.Equal(t, []kv{
		{"tenant.id", "acme"}, {"step", "0"}, {"region", "eu"}, {"note", "hello world!"}, {"priority", "high"},
	}, baggageAttrs(span.Attributes(), "baggage."))
	assert.Equal(t, []kv{{"tenant.id", "acme"}, {"step", "9"}, {"region", "us"}},
		baggageAttrs(span.Links().At(9).Attributes(), "baggage."))
}

func TestKeepLinkBaggageFalse(t *testing.T) {
	cfg := defaultConfig()
	cfg.KeepLinkBaggage = false
	p := mustProcessor(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	receiverLinks(t, span, fastStreamBatch)

	process(t, p, td)

	assert.Equal(t, []kv{
		{"tenant.id", "acme"}, {"step", "9"}, {"region", "us"}, {"note", "second"}, {"priority", "high"},
	}, baggageAttrs(span.Attributes(), "baggage."))
	for i := 0; i < span.Links().Len(); i++ {
		link := span.Links().At(i).Attributes()
		assert.Empty(t, baggageAttrs(link, "baggage."), "link %d", i)
		assert.Equal(t, 1, link.Len(), "link %d keeps messaging.kafka.offset", i)
	}
}

func TestKeepBatchMarker(t *testing.T) {
	cfg := defaultConfig()
	cfg.KeepBatchMarker = true
	p := mustProcessor(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	receiverLinks(t, span, fastStreamBatch[:2])

	process(t, p, td)

	assert.Equal(t, []kv{{"tenant.id", "acme"}, {"step", "1"}, {"region", "eu"}, {"with_batch", "True"}},
		baggageAttrs(span.Attributes(), "baggage."))
	assert.Equal(t, []kv{{"tenant.id", "acme"}, {"step", "0"}, {"region", "eu"}, {"with_batch", "True"}},
		baggageAttrs(span.Links().At(0).Attributes(), "baggage."))
}

func TestSpanOwnBaggageWinsOverLinks(t *testing.T) {
	p := mustProcessor(t, defaultConfig())
	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutStr("baggage.region", "ap")
	receiverLinks(t, span, fastStreamBatch)

	process(t, p, td)

	assert.Equal(t, []kv{
		{"region", "ap"}, {"tenant.id", "acme"}, {"step", "9"}, {"note", "second"}, {"priority", "high"},
	}, baggageAttrs(span.Attributes(), "baggage."))
}

func marshal(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	return b
}

func TestSpansWithoutBaggageUntouched(t *testing.T) {
	p, tel := mustProcessorWithTelemetry(t, defaultConfig())
	td := ptrace.NewTraces()
	plain := newSpan(td)
	plain.Attributes().PutStr("http.route", "/orders")
	plain.Attributes().PutStr("baggage_like", "not a prefix match")
	withLinks := newSpan(td)
	withLinks.Links().AppendEmpty().Attributes().PutStr("messaging.message.id", "1")
	withLinks.Links().AppendEmpty()
	own := newSpan(td)
	own.Attributes().PutStr("baggage.tenant.id", "acme")
	before := marshal(t, td)

	process(t, p, td)

	assert.Equal(t, before, marshal(t, td))
	_, err := tel.GetMetric("otelcol_processor_baggage_batch_spans")
	assert.Error(t, err, "no span received link baggage")
}

func TestRawAttribute(t *testing.T) {
	p, tel := mustProcessorWithTelemetry(t, defaultConfig())
	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutStr("baggage", "a=1,b=hello+there;ttl=30,bad,c=%zz,a=2")
	span.Attributes().PutStr("baggage.c", "own")
	link := span.Links().AppendEmpty()
	link.Attributes().PutStr("baggage", "d=4,b=from-link")

	process(t, p, td)

	_, ok := span.Attributes().Get("baggage")
	assert.False(t, ok, "the raw string is replaced by the entries it held")
	assert.Equal(t, []kv{{"c", "own"}, {"a", "2"}, {"b", "hello there"}, {"d", "4"}},
		baggageAttrs(span.Attributes(), "baggage."))
	assert.Equal(t, []kv{{"d", "4"}, {"b", "from-link"}}, baggageAttrs(link.Attributes(), "baggage."))
	_, ok = link.Attributes().Get("baggage")
	assert.False(t, ok)

	metadatatest.AssertEqualProcessorBaggageFaults(t, tel, []metricdataDP{
		dp(1, "fault", "bad_encoding"), dp(1, "fault", "malformed"),
	}, ignoreTime()...)
}

func TestKeepRawAttribute(t *testing.T) {
	cfg := defaultConfig()
	cfg.Sources.KeepRawAttribute = true
	cfg.Exclude = []string{"secret"}
	p := mustProcessor(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutStr("baggage", "a=1,secret=s3cr3t,b=hello+there")

	process(t, p, td)

	raw, ok := span.Attributes().Get("baggage")
	require.True(t, ok)
	assert.Equal(t, "a=1,b=hello%20there", raw.Str(), "rewritten with the policy applied")
	assert.Equal(t, []kv{{"a", "1"}, {"b", "hello there"}}, baggageAttrs(span.Attributes(), "baggage."))
}

func TestRawAttributeDisabled(t *testing.T) {
	cfg := defaultConfig()
	cfg.Sources.RawAttribute = ""
	p := mustProcessor(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutStr("baggage", "a=1")

	process(t, p, td)

	raw, ok := span.Attributes().Get("baggage")
	require.True(t, ok)
	assert.Equal(t, "a=1", raw.Str())
	assert.Empty(t, baggageAttrs(span.Attributes(), "baggage."))
}

func TestNonStringBaggageAttributes(t *testing.T) {
	p := mustProcessor(t, defaultConfig())
	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutInt("baggage.retries", 3)
	link := span.Links().AppendEmpty()
	link.Attributes().PutBool("baggage.vip", true)

	process(t, p, td)

	v, _ := span.Attributes().Get("baggage.retries")
	assert.Equal(t, pcommon.ValueTypeStr, v.Type(), "baggage values are strings, as on the wire")
	assert.Equal(t, []kv{{"retries", "3"}, {"vip", "true"}}, baggageAttrs(span.Attributes(), "baggage."))
	v, _ = link.Attributes().Get("baggage.vip")
	assert.Equal(t, "true", v.Str())
}

func TestEmptyKeyAttribute(t *testing.T) {
	p, tel := mustProcessorWithTelemetry(t, defaultConfig())
	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutStr("baggage.", "orphan")

	process(t, p, td)

	_, ok := span.Attributes().Get("baggage.")
	assert.False(t, ok)
	metadatatest.AssertEqualProcessorBaggageFaults(t, tel, []metricdataDP{dp(1, "fault", "empty_key")}, ignoreTime()...)
}

func TestMetadataSource(t *testing.T) {
	p := mustProcessor(t, defaultConfig())
	td := ptrace.NewTraces()
	plain := newSpan(td)
	own := newSpan(td)
	own.Attributes().PutStr("baggage.region", "us")
	batch := newSpan(td)
	receiverLinks(t, batch, []string{"region=ap,step=1"})

	ctx := client.NewContext(context.Background(), client.Info{
		Metadata: client.NewMetadata(map[string][]string{
			// Two header values read as one list; the later wins.
			"Baggage": {"tenant.id=acme,region=eu", "tenant.id=globex"},
		}),
	})
	processCtx(t, ctx, p, td)

	assert.Equal(t, []kv{{"tenant.id", "globex"}, {"region", "eu"}}, baggageAttrs(plain.Attributes(), "baggage."))
	assert.Equal(t, []kv{{"region", "us"}, {"tenant.id", "globex"}}, baggageAttrs(own.Attributes(), "baggage."),
		"the span's own baggage wins over the request's")
	assert.Equal(t, []kv{{"region", "ap"}, {"step", "1"}, {"tenant.id", "globex"}}, baggageAttrs(batch.Attributes(), "baggage."),
		"link baggage wins over the request's")
}

func TestMetadataSourceDisabled(t *testing.T) {
	cfg := defaultConfig()
	cfg.Sources.MetadataKey = ""
	p := mustProcessor(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	ctx := client.NewContext(context.Background(), client.Info{
		Metadata: client.NewMetadata(map[string][]string{"baggage": {"tenant.id=acme"}}),
	})

	processCtx(t, ctx, p, td)

	assert.Empty(t, baggageAttrs(span.Attributes(), "baggage."))
}

func TestCustomPrefix(t *testing.T) {
	cfg := defaultConfig()
	cfg.Prefix = "app.baggage."
	p := mustProcessor(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutStr("baggage.ignored", "not under the prefix")
	link := span.Links().AppendEmpty()
	link.Attributes().PutStr("app.baggage.tenant.id", "acme")
	link.Attributes().PutStr("baggage", "step=1")

	process(t, p, td)

	assert.Equal(t, []kv{{"tenant.id", "acme"}, {"step", "1"}}, baggageAttrs(span.Attributes(), "app.baggage."))
	assert.Equal(t, []kv{{"ignored", "not under the prefix"}}, baggageAttrs(span.Attributes(), "baggage."))
}

func TestBatchSpansCounted(t *testing.T) {
	p, tel := mustProcessorWithTelemetry(t, defaultConfig())
	td := ptrace.NewTraces()
	receiverLinks(t, newSpan(td), fastStreamBatch)
	receiverLinks(t, newSpan(td), fastStreamBatch[:1])
	newSpan(td).Links().AppendEmpty()

	process(t, p, td)

	metadatatest.AssertEqualProcessorBaggageBatchSpans(t, tel, []metricdataDP{dp(2, "", "")}, ignoreTime()...)
	metadatatest.AssertEqualProcessorBaggageEntriesDropped(t, tel, []metricdataDP{dp(11, "reason", "batch_marker")}, ignoreTime()...)
}

func TestConcurrentRequests(t *testing.T) {
	cfg := defaultConfig()
	cfg.Redact = RedactConfig{Keys: []string{"tenant.id"}, Key: "0123456789abcdef0123456789abcdef"}
	p := mustProcessor(t, cfg)
	want := mustProcessor(t, cfg)
	ref := ptrace.NewTraces()
	receiverLinks(t, newSpan(ref), fastStreamBatch)
	process(t, want, ref)

	done := make(chan ptrace.Traces)
	for range 4 {
		td := ptrace.NewTraces()
		receiverLinks(t, newSpan(td), fastStreamBatch)
		go func() {
			_, _ = p.processTraces(context.Background(), td)
			done <- td
		}()
	}
	for range 4 {
		assert.Equal(t, marshal(t, ref), marshal(t, <-done))
	}
}

func TestFactoryPipeline(t *testing.T) {
	sink := new(consumertest.TracesSink)
	proc, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), defaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, proc.Start(context.Background(), componenttest.NewNopHost()))
	td := ptrace.NewTraces()
	receiverLinks(t, newSpan(td), fastStreamBatch)

	require.NoError(t, proc.ConsumeTraces(context.Background(), td))
	require.NoError(t, proc.Shutdown(context.Background()))

	require.Len(t, sink.AllTraces(), 1)
	span := sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	v, ok := span.Attributes().Get("baggage.step")
	require.True(t, ok)
	assert.Equal(t, "9", v.Str())
}

func processortestSettings() processor.Settings { return processortest.NewNopSettings(metadata.Type) }

// TestManyKeys crosses the size at which the span's entry list switches
// from a linear search to a map index.
func TestManyKeys(t *testing.T) {
	for _, rule := range []ConflictRule{ConflictLast, ConflictFirst} {
		t.Run(string(rule), func(t *testing.T) {
			cfg := defaultConfig()
			cfg.OnConflict = rule
			p := mustProcessor(t, cfg)
			td := ptrace.NewTraces()
			span := newSpan(td)
			const keys, links = 40, 5
			for l := range links {
				a := span.Links().AppendEmpty().Attributes()
				for k := range keys {
					a.PutStr("baggage.k"+strconv.Itoa(k), strconv.Itoa(l))
				}
			}

			process(t, p, td)

			got := baggageAttrs(span.Attributes(), "baggage.")
			require.Len(t, got, keys)
			want := map[ConflictRule]string{ConflictLast: strconv.Itoa(links - 1), ConflictFirst: "0"}[rule]
			for i, e := range got {
				assert.Equal(t, kv{"k" + strconv.Itoa(i), want}, e)
			}
		})
	}
}

func TestLinkRawString(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxEntries = 2
	cfg.Sources.KeepRawAttribute = true
	p, tel := mustProcessorWithTelemetry(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	link := span.Links().AppendEmpty().Attributes()
	link.PutStr("baggage", "a=raw,b=1,b=2,c=3,bad")
	link.PutStr("baggage.a", "attr")

	process(t, p, td)

	// The attribute wins over the string; within the string the later b
	// wins; c is over max_entries.
	assert.Equal(t, []kv{{"a", "attr"}, {"b", "2"}}, baggageAttrs(link, "baggage."))
	raw, ok := link.Get("baggage")
	require.True(t, ok)
	assert.Equal(t, "b=2", raw.Str(), "the raw string keeps what was kept of it")
	assert.Equal(t, []kv{{"a", "attr"}, {"b", "2"}}, baggageAttrs(span.Attributes(), "baggage."))
	metadatatest.AssertEqualProcessorBaggageEntriesDropped(t, tel, []metricdataDP{dp(1, "reason", "max_entries")}, ignoreTime()...)
	metadatatest.AssertEqualProcessorBaggageFaults(t, tel, []metricdataDP{dp(1, "fault", "malformed")}, ignoreTime()...)
}
