package msgtracereceiver

import (
	"context"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/metadatatest"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/natssource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// observedPoints returns the data points of messages_observed.
func observedPoints(t *testing.T, tt *componenttest.Telemetry) []metricdata.DataPoint[int64] {
	t.Helper()
	m, err := tt.GetMetric("otelcol_msgtrace_receiver_messages_observed")
	require.NoError(t, err)
	return m.Data.(metricdata.Sum[int64]).DataPoints
}

// 10 000 distinct subjects behind one `>` subscription make one series of
// messages_observed, labelled with the subscription, not 10 000.
func TestObservedSeriesBoundedByNATSSubjects(t *testing.T) {
	sourcetest.RequireReachable(t, "NATS", sourcetest.NATSAddr)
	nc, err := nats.Connect("nats://" + sourcetest.NATSAddr)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	root := sourcetest.Unique("cardinality")
	filter := root + ".>"

	cfg := createDefaultConfig().(*Config)
	n := natssource.NewDefaultConfig()
	n.Servers = []string{"nats://" + sourcetest.NATSAddr}
	n.Subjects = []string{filter}
	cfg.NATS = n
	sink := new(consumertest.TracesSink)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	startReceiverWith(t, cfg, sink, componenttest.NewNopHost(), metadatatest.NewSettings(tt))

	probeUntilSeen(t, sink, "probe", func(id string) {
		require.NoError(t, nc.PublishMsg(natsMsg(root+".probe", brokerCase{id: id})))
	})
	before := observedPoints(t, tt)[0].Value
	// Core NATS drops what a slow subscriber cannot take: publish in
	// chunks the tap is given time to read, so every message is counted.
	const subjects, chunk = 10000, 500
	for from := 0; from < subjects; from += chunk {
		for i := from; i < from+chunk; i++ {
			require.NoError(t, nc.PublishMsg(&nats.Msg{Subject: root + ".order." + strconv.Itoa(i), Data: []byte("{}")}))
		}
		require.NoError(t, nc.Flush())
		want := before + int64(from+chunk)
		require.Eventually(t, func() bool {
			p := observedPoints(t, tt)
			// >=: a late probe may be counted too.
			return len(p) == 1 && p[0].Value >= want
		}, sourcetest.WaitLimit, tick, "every message counted, in one series")
	}
	metadatatest.AssertEqualMsgtraceReceiverMessagesObserved(t, tt, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("messaging.system", "nats"), attribute.String("subscription", filter)),
	}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
}

// A Kafka regex entry labels every topic it matches with the regex.
func TestObservedSeriesBoundedByKafkaRegex(t *testing.T) {
	topics := []string{"app.a", "app.b", "app.c"}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(testClusterID), kfake.SeedTopics(1, append(topics, "orders")...))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	sink := new(consumertest.TracesSink)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	startReceiverWith(t, kafkaConfig(addrs, `^app\.`, "orders"), sink, componenttest.NewNopHost(), metadatatest.NewSettings(tt))
	p := producer(t, addrs)
	for _, topic := range append(topics, "orders") {
		produce(t, p, record(topic, 0))
	}
	require.Eventually(t, func() bool { return sink.SpanCount() >= 8 }, waitFor, tick) // rebuilt send + receive each
	points := observedPoints(t, tt)
	got := map[string]int64{}
	for _, dp := range points {
		v, _ := dp.Attributes.Value("subscription")
		got[v.AsString()] = dp.Value
		_, hasDest := dp.Attributes.Value("messaging.destination.name")
		assert.False(t, hasDest, "no destination label")
	}
	assert.Equal(t, map[string]int64{`^app\.`: 3, "orders": 1}, got)
}

// The same through the pipeline alone: 10 000 destinations of one
// subscription (here a Kafka regex) make one series.
func TestObservedSeriesBoundedByDestinations(t *testing.T) {
	next := new(consumertest.TracesSink)
	deliver, tt := newTestDeliver(t, next, nil)
	const topics = 10000
	for i := range topics {
		topic := "orders." + strconv.Itoa(i)
		require.NoError(t, deliver(context.Background(), []message.Message{{
			System: "kafka", Destination: topic, Subscription: `^orders\.`, Partition: "0", Identity: "c/" + topic + "/0/0",
		}}))
	}
	metadatatest.AssertEqualMsgtraceReceiverMessagesObserved(t, tt, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("messaging.system", "kafka"), attribute.String("subscription", `^orders\.`)),
		Value:      topics,
	}}, metricdatatest.IgnoreTimestamp())
}
