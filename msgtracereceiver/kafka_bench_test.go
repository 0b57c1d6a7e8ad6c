package msgtracereceiver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/xpdata/pref"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-msg/otelcol-msg/internal/cputime"
	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/kafkasource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/spanmodel"
)

// The benchmarks read the same kind of topic: benchMessages records of 200
// bytes over benchPartitions partitions, each with a traceparent
// (instrumented producers): sampled on every record, one receive span per
// message, or on one record in sampleEvery. Each iteration
// reads the whole topic with a fresh consumer group and the same consumer
// settings; msgs/s and cpu-ns/msg are measured over the middle half of the
// topic (see meter), so group joins and start-up do not count. kfake keeps
// the topic in memory: keep it modest.
const (
	benchTopic      = "bench"
	benchMessages   = 200_000
	benchPartitions = 4
)

func benchCluster(b *testing.B, sampleEvery int) []string {
	b.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(testClusterID), kfake.SeedTopics(benchPartitions, benchTopic))
	require.NoError(b, err)
	b.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerLinger(5*time.Millisecond))
	require.NoError(b, err)
	defer cl.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	var failed atomic.Value
	for i := range benchMessages {
		tp := traceparent.Format(producerContext(i%250, i%sampleEvery == 0))
		wg.Add(1)
		cl.Produce(context.Background(), &kgo.Record{
			Topic: benchTopic, Value: benchValue(rng), Key: []byte(strconv.Itoa(i)),
			Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(tp)}},
		}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Store(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return c.ListenAddrs()
}

// benchValue is a 200-byte JSON body with random values. Real bodies differ
// from one message to the next: a topic of identical (or all-zero) values
// compresses some fifty times, so a single fetch would carry most of the
// topic and the in-process broker would hold almost nothing, which is far
// from a consumer's steady state.
func benchValue(rng *rand.Rand) []byte {
	const digits = "0123456789abcdef"
	v := fmt.Appendf(make([]byte, 0, 200), `{"order_id":"%016x","customer_id":"%016x","amount_cents":%d,"note":"`,
		rng.Uint64(), rng.Uint64(), rng.IntN(1_000_000))
	for len(v) < 198 {
		v = append(v, digits[rng.IntN(len(digits))])
	}
	return append(v, '"', '}')
}

// meter measures the steady state of one pass over the topic: the
// messages handled between the first crossing of a quarter of the topic and
// the first crossing of three quarters, the wall time between the two and
// the CPU time of the whole process meanwhile (consumer, kfake, GC; steadier
// than wall time on a shared machine). The first quarter covers the group
// join, the consumer's start-up (sarama gathers partition subscriptions for
// 100 ms before its first fetch) and the first fetches; in the middle half,
// fetching, decoding and handling overlap as they do on a live topic, and
// the work done in it matches the messages counted in it.
type meter struct {
	n      atomic.Int64
	from   atomic.Pointer[mark]
	to     atomic.Pointer[mark]
	marked sync.WaitGroup // both marks stored
	done   chan struct{}
}

// mark is when the handled count crossed a threshold.
type mark struct {
	n    int64
	wall time.Time
	cpu  time.Duration
}

func newMeter() *meter {
	m := &meter{done: make(chan struct{})}
	m.marked.Add(2)
	return m
}

// add counts n handled messages. Handlers call it once per batch, not per
// message, so that measuring costs next to nothing.
func (m *meter) add(n int64) {
	now := m.n.Add(n)
	crossed := func(at int64) bool { return now-n < at && now >= at }
	for _, t := range []struct {
		at int64
		p  *atomic.Pointer[mark]
	}{{benchMessages / 4, &m.from}, {benchMessages * 3 / 4, &m.to}} {
		if crossed(t.at) {
			t.p.Store(&mark{n: now, wall: time.Now(), cpu: cputime.Process()})
			m.marked.Done()
		}
	}
	if crossed(benchMessages) {
		close(m.done)
	}
}

// totals accumulates meters over a benchmark's iterations.
type totals struct {
	msgs      int64
	wall, cpu time.Duration
}

// add waits until m saw the whole topic.
func (t *totals) add(m *meter) {
	<-m.done
	m.marked.Wait()
	from, to := m.from.Load(), m.to.Load()
	t.msgs += to.n - from.n
	t.wall += to.wall.Sub(from.wall)
	t.cpu += to.cpu - from.cpu
}

func (t *totals) report(b *testing.B) {
	b.ReportMetric(float64(t.msgs)/t.wall.Seconds(), "msgs/s")
	b.ReportMetric(float64(t.cpu.Nanoseconds())/float64(t.msgs), "cpu-ns/msg")
}

// rawHandler is a plain consumer: it marks every record and does nothing
// else. It tells the meter what it handled when its channel runs dry (or
// every flushEvery records), as the receiver does once per batch, so both
// pay the same for being measured.
type rawHandler struct{ m *meter }

const flushEvery = 1000

func (rawHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (rawHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h rawHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	var n int64
	msgs := claim.Messages()
	for msg := range msgs {
		sess.MarkMessage(msg, "")
		if n++; n == flushEvery || len(msgs) == 0 {
			h.m.add(n)
			n = 0
		}
	}
	return nil
}

// BenchmarkKafkaRawSarama is the baseline: a plain sarama consumer group,
// configured by the receiver's own code (kafkasource.NewSaramaConfig), so
// both read the topic with the same client settings and the difference is
// the tracing.
func BenchmarkKafkaRawSarama(b *testing.B) {
	addrs := benchCluster(b, 1)
	var total totals
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cfg := benchConfig(addrs)
		sc, err := kafkasource.NewSaramaConfig(context.Background(), cfg.Kafka)
		require.NoError(b, err)
		group, err := sarama.NewConsumerGroup(addrs, "raw-"+strconv.Itoa(i), sc)
		require.NoError(b, err)
		// The receiver's settings return consumer errors on a channel: drain it
		// as the receiver does (it ends when the group closes).
		go func() {
			for range group.Errors() {
			}
		}()
		m := newMeter()
		ctx, cancel := context.WithCancel(context.Background())
		consumed := make(chan error, 1)
		b.StartTimer()
		go func() { consumed <- group.Consume(ctx, []string{benchTopic}, rawHandler{m}) }()
		total.add(m)
		b.StopTimer()
		cancel()
		require.NoError(b, <-consumed)
		require.NoError(b, group.Close())
		b.StartTimer()
	}
	total.report(b)
}

// BenchmarkKafkaTrace is the receiver on the same topic with the default
// settings: one receive span per message, handed to a consumer that does
// nothing but count them.
func BenchmarkKafkaTrace(b *testing.B) {
	benchmarkTrace(b, spanmodel.ReceiveMessage, 1, false)
}

// BenchmarkKafkaTracePooling is BenchmarkKafkaTrace with the
// pdata.useProtoPooling feature gate on (--feature-gates=pdata.useProtoPooling
// in the binary): the pipeline returns each delivered Traces' objects to
// pdata's pools, and the next Build takes them from there.
func BenchmarkKafkaTracePooling(b *testing.B) {
	benchmarkTrace(b, spanmodel.ReceiveMessage, 1, true)
}

// BenchmarkKafkaTraceHalfSampled is BenchmarkKafkaTrace on a topic whose
// producers sampled every other message: the other half carry sampled=0
// and yield no span. Against BenchmarkKafkaTrace it shows what the spans
// cost, as opposed to reading and parsing the records.
func BenchmarkKafkaTraceHalfSampled(b *testing.B) {
	benchmarkTrace(b, spanmodel.ReceiveMessage, 2, false)
}

// BenchmarkKafkaTraceBatch is BenchmarkKafkaTrace with spans.receive: batch
// (one span per delivered batch, a link per message).
func BenchmarkKafkaTraceBatch(b *testing.B) {
	benchmarkTrace(b, spanmodel.ReceiveBatch, 1, false)
}

// benchmarkTrace runs the receiver on a topic where one message in
// sampleEvery is sampled, with pdata.useProtoPooling set to pooling. The
// spans go through what the collector puts between a receiver and its first
// processor (service/internal/refconsumer): the Traces is marked
// pipeline-owned and released once consumed, which with the gate on returns
// its objects to pdata's pools.
func benchmarkTrace(b *testing.B, receive spanmodel.Receive, sampleEvery int, pooling bool) {
	setPooling(b, pooling)
	addrs := benchCluster(b, sampleEvery)
	var total totals
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m := newMeter()
		next, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
			if pref.MarkPipelineOwnedTraces(td) {
				defer pref.UnrefTraces(td)
			}
			m.add(receivedMessages(td, receive, sampleEvery))
			return nil
		})
		require.NoError(b, err)
		cfg := benchConfig(addrs)
		cfg.Kafka.GroupID = "trace-" + strconv.Itoa(i)
		cfg.Spans.Receive = receive
		r, err := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, next)
		require.NoError(b, err)
		b.StartTimer()
		require.NoError(b, r.Start(context.Background(), componenttest.NewNopHost()))
		total.add(m)
		b.StopTimer()
		require.NoError(b, r.Shutdown(context.Background()))
		b.StartTimer()
	}
	total.report(b)
}

// benchConfig is the receiver configuration of both benchmarks: the
// defaults, reading the bench topic from the start.
func benchConfig(addrs []string) *Config {
	cfg := kafkaConfig(addrs, benchTopic)
	cfg.Kafka.CommitInterval = time.Second
	cfg.Kafka.TopicRefreshInterval = time.Minute
	return cfg
}

// receivedMessages counts the messages spans account for: sampleEvery per
// receive span (each stands for itself and, on average, the unsampled
// messages around it; exact over the topic, close enough for the meter's
// quarter marks), or messaging.batch.message_count of a batch span. Only
// batch spans are looked into, so counting costs the message mode next to
// nothing.
func receivedMessages(td ptrace.Traces, receive spanmodel.Receive, sampleEvery int) int64 {
	var n int64
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		s := spans.At(i)
		switch {
		case s.Kind() != ptrace.SpanKindClient:
		case receive == spanmodel.ReceiveBatch:
			if c, ok := s.Attributes().Get("messaging.batch.message_count"); ok {
				n += c.Int()
			}
		default:
			n += int64(sampleEvery)
		}
	}
	return n
}

// setPooling sets the pdata.useProtoPooling gate for the benchmark and
// restores it after.
func setPooling(b *testing.B, on bool) {
	b.Helper()
	id := pref.UseProtoPooling.ID()
	was := pref.UseProtoPooling.IsEnabled()
	require.NoError(b, featuregate.GlobalRegistry().Set(id, on))
	b.Cleanup(func() { require.NoError(b, featuregate.GlobalRegistry().Set(id, was)) })
}
