package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// consumerPoint is the newest value of one consumer metric for group billing on orders/0.
type consumerPoint struct {
	found bool
	gauge float64
	count uint64
}

// latestConsumerPoint reads the newest data point of metric for the group
// from what the sink received.
func latestConsumerPoint(exports []pmetric.Metrics, metric, group string) consumerPoint {
	var p consumerPoint
	for _, md := range exports {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != metric {
						continue
					}
					switch m.Type() {
					case pmetric.MetricTypeGauge:
						for _, dp := range m.Gauge().DataPoints().All() {
							if g, ok := dp.Attributes().Get("messaging.consumer.group.name"); ok && g.Str() == group {
								p = consumerPoint{found: true, gauge: dp.DoubleValue() + float64(dp.IntValue())}
							}
						}
					case pmetric.MetricTypeHistogram:
						for _, dp := range m.Histogram().DataPoints().All() {
							if g, ok := dp.Attributes().Get("messaging.consumer.group.name"); ok && g.Str() == group {
								p = consumerPoint{found: true, count: dp.Count(), gauge: dp.Sum()}
							}
						}
					}
				}
			}
		}
	}
	return p
}

// TestConsumersHeldBackGroup runs the built binary with testdata/e2e-consumers.yaml: an
// application group `billing` reads all ten messages of `orders` but commits past only
// four of them, on purpose, and stays in the group. The gateway must export one settle
// span per settled message and, through its metrics pipeline, a lag of six messages, a
// positive lag age and a time-in-queue histogram of four messages.
func TestConsumersHeldBackGroup(t *testing.T) {
	orders := harness.Topic{Name: "orders", Partitions: 1}
	kafka := startKafka(t, orders)
	sink, err := harness.StartMetricsSink()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sink.Stop() })
	gw := startGatewayEnv(t, "e2e-consumers.yaml", kafka, []string{"OTELCOL_MSG_METRICS_URL=" + sink.URL()})

	const messages, settled = 10, 4
	var records []*kgo.Record
	for i := range messages {
		records = append(records, tracedRecord(orders.Name, 0, i+1, newProducerContext(i+1, true)))
	}
	produce(t, kafka, records...)

	app, err := kgo.NewClient(
		kgo.SeedBrokers(kafka.Brokers()...),
		kgo.ConsumerGroup("billing"),
		kgo.ConsumeTopics(orders.Name),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)
	require.NoError(t, err)
	t.Cleanup(app.Close)

	ctx, cancel := context.WithTimeout(context.Background(), spanDeadline)
	defer cancel()
	var got []*kgo.Record
	for len(got) < messages {
		fetches := app.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "billing read %d of %d messages", len(got), messages)
		got = append(got, fetches.Records()...)
	}
	// The gateway first sees the group as a member without commits (its
	// baseline), then the commit of the first four: only those are settled.
	require.NoError(t, gw.WaitLog(ctx, "kafka consumers: group watched"), "log:\n%s", gw.LogTail(20))
	require.NoError(t, app.CommitRecords(ctx, got[settled-1]))

	// One settle span per settled message, by group billing.
	td := waitForSpans(t, gw, func(td ptrace.Traces) bool {
		n := 0
		for _, r := range harness.Spans(td) {
			if op, ok := r.Span.Attributes().Get("messaging.operation.type"); ok && op.Str() == "settle" {
				n++
			}
		}
		return n >= settled
	})
	var settles int
	for _, r := range harness.Spans(td) {
		if op, ok := r.Span.Attributes().Get("messaging.operation.type"); ok && op.Str() == "settle" {
			g, _ := r.Span.Attributes().Get("messaging.consumer.group.name")
			require.Equal(t, "billing", g.Str())
			require.Equal(t, "commit orders", r.Span.Name())
			settles++
		}
	}
	require.Equal(t, settled, settles, "settle spans only for the messages the group committed past")

	// The metrics of the held-back group, as the metrics pipeline exported them.
	var lag, age, queue consumerPoint
	require.Eventually(t, func() bool {
		exports := sink.Metrics()
		lag = latestConsumerPoint(exports, "msgtrace.consumer.lag.messages", "billing")
		age = latestConsumerPoint(exports, "msgtrace.consumer.lag.age", "billing")
		queue = latestConsumerPoint(exports, "msgtrace.consumer.time_in_queue", "billing")
		return lag.found && lag.gauge == messages-settled && queue.count == settled
	}, spanDeadline, 100*time.Millisecond, "consumer metrics of billing: lag %+v, time in queue %+v\ngateway log:\n%s", lag, queue, gw.LogTail(20))
	require.True(t, age.found)
	require.Greater(t, age.gauge, 0.0, "the oldest unsettled message has an age")
	require.Greater(t, queue.gauge, 0.0, "the settled messages waited")
}
