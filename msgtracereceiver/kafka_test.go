package msgtracereceiver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap/zaptest"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/kafkasource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadatatest"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// Integration tests against kfake: the real Kafka wire protocol, in process.

const (
	testClusterID = "kfake-test"
	// waitFor bounds how long a test waits for spans or offsets to show up.
	waitFor = 30 * time.Second
	tick    = 20 * time.Millisecond
)

func newCluster(t *testing.T, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(testClusterID), kfake.SeedTopics(partitions, topics...))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// producer returns a franz-go client writing to explicit partitions.
func producer(t *testing.T, addrs []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func produce(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
}

// record is a 200-byte message; headers alternate key, value.
func record(topic string, partition int32, headers ...string) *kgo.Record {
	r := &kgo.Record{Topic: topic, Partition: partition, Value: make([]byte, 200)}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: headers[i], Value: []byte(headers[i+1])})
	}
	return r
}

// producerContext is a sampled context for message n.
func producerContext(n int, sampled bool) traceparent.Context {
	c := traceparent.Context{
		TraceID: pcommon.TraceID{0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(n + 1)},
		SpanID:  pcommon.SpanID{0xbb, 0, 0, 0, 0, 0, 0, byte(n + 1)},
	}
	if sampled {
		c.Flags = 1
	}
	return c
}

func kafkaConfig(addrs []string, topics ...string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.IncludeBaggage = true // the tests check baggage attributes
	cfg.RetryOnFailure.InitialInterval = 20 * time.Millisecond
	cfg.RetryOnFailure.MaxInterval = 50 * time.Millisecond
	k := kafkasource.NewDefaultConfig()
	k.Brokers = addrs
	k.Topics = topics
	k.InitialOffset = kafkasource.OffsetEarliest
	k.CommitInterval = 20 * time.Millisecond
	k.TopicRefreshInterval = 100 * time.Millisecond
	cfg.Kafka = k
	return cfg
}

func startReceiver(t *testing.T, cfg *Config, next consumer.Traces) func() {
	t.Helper()
	return startReceiverWithHost(t, cfg, next, componenttest.NewNopHost())
}

func startReceiverWithHost(t *testing.T, cfg *Config, next consumer.Traces, host component.Host) func() {
	t.Helper()
	return startReceiverWith(t, cfg, next, host, receivertest.NewNopSettings(metadata.Type))
}

func startReceiverWith(t *testing.T, cfg *Config, next consumer.Traces, host component.Host, set receiver.Settings) func() {
	t.Helper()
	require.NoError(t, cfg.Validate())
	set.Logger = zaptest.NewLogger(t)
	r, err := NewFactory().CreateTraces(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host))
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			require.NoError(t, r.Shutdown(ctx))
		})
	}
	t.Cleanup(stop)
	return stop
}

// allSpans flattens what a sink received.
func allSpans(sink *consumertest.TracesSink) []ptrace.Span {
	var out []ptrace.Span
	for _, td := range sink.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			ss := td.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < ss.Len(); j++ {
				for k := 0; k < ss.At(j).Spans().Len(); k++ {
					out = append(out, ss.At(j).Spans().At(k))
				}
			}
		}
	}
	return out
}

func attr(s ptrace.Span, key string) string {
	v, ok := s.Attributes().Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

// committed returns the group's committed offset per partition (-1: none).
func committed(t *testing.T, addrs []string, group, topic string, partitions int32) []int64 {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_1_0_0
	admin, err := sarama.NewClusterAdmin(addrs, sc)
	require.NoError(t, err)
	defer admin.Close()
	ps := make([]int32, partitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	out := make([]int64, partitions)
	for i := range out {
		out[i] = -1
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if errors.Is(err, sarama.ErrGroupIDNotFound) { // nothing committed yet
		return out
	}
	require.NoError(t, err)
	for i, p := range ps {
		if b := resp.GetBlock(topic, p); b != nil {
			out[i] = b.Offset
		}
	}
	return out
}

func identity(topic string, partition int32, offset int64) string {
	return fmt.Sprintf("%s/%s/%d/%d", testClusterID, topic, partition, offset)
}

// N messages with and without context: receive spans parented on the
// producers' contexts, rebuilt send spans with identity-derived IDs, and
// the semconv attributes of DESIGN §4.2.
func TestKafkaMessagesWithAndWithoutContext(t *testing.T) {
	c := newCluster(t, 2, "orders")
	addrs := c.ListenAddrs()
	cl := producer(t, addrs)
	const withCtx, withoutCtx = 10, 6
	var recs []*kgo.Record
	for i := range withCtx {
		recs = append(recs, record("orders", int32(i%2), "traceparent", traceparent.Format(producerContext(i, true)),
			"baggage", "tenant=acme", "correlation_id", "conv-"+strconv.Itoa(i)))
	}
	for i := range withoutCtx {
		recs = append(recs, record("orders", int32(i%2), "message_id", "m-"+strconv.Itoa(i)))
	}
	produce(t, cl, recs...)

	sink := new(consumertest.TracesSink)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	startReceiverWith(t, kafkaConfig(addrs, "orders"), sink, componenttest.NewNopHost(), metadatatest.NewSettings(tt))
	require.Eventually(t, func() bool { return sink.SpanCount() >= withCtx+2*withoutCtx }, waitFor, tick)

	metadatatest.AssertEqualMsgtraceReceiverMessagesObserved(t, tt, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("messaging.system", "kafka"), attribute.String("subscription", "orders")),
		Value:      withCtx + withoutCtx,
	}}, metricdatatest.IgnoreTimestamp())
	lag := func(p string) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.destination.name", "orders"), attribute.String("messaging.destination.partition.id", p))}
	}
	metadatatest.AssertEqualMsgtraceReceiverLag(t, tt, []metricdata.DataPoint[int64]{lag("0"), lag("1")},
		metricdatatest.IgnoreTimestamp())

	spans := allSpans(sink)
	require.Len(t, spans, withCtx+2*withoutCtx)
	host, port, err := net.SplitHostPort(addrs[0])
	require.NoError(t, err)
	sends := map[pcommon.SpanID]ptrace.Span{}
	for _, s := range spans {
		if s.Kind() == ptrace.SpanKindProducer {
			sends[s.SpanID()] = s
		}
	}
	require.Len(t, sends, withoutCtx)

	seen := map[string]bool{}
	for _, s := range spans {
		if s.Kind() != ptrace.SpanKindClient {
			continue
		}
		p, err := strconv.Atoi(attr(s, "messaging.destination.partition.id"))
		require.NoError(t, err)
		off, err := strconv.ParseInt(attr(s, "messaging.kafka.offset"), 10, 64)
		require.NoError(t, err)
		id := identity("orders", int32(p), off)
		seen[id] = true
		assert.Equal(t, "receive orders", s.Name())
		assert.Equal(t, spanmodel.ReceiveSpanID(kafkasource.DefaultGroupID, id), s.SpanID())
		assert.Equal(t, "kafka", attr(s, "messaging.system"))
		assert.Equal(t, "receive", attr(s, "messaging.operation.type"))
		assert.Equal(t, "orders", attr(s, "messaging.destination.name"))
		assert.Equal(t, kafkasource.DefaultGroupID, attr(s, "messaging.consumer.group.name"))
		assert.Equal(t, "200", attr(s, "messaging.message.body.size"))
		assert.Equal(t, host, attr(s, "server.address"))
		assert.Equal(t, port, attr(s, "server.port"))
		assert.LessOrEqual(t, s.StartTimestamp(), s.EndTimestamp())

		if conv := attr(s, "messaging.message.conversation_id"); conv != "" {
			n, err := strconv.Atoi(conv[len("conv-"):])
			require.NoError(t, err)
			want := producerContext(n, true)
			assert.Equal(t, want.TraceID, s.TraceID(), "receive span in the producer's trace")
			assert.Equal(t, want.SpanID, s.ParentSpanID())
			assert.Equal(t, "acme", attr(s, "baggage.tenant"))
			continue
		}
		send, ok := sends[s.ParentSpanID()]
		require.True(t, ok, "receive span of an uninstrumented message is a child of its rebuilt send span")
		assert.Equal(t, spanmodel.SendSpanID(id), send.SpanID())
		assert.Equal(t, spanmodel.SendTraceID(id), send.TraceID())
		assert.Equal(t, send.TraceID(), s.TraceID())
		assert.Equal(t, "send orders", send.Name())
		assert.Equal(t, attr(s, "messaging.message.id"), attr(send, "messaging.message.id"))
		assert.NotEmpty(t, attr(send, "messaging.message.id"))
	}
	assert.Len(t, seen, withCtx+withoutCtx, "one receive span per message")
}

// Regular expressions tap every matching topic, including one created while
// the receiver runs, and nothing else.
func TestKafkaRegexTopics(t *testing.T) {
	c := newCluster(t, 1, "app.a", "app.b", "other")
	addrs := c.ListenAddrs()
	cl := producer(t, addrs)
	tp := traceparent.Format(producerContext(0, true))
	produce(t, cl, record("app.a", 0, "traceparent", tp), record("app.b", 0, "traceparent", tp), record("other", 0, "traceparent", tp))

	sink := new(consumertest.TracesSink)
	startReceiver(t, kafkaConfig(addrs, `^app\..*`), sink)
	destinations := func() map[string]int {
		out := map[string]int{}
		for _, s := range allSpans(sink) {
			out[attr(s, "messaging.destination.name")]++
		}
		return out
	}
	require.Eventually(t, func() bool { d := destinations(); return d["app.a"] == 1 && d["app.b"] == 1 }, waitFor, tick)

	sc := sarama.NewConfig()
	sc.Version = sarama.V2_1_0_0
	admin, err := sarama.NewClusterAdmin(addrs, sc)
	require.NoError(t, err)
	require.NoError(t, admin.CreateTopic("app.c", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false))
	require.NoError(t, admin.Close())
	produce(t, cl, record("app.c", 0, "traceparent", tp))

	require.Eventually(t, func() bool { return destinations()["app.c"] == 1 }, waitFor, tick)
	assert.Equal(t, map[string]int{"app.a": 1, "app.b": 1, "app.c": 1}, destinations())
}

// Batch mode: one span per delivered batch, one link per message carrying
// its own baggage and offset.
func TestKafkaBatchModeLinks(t *testing.T) {
	c := newCluster(t, 1, "batch")
	addrs := c.ListenAddrs()
	cl := producer(t, addrs)
	const n = 5
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, record("batch", 0, "traceparent", traceparent.Format(producerContext(i, true)),
			"baggage", "with_batch=True,user=u"+strconv.Itoa(i), "correlation_id", "batch-1"))
	}
	produce(t, cl, recs...)

	cfg := kafkaConfig(addrs, "batch")
	cfg.Spans.Receive = spanmodel.ReceiveBatch
	sink := new(consumertest.TracesSink)
	startReceiver(t, cfg, sink)

	linksOf := func() (count, links int64) {
		for _, s := range allSpans(sink) {
			v, _ := s.Attributes().Get("messaging.batch.message_count")
			count += v.Int()
			links += int64(s.Links().Len())
		}
		return count, links
	}
	require.Eventually(t, func() bool { c, _ := linksOf(); return c >= n }, waitFor, tick)
	count, links := linksOf()
	assert.Equal(t, int64(n), count)
	assert.Equal(t, int64(n), links)

	users := map[string]bool{}
	for _, s := range allSpans(sink) {
		assert.Equal(t, ptrace.SpanKindClient, s.Kind())
		assert.Equal(t, "receive batch", s.Name())
		assert.Equal(t, "0", attr(s, "messaging.destination.partition.id"))
		_, hasOffset := s.Attributes().Get("messaging.kafka.offset")
		assert.False(t, hasOffset, "per-message attributes go on the links")
		for i := 0; i < s.Links().Len(); i++ {
			l := s.Links().At(i)
			off, ok := l.Attributes().Get("messaging.kafka.offset")
			require.True(t, ok)
			want := producerContext(int(off.Int()), true)
			assert.Equal(t, want.TraceID, l.TraceID())
			assert.Equal(t, want.SpanID, l.SpanID())
			u, _ := l.Attributes().Get("baggage.user")
			users[u.Str()] = true
			wb, _ := l.Attributes().Get("baggage.with_batch")
			assert.Equal(t, "True", wb.Str())
			cid, _ := l.Attributes().Get("messaging.message.conversation_id")
			assert.Equal(t, "batch-1", cid.Str())
		}
	}
	assert.Len(t, users, n)
}

// sampled=0 messages yield no spans but are acknowledged.
func TestKafkaSampledZero(t *testing.T) {
	c := newCluster(t, 1, "unsampled")
	addrs := c.ListenAddrs()
	cl := producer(t, addrs)
	var recs []*kgo.Record
	for i := range 5 {
		recs = append(recs, record("unsampled", 0, "traceparent", traceparent.Format(producerContext(i, false))))
	}
	recs = append(recs, record("unsampled", 0, "traceparent", traceparent.Format(producerContext(9, true))))
	produce(t, cl, recs...)

	sink := new(consumertest.TracesSink)
	startReceiver(t, kafkaConfig(addrs, "unsampled"), sink)
	require.Eventually(t, func() bool {
		return committed(t, addrs, kafkasource.DefaultGroupID, "unsampled", 1)[0] == 6
	}, waitFor, tick)
	spans := allSpans(sink)
	require.Len(t, spans, 1, "only the sampled message yields a span")
	assert.Equal(t, producerContext(9, true).TraceID, spans[0].TraceID())
}

// switchConsumer refuses spans with a retryable error while failing is set.
type switchConsumer struct {
	consumertest.TracesSink
	failing atomic.Bool
	refused atomic.Int32
}

func (s *switchConsumer) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if s.failing.Load() {
		s.refused.Add(1)
		return errors.New("exporter unavailable")
	}
	return s.TracesSink.ConsumeTraces(ctx, td)
}

// A next consumer that fails and recovers: no offset is committed while it
// refuses, and every message shows up once it accepts.
func TestKafkaRetryUntilRecovered(t *testing.T) {
	c := newCluster(t, 2, "retry")
	addrs := c.ListenAddrs()
	cl := producer(t, addrs)
	const n = 10
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, record("retry", int32(i%2)))
	}
	produce(t, cl, recs...)

	next := new(switchConsumer)
	next.failing.Store(true)
	startReceiver(t, kafkaConfig(addrs, "retry"), next)

	// Both partitions' batches have been refused several times, which spans
	// many commit intervals: nothing past the start offset (0, committed
	// when the tap took the partitions) may be committed.
	require.Eventually(t, func() bool { return next.refused.Load() >= 10 }, waitFor, tick)
	assert.Equal(t, []int64{0, 0}, committed(t, addrs, kafkasource.DefaultGroupID, "retry", 2))
	assert.Zero(t, next.SpanCount())

	next.failing.Store(false)
	require.Eventually(t, func() bool {
		got := committed(t, addrs, kafkasource.DefaultGroupID, "retry", 2)
		return got[0] == n/2 && got[1] == n/2
	}, waitFor, tick)

	offsets := map[string]int{}
	for _, s := range allSpans(&next.TracesSink) {
		if s.Kind() == ptrace.SpanKindClient {
			offsets[attr(s, "messaging.destination.partition.id")+"/"+attr(s, "messaging.kafka.offset")]++
		}
	}
	assert.Len(t, offsets, n, "no message missing")
	for k, v := range offsets {
		assert.Equal(t, 1, v, "message %s delivered once", k)
	}
}

// The exporter is down when the collector stops: nothing is committed, and
// the next run delivers every message.
func TestKafkaShutdownWhileRefusing(t *testing.T) {
	c := newCluster(t, 1, "stop")
	addrs := c.ListenAddrs()
	const n = 4
	for range n {
		produce(t, producer(t, addrs), record("stop", 0))
	}
	refusing := new(switchConsumer)
	refusing.failing.Store(true)
	stop := startReceiver(t, kafkaConfig(addrs, "stop"), refusing)
	require.Eventually(t, func() bool { return refusing.refused.Load() >= 3 }, waitFor, tick)
	stop()
	// Only the start offset, pinned when the tap took the partition.
	require.Equal(t, []int64{0}, committed(t, addrs, kafkasource.DefaultGroupID, "stop", 1))

	sink := new(consumertest.TracesSink)
	startReceiver(t, kafkaConfig(addrs, "stop"), sink)
	require.Eventually(t, func() bool {
		return committed(t, addrs, kafkasource.DefaultGroupID, "stop", 1)[0] == n
	}, waitFor, tick)
	assert.Equal(t, 2*n, sink.SpanCount(), "a rebuilt send span and a receive span per message")
}

// A permanent refusal is counted and acknowledged.
func TestKafkaPermanentErrorCommits(t *testing.T) {
	c := newCluster(t, 1, "poison")
	addrs := c.ListenAddrs()
	produce(t, producer(t, addrs), record("poison", 0), record("poison", 0))
	var calls atomic.Int32
	next, err := consumer.NewTraces(func(context.Context, ptrace.Traces) error {
		calls.Add(1)
		return consumererror.NewPermanent(errors.New("cannot encode"))
	})
	require.NoError(t, err)
	startReceiver(t, kafkaConfig(addrs, "poison"), next)
	require.Eventually(t, func() bool {
		return committed(t, addrs, kafkasource.DefaultGroupID, "poison", 1)[0] == 2
	}, waitFor, tick)
	assert.Positive(t, calls.Load())
}

// Messages read again (their offsets were not committed, as after a crash)
// yield spans with the very same IDs.
func TestKafkaRedeliveryKeepsIDs(t *testing.T) {
	c := newCluster(t, 2, "again")
	addrs := c.ListenAddrs()
	cl := producer(t, addrs)
	const n = 8
	var recs []*kgo.Record
	for i := range n {
		if i%2 == 0 {
			recs = append(recs, record("again", int32(i%2), "traceparent", traceparent.Format(producerContext(i, true))))
		} else {
			recs = append(recs, record("again", int32(i%2)))
		}
	}
	produce(t, cl, recs...)
	const spansPerRun = n/2 + 2*(n/2)

	type ids struct {
		trace        pcommon.TraceID
		span, parent pcommon.SpanID
	}
	run := func() map[ids]bool {
		sink := new(consumertest.TracesSink)
		stop := startReceiver(t, kafkaConfig(addrs, "again"), sink)
		require.Eventually(t, func() bool {
			got := committed(t, addrs, kafkasource.DefaultGroupID, "again", 2)
			return got[0] == n/2 && got[1] == n/2
		}, waitFor, tick)
		stop()
		out := map[ids]bool{}
		for _, s := range allSpans(sink) {
			out[ids{s.TraceID(), s.SpanID(), s.ParentSpanID()}] = true
		}
		require.Len(t, out, spansPerRun)
		return out
	}
	first := run()

	// Forget the committed offsets: the next run reads everything again.
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_1_0_0
	admin, err := sarama.NewClusterAdmin(addrs, sc)
	require.NoError(t, err)
	require.NoError(t, admin.DeleteConsumerGroup(kafkasource.DefaultGroupID))
	require.NoError(t, admin.Close())
	require.Equal(t, []int64{-1, -1}, committed(t, addrs, kafkasource.DefaultGroupID, "again", 2))

	assert.Equal(t, first, run())
}

// statusHost records the component status a receiver reports.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []componentstatus.Status
}

func (h *statusHost) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e.Status())
}

func (h *statusHost) reported(s componentstatus.Status) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.events, s)
}

// Starting with the cluster down does not fail Start: the source reports a
// recoverable error, and connects once the cluster comes up.
func TestKafkaStartsWithClusterDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	sink := new(consumertest.TracesSink)
	host := &statusHost{Host: componenttest.NewNopHost()}
	startReceiverWithHost(t, kafkaConfig([]string{addr}, "late"), sink, host)
	require.Eventually(t, func() bool { return host.reported(componentstatus.StatusRecoverableError) }, waitFor, tick)

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.ClusterID(testClusterID), kfake.SeedTopics(1, "late"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	produce(t, producer(t, c.ListenAddrs()), record("late", 0, "traceparent", traceparent.Format(producerContext(0, true))))
	require.Eventually(t, func() bool { return sink.SpanCount() == 1 }, waitFor, tick)
	assert.True(t, host.reported(componentstatus.StatusOK))
}

// SASL/SCRAM-SHA-512 through github.com/xdg-go/scram.
func TestKafkaSASLScram(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(testClusterID), kfake.SeedTopics(1, "secure"),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "tap", "s3cret"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	cl := producer(t, addrs, kgo.SASL(scram.Auth{User: "tap", Pass: "s3cret"}.AsSha512Mechanism()))
	produce(t, cl, record("secure", 0, "traceparent", traceparent.Format(producerContext(0, true))))

	cfg := kafkaConfig(addrs, "secure")
	cfg.Kafka.Auth.SASL = &kafkasource.SASLConfig{Mechanism: kafkasource.MechanismScramSHA512, Username: "tap", Password: "s3cret", Version: 1}
	sink := new(consumertest.TracesSink)
	startReceiver(t, cfg, sink)
	require.Eventually(t, func() bool { return sink.SpanCount() == 1 }, waitFor, tick)
}
