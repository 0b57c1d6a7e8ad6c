package bench

import (
	"context"
	"encoding/binary"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/xpdata/pref"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-msg/otelcol-msg/internal/cputime"
)

// The Kafka topic of BenchmarkContribKafkaReceiver has the count and layout
// of the msgtrace receiver's Kafka benchmarks (msgtracereceiver/
// kafka_bench_test.go): 200 000 records over 4 partitions, written by a
// franz-go producer with its default compression. Each record is what
// contrib's kafkaexporter writes with encoding otlp_proto: an
// ExportTraceServiceRequest, here of one span shaped like the msgtrace
// receiver's receive span (the same eleven attributes, distinct IDs).
const (
	kafkaTopic      = "otlp_spans"
	kafkaMessages   = 200_000
	kafkaPartitions = 4
)

// BenchmarkContribKafkaReceiver is contrib's kafkareceiver (franz-go, the
// default otlp_proto encoding) reading the topic with a fresh consumer group
// per iteration, handing its traces to a consumer that counts the spans: the
// nearest "spans/s from Kafka" figure of a stock collector, against which
// BenchmarkKafkaTrace (the tap: raw records in, spans built) can be read.
// msgs/s and cpu-ns/msg are taken over the middle half of the topic, as in
// the tap's benchmarks. pooling turns pdata.useProtoPooling on.
func BenchmarkContribKafkaReceiver(b *testing.B) {
	addrs := otlpCluster(b)
	for _, pooling := range []bool{false, true} {
		name := "default"
		if pooling {
			name = "pooling"
		}
		b.Run(name, func(b *testing.B) {
			setPooling(b, pooling)
			var total kafkaTotals
			for i := 0; b.Loop(); i++ {
				m := newKafkaMeter()
				next, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
					// What the collector puts before a receiver's first
					// processor (service/internal/refconsumer).
					if pref.MarkPipelineOwnedTraces(td) {
						defer pref.UnrefTraces(td)
					}
					m.add(int64(td.SpanCount()))
					return nil
				})
				require.NoError(b, err)
				f := kafkareceiver.NewFactory()
				cfg := f.CreateDefaultConfig().(*kafkareceiver.Config)
				cfg.ClientConfig.Brokers = addrs
				cfg.Traces.Topics = []string{kafkaTopic}
				cfg.ConsumerConfig.GroupID = "contrib-" + name + "-" + strconv.Itoa(i)
				cfg.ConsumerConfig.InitialOffset = "earliest"
				r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(component.MustNewType("kafka")), cfg, next)
				require.NoError(b, err)
				require.NoError(b, r.Start(context.Background(), componenttest.NewNopHost()))
				total.add(m)
				require.NoError(b, r.Shutdown(context.Background()))
			}
			total.report(b)
		})
	}
}

// otlpCluster starts kfake with the topic written.
func otlpCluster(b *testing.B) []string {
	b.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(kafkaPartitions, kafkaTopic))
	require.NoError(b, err)
	b.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerLinger(5*time.Millisecond))
	require.NoError(b, err)
	defer cl.Close()
	var (
		enc    ptrace.ProtoMarshaler
		wg     sync.WaitGroup
		failed atomic.Value
	)
	for i := range kafkaMessages {
		v, err := enc.MarshalTraces(receiveSpan(i))
		require.NoError(b, err)
		wg.Add(1)
		cl.Produce(context.Background(), &kgo.Record{Topic: kafkaTopic, Value: v, Key: []byte(strconv.Itoa(i))},
			func(_ *kgo.Record, err error) {
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

// receiveSpan is the i-th record's span: a receive span of partition i%4
// with the msgtrace receiver's attributes, under a resource and scope.
func receiveSpan(i int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "orders-consumer")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("github.com/otelcol-msg/otelcol-msg/msgtracereceiver")
	s := ss.Spans().AppendEmpty()
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	binary.BigEndian.PutUint64(tid[8:], uint64(i)+1)
	binary.BigEndian.PutUint64(sid[:], uint64(i)+1)
	s.SetTraceID(tid)
	s.SetSpanID(sid)
	s.SetParentSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	s.SetFlags(0x301)
	s.SetName("receive orders")
	s.SetKind(ptrace.SpanKindClient)
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(250 * time.Millisecond)))
	a := s.Attributes()
	a.PutStr("messaging.system", "kafka")
	a.PutStr("messaging.operation.type", "receive")
	a.PutStr("messaging.operation.name", "receive")
	a.PutStr("messaging.destination.name", "orders")
	a.PutStr("messaging.destination.partition.id", strconv.Itoa(i%kafkaPartitions))
	a.PutStr("server.address", "kafka-1")
	a.PutInt("server.port", 9092)
	a.PutStr("messaging.consumer.group.name", "otelcol-msgtrace")
	a.PutStr("messaging.message.id", "id-"+strconv.Itoa(i))
	a.PutInt("messaging.message.body.size", 200)
	a.PutInt("messaging.kafka.offset", int64(i/kafkaPartitions))
	return td
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

// kafkaMeter is the tap benchmarks' meter: the spans handled between the
// first crossing of a quarter of the topic and of three quarters, with the
// wall and process CPU time between the two.
type kafkaMeter struct {
	n        atomic.Int64
	from, to atomic.Pointer[kafkaMark]
	done     chan struct{}
}

type kafkaMark struct {
	n    int64
	wall time.Time
	cpu  time.Duration
}

func newKafkaMeter() *kafkaMeter { return &kafkaMeter{done: make(chan struct{})} }

func (m *kafkaMeter) add(n int64) {
	now := m.n.Add(n)
	crossed := func(at int64) bool { return now-n < at && now >= at }
	if crossed(kafkaMessages / 4) {
		m.from.Store(&kafkaMark{n: now, wall: time.Now(), cpu: cputime.Process()})
	}
	if crossed(kafkaMessages * 3 / 4) {
		m.to.Store(&kafkaMark{n: now, wall: time.Now(), cpu: cputime.Process()})
	}
	if crossed(kafkaMessages) {
		close(m.done)
	}
}

type kafkaTotals struct {
	msgs      int64
	wall, cpu time.Duration
}

// add waits until m saw the whole topic (at most a minute).
func (t *kafkaTotals) add(m *kafkaMeter) {
	select {
	case <-m.done:
	case <-time.After(time.Minute):
		panic("contrib kafkareceiver: topic not read within a minute, " + strconv.FormatInt(m.n.Load(), 10) + " spans")
	}
	from, to := m.from.Load(), m.to.Load()
	t.msgs += to.n - from.n
	t.wall += to.wall.Sub(from.wall)
	t.cpu += to.cpu - from.cpu
}

func (t *kafkaTotals) report(b *testing.B) {
	b.ReportMetric(float64(t.msgs)/t.wall.Seconds(), "msgs/s")
	b.ReportMetric(float64(t.cpu.Nanoseconds())/float64(t.msgs), "cpu-ns/msg")
}
