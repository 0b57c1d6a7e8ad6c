package msgtracereceiver

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadata"
)

// BenchmarkConsumers is the cost of consumer visibility (issue 14): the
// tap's msgs/s reading the bench topic with no watched group against three
// application groups that follow the tap, committing every 50ms, so that
// every message is observed, indexed, settled three times (settle spans and
// time-in-queue) and forgotten. Run both in one go:
//
//	go test -run '^$' -bench Consumers -benchtime 3x ./msgtracereceiver/
func BenchmarkConsumers(b *testing.B) {
	addrs := benchCluster(b, 1)
	for _, groups := range []int{0, 3} {
		b.Run("groups="+strconv.Itoa(groups), func(b *testing.B) {
			benchmarkConsumers(b, addrs, groups)
		})
	}
}

func benchmarkConsumers(b *testing.B, addrs []string, groups int) {
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_1_0_0
	client, err := sarama.NewClient(addrs, sc)
	require.NoError(b, err)
	b.Cleanup(func() { _ = client.Close() })
	var total totals
	var settles int64
	// Groups unique to this run: with -count, a later run would otherwise
	// reuse the tap group of an earlier one, start at its commits past the
	// end of the topic and wait for ever.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m := newMeter()
		var mu sync.Mutex
		next, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
			n, s := receiveAndSettle(td)
			mu.Lock()
			settles += s
			mu.Unlock()
			m.add(n)
			return nil
		})
		require.NoError(b, err)
		cfg := benchConfig(addrs)
		cfg.Kafka.GroupID = "consumers-" + run + "-" + strconv.Itoa(groups) + "-" + strconv.Itoa(i)
		cfg.Kafka.Consumers = consumers.NewDefaultConfig()
		cfg.Kafka.Consumers.Enabled = groups > 0
		cfg.Kafka.Consumers.PollInterval = 50 * time.Millisecond
		var names []string
		for g := range groups {
			names = append(names, "app-"+run+"-"+strconv.Itoa(i)+"-"+strconv.Itoa(g))
		}
		cfg.Kafka.Consumers.Groups = names
		cfg.Kafka.TopicRefreshInterval = 100 * time.Millisecond // the groups are listed soon
		f := NewFactory()
		set := receivertest.NewNopSettings(metadata.Type)
		r, err := f.CreateTraces(context.Background(), set, cfg, next)
		require.NoError(b, err)
		mr, err := f.CreateMetrics(context.Background(), set, cfg, new(consumertest.MetricsSink))
		require.NoError(b, err)
		for _, g := range names {
			commitAll(b, client, g, 0) // baseline before the tap reads
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, g := range names {
			wg.Go(func() { followTap(ctx, b, client, g, m) })
		}
		b.StartTimer()
		require.NoError(b, r.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(b, mr.Start(context.Background(), componenttest.NewNopHost()))
		total.add(m)
		b.StopTimer()
		cancel()
		wg.Wait()
		require.NoError(b, r.Shutdown(context.Background()))
		b.StartTimer()
	}
	total.report(b)
	b.ReportMetric(float64(settles)/float64(b.N), "settle-spans/op")
}

// receiveAndSettle counts receive and settle spans.
func receiveAndSettle(td ptrace.Traces) (receive, settle int64) {
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		s := spans.At(i)
		if s.Kind() != ptrace.SpanKindClient {
			continue
		}
		if op, ok := s.Attributes().Get("messaging.operation.type"); ok && op.Str() == "settle" {
			settle++
		} else {
			receive++
		}
	}
	return receive, settle
}

// followTap commits, every 50ms, what the tap has read so far spread over
// the partitions: an application group keeping up.
func followTap(ctx context.Context, b *testing.B, client sarama.Client, group string, m *meter) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.done:
			return
		case <-t.C:
			commitAll(b, client, group, m.n.Load()/benchPartitions)
		}
	}
}

func commitAll(b *testing.B, client sarama.Client, group string, offset int64) {
	br, err := client.Coordinator(group)
	if err != nil {
		b.Error(err)
		return
	}
	req := &sarama.OffsetCommitRequest{Version: 2, ConsumerGroup: group, ConsumerGroupGeneration: -1, RetentionTime: -1}
	for p := range int32(benchPartitions) {
		req.AddBlock(benchTopic, p, offset, 0, "")
	}
	if _, err := br.CommitOffset(req); err != nil {
		b.Error(err)
	}
}
