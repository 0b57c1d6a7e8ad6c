package msgtracereceiver

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadatatest"
)

// failingConsumer refuses the first `failures` calls with err.
type failingConsumer struct {
	consumertest.TracesSink
	failures int32
	calls    atomic.Int32
	err      error
}

func (f *failingConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (f *failingConsumer) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if f.calls.Add(1) <= f.failures {
		// Changes td as a failing processor might; the retry must not see it.
		td.ResourceSpans().RemoveIf(func(ptrace.ResourceSpans) bool { return true })
		return f.err
	}
	return f.TracesSink.ConsumeTraces(ctx, td)
}

func newTestDeliver(t *testing.T, next consumer.Traces, mutate func(*Config)) (message.Deliver, *componenttest.Telemetry) {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	cfg := createDefaultConfig().(*Config)
	cfg.RetryOnFailure.InitialInterval = time.Millisecond
	cfg.RetryOnFailure.MaxInterval = 5 * time.Millisecond
	if mutate != nil {
		mutate(cfg)
	}
	r, err := newReceiver(metadatatest.NewSettings(tt), cfg, next)
	require.NoError(t, err)
	set, err := r.settingsFor("kafka")
	require.NoError(t, err)
	return set.Deliver, tt
}

func testMessages(traceparent string) []message.Message {
	now := time.Now()
	return []message.Message{
		{System: "kafka", Destination: "orders", Subscription: "orders", Partition: "0", Identity: "c/orders/0/0", Timestamp: now, Observed: now, TraceParent: traceparent},
		{System: "kafka", Destination: "orders", Subscription: "orders", Partition: "0", Identity: "c/orders/0/1", Timestamp: now, Observed: now, TraceParent: traceparent},
	}
}

func TestDeliverRetriesUntilAccepted(t *testing.T) {
	next := &failingConsumer{failures: 3, err: errors.New("memory limiter: refusing")}
	deliver, tt := newTestDeliver(t, next, nil)
	require.NoError(t, deliver(context.Background(), testMessages("")))
	assert.Equal(t, int32(4), next.calls.Load())
	// The accepted attempt carries the full spans, not the failed attempt's leftovers.
	require.Len(t, next.AllTraces(), 1)
	assert.Equal(t, 4, next.AllTraces()[0].SpanCount())

	got, err := tt.GetMetric("otelcol_receiver_refused_spans")
	require.NoError(t, err)
	assert.Equal(t, int64(12), got.Data.(metricdata.Sum[int64]).DataPoints[0].Value, "3 refused attempts of 4 spans")
	got, err = tt.GetMetric("otelcol_receiver_accepted_spans")
	require.NoError(t, err)
	assert.Equal(t, int64(4), got.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
}

func TestDeliverPermanentErrorAcknowledges(t *testing.T) {
	next := &failingConsumer{failures: 1000, err: consumererror.NewPermanent(errors.New("bad data"))}
	deliver, tt := newTestDeliver(t, next, nil)
	require.NoError(t, deliver(context.Background(), testMessages("")))
	assert.Equal(t, int32(1), next.calls.Load(), "a permanent error is not retried")
	metadatatest.AssertEqualMsgtraceReceiverMessagesDropped(t, tt, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("messaging.system", "kafka"), attribute.String("reason", dropPermanent)),
		Value:      2,
	}}, metricdatatest.IgnoreTimestamp())
}

func TestDeliverReturnsErrorWhenContextEnds(t *testing.T) {
	next := &failingConsumer{failures: 1000, err: errors.New("exporter queue full")}
	deliver, _ := newTestDeliver(t, next, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- deliver(ctx, testMessages("")) }()
	require.Eventually(t, func() bool { return next.calls.Load() >= 3 }, 10*time.Second, time.Millisecond)
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled, "the source must not acknowledge")
	assert.Empty(t, next.AllTraces())
}

func TestDeliverRetryDisabledDrops(t *testing.T) {
	next := &failingConsumer{failures: 1000, err: errors.New("refused")}
	deliver, tt := newTestDeliver(t, next, func(c *Config) { c.RetryOnFailure.Enabled = false })
	require.NoError(t, deliver(context.Background(), testMessages("")))
	assert.Equal(t, int32(1), next.calls.Load())
	metadatatest.AssertEqualMsgtraceReceiverMessagesDropped(t, tt, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("messaging.system", "kafka"), attribute.String("reason", dropRetryDisabled)),
		Value:      2,
	}}, metricdatatest.IgnoreTimestamp())
}

func TestDeliverRetryExhaustedDrops(t *testing.T) {
	next := &failingConsumer{failures: 1000, err: errors.New("refused")}
	deliver, tt := newTestDeliver(t, next, func(c *Config) { c.RetryOnFailure.MaxElapsedTime = 20 * time.Millisecond })
	require.NoError(t, deliver(context.Background(), testMessages("")))
	assert.Greater(t, next.calls.Load(), int32(1))
	metadatatest.AssertEqualMsgtraceReceiverMessagesDropped(t, tt, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("messaging.system", "kafka"), attribute.String("reason", dropRetryExhaust)),
		Value:      2,
	}}, metricdatatest.IgnoreTimestamp())
}

// Unsampled messages are acknowledged without calling the next consumer;
// faults and observed messages are counted once per delivery.
func TestDeliverCountsObservedAndFaults(t *testing.T) {
	next := new(consumertest.TracesSink)
	deliver, tt := newTestDeliver(t, next, nil)
	require.NoError(t, deliver(context.Background(), testMessages("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")))
	assert.Empty(t, next.AllTraces())
	require.NoError(t, deliver(context.Background(), testMessages("garbage")))
	assert.Equal(t, 4, next.SpanCount())

	metadatatest.AssertEqualMsgtraceReceiverMessagesObserved(t, tt, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("messaging.system", "kafka"), attribute.String("subscription", "orders")),
		Value:      4,
	}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualMsgtraceReceiverFaults(t, tt, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("messaging.system", "kafka"), attribute.String("kind", "traceparent")),
		Value:      2,
	}}, metricdatatest.IgnoreTimestamp())
}
