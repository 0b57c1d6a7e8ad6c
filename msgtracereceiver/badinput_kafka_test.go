package msgtracereceiver

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// The bad-input catalogue, end to end: records written by a real Kafka
// client into kfake, read by the receiver built from its factory. Every
// record yields its spans, every fault is counted by kind and logged at
// debug, nothing panics, and no baggage value reaches a log line.

// bgSecret marks baggage values; none may appear in any log line.
const bgSecret = "bgsecret"

// kafkaBadCase is one record of the catalogue.
type kafkaBadCase struct {
	name    string
	headers []kgo.RecordHeader
	ts      time.Time // zero: the producer's clock
	fault   string    // fault kind the record counts, "" for none
	context bool      // the receive span sits in badCtx's trace
	check   func(t *testing.T, receive ptrace.Span)
}

// badCtx is the producer context of the catalogue's well-formed headers.
var badCtx = producerContext(7, true)

func hdr(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }

func kafkaBadCatalogue() []kafkaBadCase {
	tp := traceparent.Format(badCtx)
	tid, sid := tp[3:35], tp[36:52]
	zeros := strings.Repeat("0", 32)
	withTP := func(hs ...kgo.RecordHeader) []kgo.RecordHeader {
		return append([]kgo.RecordHeader{hdr("traceparent", tp)}, hs...)
	}

	var big, many []string
	for i := range 400 {
		big = append(big, fmt.Sprintf("k%03d=%s-%03d-%s", i, bgSecret, i, strings.Repeat("x", 24)))
	}
	for i := range 300 {
		many = append(many, fmt.Sprintf("m%03d=v", i))
	}
	junk := make([]kgo.RecordHeader, 0, 10_000)
	for i := range 9_998 {
		junk = append(junk, hdr(fmt.Sprintf("x-junk-%05d", i), bgSecret+"-junk"))
	}
	junk = append(junk, hdr("traceparent", tp), hdr("baggage", "tenant=acme"))

	baggageAttrs := func(s ptrace.Span) (n, bytes int) {
		for k, v := range s.Attributes().All() {
			if strings.HasPrefix(k, "baggage.") {
				n++
				bytes += len(k) - len("baggage.") + len(v.Str()) + 1
			}
		}
		return n, bytes
	}
	tenantOnly := func(t *testing.T, s ptrace.Span) {
		assert.Equal(t, "acme", attr(s, "baggage.tenant"), "well-formed members are kept")
		n, _ := baggageAttrs(s)
		assert.Equal(t, 1, n, "damaged members are skipped")
	}

	return []kafkaBadCase{
		{name: "clean reference", headers: withTP(hdr("baggage", "tenant=acme")), context: true},
		{name: "traceparent too short", headers: []kgo.RecordHeader{hdr("traceparent", tp[:54])}, fault: "traceparent"},
		{name: "traceparent version 00 with an extra field", headers: []kgo.RecordHeader{hdr("traceparent", tp+"-00")}, fault: "traceparent"},
		{name: "traceparent version ff", headers: []kgo.RecordHeader{hdr("traceparent", "ff"+tp[2:])}, fault: "traceparent"},
		{name: "traceparent all-zero trace id", headers: []kgo.RecordHeader{hdr("traceparent", "00-"+zeros+"-"+sid+"-01")}, fault: "traceparent"},
		{name: "traceparent all-zero parent id", headers: []kgo.RecordHeader{hdr("traceparent", "00-"+tid+"-"+zeros[:16]+"-01")}, fault: "traceparent"},
		{name: "traceparent upper-case hex", headers: []kgo.RecordHeader{hdr("traceparent", "00-"+strings.ToUpper(tid)+"-"+sid+"-01")}, fault: "traceparent"},
		{name: "traceparent not UTF-8", headers: []kgo.RecordHeader{{Key: "traceparent", Value: append([]byte{0xff}, tp[1:]...)}}, fault: "traceparent"},
		{name: "future traceparent version with extra fields is valid", headers: []kgo.RecordHeader{hdr("traceparent", "cc-"+tid+"-"+sid+"-01-what-ever")}, context: true},
		{name: "traceparent between blanks", headers: []kgo.RecordHeader{hdr("traceparent", " "+tp+"\t")}, context: true},
		{name: "repeated traceparent: the last one counts", headers: []kgo.RecordHeader{hdr("traceparent", "garbage"), hdr("traceparent", tp)}, context: true},
		{
			name: "tracestate malformed", headers: withTP(hdr("tracestate", "Upper=1,a=b=c")), fault: "tracestate", context: true,
			check: func(t *testing.T, s ptrace.Span) {
				assert.Empty(t, s.TraceState().AsRaw(), "dropped, the traceparent stands")
			},
		},
		{
			name: "baggage with malformed members", fault: "baggage", context: true,
			headers: withTP(hdr("baggage", "tenant=acme,bad=%zz,=x,k="+bgSecret+" v,"+bgSecret)),
			check:   tenantOnly,
		},
		{
			name: "baggage over 8192 bytes", headers: withTP(hdr("baggage", strings.Join(big, ","))), fault: "baggage", context: true,
			check: func(t *testing.T, s ptrace.Span) {
				n, bytes := baggageAttrs(s)
				assert.Positive(t, n, "the members within the limit are kept")
				assert.LessOrEqual(t, bytes, 8192)
				assert.Equal(t, fmt.Sprintf("%s-000-%s", bgSecret, strings.Repeat("x", 24)), attr(s, "baggage.k000"))
				assert.Empty(t, attr(s, "baggage.k399"), "members past the byte limit are dropped")
			},
		},
		{
			name: "baggage with 300 members", headers: withTP(hdr("baggage", strings.Join(many, ","))), fault: "baggage", context: true,
			check: func(t *testing.T, s ptrace.Span) {
				n, _ := baggageAttrs(s)
				assert.Equal(t, 180, n, "the first 180 members are kept")
				assert.Equal(t, "v", attr(s, "baggage.m179"))
				assert.Empty(t, attr(s, "baggage.m180"))
			},
		},
		{
			name: "baggage member over 4096 bytes", fault: "baggage", context: true,
			headers: withTP(hdr("baggage", "huge="+bgSecret+strings.Repeat("y", 5000)+",tenant=acme")),
			check:   tenantOnly,
		},
		{
			name: "baggage value not UTF-8 once decoded", headers: withTP(hdr("baggage", "tenant=acme,k=%FF%FE")), fault: "baggage", context: true,
			check: tenantOnly,
		},
		{
			name: "baggage bytes not UTF-8", fault: "baggage", context: true,
			headers: withTP(kgo.RecordHeader{Key: "baggage", Value: []byte("tenant=acme,k=" + bgSecret + "\xff")}),
			check:   tenantOnly,
		},
		{
			name: "message_id not UTF-8", headers: []kgo.RecordHeader{{Key: "message_id", Value: []byte("m-\xff")}}, fault: "header",
			check: func(t *testing.T, s ptrace.Span) { assert.Equal(t, "m-\uFFFD", attr(s, "messaging.message.id")) },
		},
		{
			name: "correlation_id not UTF-8", headers: withTP(kgo.RecordHeader{Key: "correlation_id", Value: []byte{0xc3, 'c'}}), fault: "header", context: true,
			check: func(t *testing.T, s ptrace.Span) {
				assert.Equal(t, "\uFFFDc", attr(s, "messaging.message.conversation_id"))
			},
		},
		{name: "header name not UTF-8 is not read", headers: []kgo.RecordHeader{{Key: "\xfftraceparent", Value: []byte(tp)}}},
		{name: "10 000 headers", headers: junk, context: true},
		{name: "timestamp ten years ahead", ts: time.Now().AddDate(10, 0, 0), fault: "timestamp", context: true, headers: withTP()},
		{name: "timestamp an hour ahead (start after end)", ts: time.Now().Add(time.Hour), fault: "timestamp"},
		{name: "timestamp before 1970", ts: time.UnixMilli(-86_400_000), fault: "timestamp"},
		{name: "no timestamp (-1 on the wire)", ts: time.UnixMilli(-1), fault: "timestamp", context: true, headers: withTP()},
	}
}

func TestBadInputKafkaCatalogue(t *testing.T) {
	cases := kafkaBadCatalogue()
	c := newCluster(t, 1, "bad")
	addrs := c.ListenAddrs()
	cl := producer(t, addrs)
	recs := make([]*kgo.Record, len(cases))
	for i, bc := range cases {
		recs[i] = &kgo.Record{Topic: "bad", Value: []byte("body"), Headers: bc.headers, Timestamp: bc.ts}
		produce(t, cl, recs[i]) // one call per record keeps the offsets in table order
	}

	sink := new(consumertest.TracesSink)
	r := startObservedReceiver(t, kafkaConfig(addrs, "bad"), sink)
	receives := func() map[string]ptrace.Span {
		out := map[string]ptrace.Span{}
		for _, s := range allSpans(sink) {
			if s.Kind() == ptrace.SpanKindClient {
				out[attr(s, "messaging.kafka.offset")] = s
			}
		}
		return out
	}
	require.Eventually(t, func() bool { return len(receives()) == len(cases) }, waitFor, tick, "every record yields a receive span")

	sends := map[string]ptrace.Span{}
	for _, s := range allSpans(sink) {
		if s.Kind() == ptrace.SpanKindProducer {
			sends[attr(s, "messaging.kafka.offset")] = s
		}
	}
	got := receives()
	wantFaults := map[string]int64{}
	reference := attributeKeys(got[fmt.Sprint(recs[0].Offset)])
	for i, bc := range cases {
		t.Run(bc.name, func(t *testing.T) {
			off := fmt.Sprint(recs[i].Offset)
			id := identity("bad", 0, recs[i].Offset)
			s := got[off]
			assert.Equal(t, "receive bad", s.Name())
			assert.Equal(t, "4", attr(s, "messaging.message.body.size"))
			assert.LessOrEqual(t, s.StartTimestamp(), s.EndTimestamp(), "no span ends before it starts")
			send, rebuilt := sends[off]
			if bc.context {
				assert.Equal(t, badCtx.TraceID, s.TraceID(), "receive span in the producer's trace")
				assert.Equal(t, badCtx.SpanID, s.ParentSpanID())
				assert.False(t, rebuilt, "no send span is rebuilt for a message with context")
			} else {
				require.True(t, rebuilt, "a message without a usable context gets a rebuilt send span")
				assert.Equal(t, spanmodel.SendSpanID(id), send.SpanID())
				assert.Equal(t, send.SpanID(), s.ParentSpanID())
				assert.Equal(t, send.TraceID(), s.TraceID())
			}
			if bc.fault == "timestamp" {
				assert.Equal(t, s.EndTimestamp(), s.StartTimestamp(), "an unusable timestamp is replaced by the observed time")
				if rebuilt {
					assert.Equal(t, s.EndTimestamp(), send.StartTimestamp())
				}
			}
			if bc.fault != "" {
				wantFaults["kafka/"+bc.fault]++
				assert.Positive(t, r.debugLinesAbout(t, id), "the fault is logged at debug with the message identity")
			}
			if bc.check != nil {
				bc.check(t, s)
			}
		})
	}
	t.Run("10 000 headers add no attribute", func(t *testing.T) {
		i := slices.IndexFunc(cases, func(c kafkaBadCase) bool { return c.name == "10 000 headers" })
		assert.Equal(t, reference, attributeKeys(got[fmt.Sprint(recs[i].Offset)]))
	})
	assert.Equal(t, wantFaults, r.faults(t), "faults counted by kind, once per damaged message")
	r.assertNotLogged(t, bgSecret)
}

// Zero-length bodies, tombstones and a 10 MiB body: the spans carry the
// size, the tombstone flag where the value is null, and nothing of the body.
// Both sides are configured for large records: the broker's
// message.max.bytes and the producer's batch size (the source's fetches
// grow by themselves up to sarama's response limit).
func TestBadInputKafkaMessageSizes(t *testing.T) {
	const tenMiB = 10 << 20
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(testClusterID), kfake.SeedTopics(1, "sizes"),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": fmt.Sprint(16 << 20)}))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	cl := producer(t, addrs, kgo.ProducerBatchMaxBytes(16<<20))
	tp := traceparent.Format(badCtx)
	large := make([]byte, tenMiB)
	copy(large, bgSecret) // the body must never reach a span or a log
	tests := []struct {
		name      string
		value     []byte
		size      string
		tombstone bool
	}{
		{name: "zero-length", value: []byte{}, size: "0"},
		{name: "tombstone", value: nil, size: "0", tombstone: true},
		{name: "10 MiB", value: large, size: fmt.Sprint(tenMiB)},
		{name: "after the large one", value: []byte("v"), size: "1"},
	}
	recs := make([]*kgo.Record, len(tests))
	for i, tt := range tests {
		recs[i] = &kgo.Record{Topic: "sizes", Value: tt.value, Headers: []kgo.RecordHeader{hdr("traceparent", tp)}}
		produce(t, cl, recs[i])
	}

	sink := new(consumertest.TracesSink)
	r := startObservedReceiver(t, kafkaConfig(addrs, "sizes"), sink)
	require.Eventually(t, func() bool { return sink.SpanCount() == len(tests) }, waitFor, tick)
	byOffset := map[string]ptrace.Span{}
	for _, s := range allSpans(sink) {
		byOffset[attr(s, "messaging.kafka.offset")] = s
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := byOffset[fmt.Sprint(recs[i].Offset)]
			require.True(t, ok)
			assert.Equal(t, badCtx.TraceID, s.TraceID())
			assert.Equal(t, tt.size, attr(s, "messaging.message.body.size"))
			v, has := s.Attributes().Get("messaging.kafka.message.tombstone")
			assert.Equal(t, tt.tombstone, has, "tombstone flag only for a null value")
			if has {
				assert.True(t, v.Bool())
			}
			for k, v := range s.Attributes().All() {
				assert.NotContains(t, v.AsString(), bgSecret, "attribute %s carries body bytes", k)
			}
		})
	}
	assert.Empty(t, r.faults(t))
	r.assertNotLogged(t, bgSecret)
}

func attributeKeys(s ptrace.Span) []string {
	var keys []string
	for k := range s.Attributes().All() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
