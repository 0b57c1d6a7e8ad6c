package msgtracereceiver

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap/zaptest"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadata"
)

// Consumer visibility against kfake (issue 14): application groups commit
// at their own pace; the receiver's traces and metrics pipelines share one
// receiver and see the groups' settles.

// startWithMetrics starts one receiver serving both signals.
func startWithMetrics(t *testing.T, cfg *Config, traces *consumertest.TracesSink, metrics *consumertest.MetricsSink) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zaptest.NewLogger(t)
	f := NewFactory()
	tr, err := f.CreateTraces(context.Background(), set, cfg, traces)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, metrics)
	require.NoError(t, err)
	require.Same(t, tr, mr, "both signals must share one receiver")
	host := componenttest.NewNopHost()
	require.NoError(t, tr.Start(context.Background(), host))
	require.NoError(t, mr.Start(context.Background(), host))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, tr.Shutdown(ctx))
		require.NoError(t, mr.Shutdown(ctx))
	})
}

// lastPoint returns the newest value of metric name for group, and whether
// one was flushed; for the histogram it is the count.
func lastPoint(sink *consumertest.MetricsSink, name, group string) (float64, bool) {
	all := sink.AllMetrics()
	for i := len(all) - 1; i >= 0; i-- {
		rms := all[i].ResourceMetrics()
		for r := 0; r < rms.Len(); r++ {
			ms := rms.At(r).ScopeMetrics().At(0).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if m := ms.At(k); m.Name() == name {
					if v, ok := pointOf(m, group); ok {
						return v, true
					}
				}
			}
		}
	}
	return 0, false
}

func pointOf(m pmetric.Metric, group string) (float64, bool) {
	var dps pmetric.NumberDataPointSlice
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
		h := m.Histogram().DataPoints()
		for i := 0; i < h.Len(); i++ {
			if g, _ := h.At(i).Attributes().Get("messaging.consumer.group.name"); g.Str() == group {
				return float64(h.At(i).Count()), true
			}
		}
		return 0, false
	case pmetric.MetricTypeGauge:
		dps = m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		dps = m.Sum().DataPoints()
	}
	for i := 0; i < dps.Len(); i++ {
		if g, _ := dps.At(i).Attributes().Get("messaging.consumer.group.name"); g.Str() == group {
			if dps.At(i).ValueType() == pmetric.NumberDataPointValueTypeInt {
				return float64(dps.At(i).IntValue()), true
			}
			return dps.At(i).DoubleValue(), true
		}
	}
	return 0, false
}

// commitAt commits offset for group on orders/0 as a simple (memberless)
// consumer would, backwards too: an OffsetCommit of generation -1 to the
// group's coordinator.
func commitAt(t *testing.T, client sarama.Client, group string, offset int64) {
	t.Helper()
	b, err := client.Coordinator(group)
	require.NoError(t, err)
	req := &sarama.OffsetCommitRequest{Version: 2, ConsumerGroup: group, ConsumerGroupGeneration: -1, RetentionTime: -1}
	req.AddBlock("orders", 0, offset, 0, "")
	resp, err := b.CommitOffset(req)
	require.NoError(t, err)
	require.Equal(t, sarama.ErrNoError, resp.Errors["orders"][0])
}

// fastGroup consumes orders with a sarama consumer group, marking every
// message (auto-commit every 50ms), until the test ends.
func fastGroup(t *testing.T, addrs []string, group string) {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_1_0_0
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Offsets.AutoCommit.Interval = 50 * time.Millisecond
	cg, err := sarama.NewConsumerGroup(addrs, group, sc)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			_ = cg.Consume(ctx, []string{"orders"}, markAll{})
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		_ = cg.Close()
	})
}

type markAll struct{}

func (markAll) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (markAll) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (markAll) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		sess.MarkMessage(m, "")
	}
	return nil
}

func TestKafkaConsumersSettleLagAndRewind(t *testing.T) {
	c := newCluster(t, 1, "orders")
	addrs := c.ListenAddrs()
	cl := producer(t, addrs)
	const first, total = 5, 20
	send := func(from, to int) {
		for i := from; i < to; i++ {
			produce(t, cl, record("orders", 0, "traceparent", traceparent.Format(producerContext(i, true))))
		}
	}
	send(0, first)

	cfg := kafkaConfig(addrs, "orders")
	cfg.Kafka.Consumers = consumers.NewDefaultConfig()
	cfg.Kafka.Consumers.Enabled = true
	cfg.Kafka.Consumers.PollInterval = 50 * time.Millisecond
	cfg.Kafka.Consumers.StuckAfter = 300 * time.Millisecond
	traces, metrics := new(consumertest.TracesSink), new(consumertest.MetricsSink)
	startWithMetrics(t, cfg, traces, metrics)

	sc := sarama.NewConfig()
	sc.Version = sarama.V2_1_0_0
	admin, err := sarama.NewClient(addrs, sc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	commitAt(t, admin, "stopped", first)
	commitAt(t, admin, "rewind", first)
	fastGroup(t, addrs, "fast")

	// Baselines: every group seen with everything of round one settled.
	lagIs := func(group string, want float64) func() bool {
		return func() bool { v, ok := lastPoint(metrics, consumers.MetricLagMessages, group); return ok && v == want }
	}
	for _, g := range []string{"fast", "stopped", "rewind"} {
		require.Eventually(t, lagIs(g, 0), waitFor, tick, "baseline of %s", g)
	}
	send(first, total)
	require.Eventually(t, lagIs("stopped", total-first), waitFor, tick)
	require.Eventually(t, lagIs("fast", 0), waitFor, tick)

	commitAt(t, admin, "rewind", total)
	require.Eventually(t, lagIs("rewind", 0), waitFor, tick)
	commitAt(t, admin, "rewind", 2) // offsets reset backwards
	require.Eventually(t, lagIs("rewind", total-2), waitFor, tick)
	commitAt(t, admin, "rewind", total)
	require.Eventually(t, lagIs("rewind", 0), waitFor, tick)

	// The stopped group: its lag ages, its messages are counted stuck.
	age1, _ := lastPoint(metrics, consumers.MetricLagAge, "stopped")
	require.Eventually(t, func() bool {
		age2, _ := lastPoint(metrics, consumers.MetricLagAge, "stopped")
		stuck, _ := lastPoint(metrics, consumers.MetricStuck, "stopped")
		return age2 > age1+0.2 && stuck == total-first
	}, waitFor, tick)

	// Settle spans: one per message of round two and group that settled it.
	perGroup := map[string]map[string]int{}
	parentOf := map[string]string{}
	for _, s := range allSpans(traces) {
		if attr(s, "messaging.operation.type") != "settle" {
			continue
		}
		g := attr(s, "messaging.consumer.group.name")
		if perGroup[g] == nil {
			perGroup[g] = map[string]int{}
		}
		off := attr(s, "messaging.kafka.offset")
		perGroup[g][off]++
		parentOf[g+"/"+off] = s.ParentSpanID().String()
		assert.Equal(t, "commit orders", s.Name())
		assert.Equal(t, "commit", attr(s, "messaging.operation.name"))
		assert.False(t, s.EndTimestamp() < s.StartTimestamp())
	}
	assert.Empty(t, perGroup["stopped"], "the stopped group settled nothing")
	assert.Empty(t, perGroup[cfg.Kafka.GroupID], "the tap's own group is not watched")
	for _, g := range []string{"fast", "rewind"} {
		for i := first; i < total; i++ {
			off := fmt.Sprint(i)
			assert.Equal(t, 1, perGroup[g][off], "group %s offset %d: one settle span", g, i)
			assert.Equal(t, producerContext(i, true).SpanID.String(), parentOf[g+"/"+off], "parent of %s/%d", g, i)
		}
	}
	assert.Len(t, perGroup["rewind"], total-first, "the rewind yields no second settle span")
	n, _ := lastPoint(metrics, consumers.MetricTimeInQueue, "rewind")
	assert.Equal(t, float64(total-first), n, "time_in_queue counts each settle once")
}
