package msgtracereceiver

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/natssource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// Integration test against the local NATS server with JetStream (127.0.0.1:4222).

func natsMsg(subject string, c brokerCase) *nats.Msg {
	h := nats.Header{"message_id": {c.id}}
	if c.correlation != "" {
		h.Set("correlation_id", c.correlation)
	}
	if c.traceparent != "" {
		h.Set("traceparent", c.traceparent)
	}
	if c.baggage != "" {
		h.Set("baggage", c.baggage)
	}
	return &nats.Msg{Subject: subject, Header: h, Data: []byte("{}")}
}

// Core subjects and a JetStream stream through the factory, through a
// proxy the test cuts: core spans recover once resubscribed, and stream
// messages stored meanwhile are all seen, with stream/sequence identities.
func TestNATSReceiver(t *testing.T) {
	sourcetest.RequireReachable(t, "NATS", sourcetest.NATSAddr)
	nc, err := nats.Connect("nats://" + sourcetest.NATSAddr)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := context.Background()

	root := sourcetest.Unique("orders")
	coreSubject := root + ".core.created"
	stream := strings.ToUpper(root)
	jsSubject := root + ".js.created"
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{root + ".js.>"}, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), stream) })

	proxy := sourcetest.StartProxy(t, "127.0.0.1:0", sourcetest.NATSAddr)
	cfg := createDefaultConfig().(*Config)
	cfg.IncludeBaggage = true // checkBrokerSpans checks baggage
	n := natssource.NewDefaultConfig()
	n.Servers = []string{"nats://" + proxy.Addr()}
	n.Subjects = []string{root + ".core.>"}
	n.JetStream.Streams = []natssource.StreamConfig{{Name: stream}}
	n.Reconnect.InitialInterval = 50 * time.Millisecond
	cfg.NATS = n
	sink := new(consumertest.TracesSink)
	startReceiver(t, cfg, sink)

	publishCore := func(c brokerCase) { require.NoError(t, nc.PublishMsg(natsMsg(coreSubject, c))) }
	seqs := map[string]uint64{}
	publishJS := func(c brokerCase) {
		ack, err := js.PublishMsg(ctx, natsMsg(jsSubject, c))
		require.NoError(t, err)
		seqs[c.id] = ack.Sequence
	}
	coreIdentity := func(id string) string { return "nats/core/" + coreSubject + "/id/" + id }
	jsIdentity := func(id string) string { return "nats/js//" + stream + "/" + strconv.FormatUint(seqs[id], 10) }

	probeUntilSeen(t, sink, "probe", func(id string) { publishCore(brokerCase{id: id}) })
	var ids []string
	for _, c := range brokerScenario() {
		publishCore(c)
		ids = append(ids, c.id)
	}
	waitReceived(t, sink, ids...)
	checkBrokerSpans(t, sink, "nats", coreSubject, coreIdentity)

	proxy.Cut()
	sink.Reset()
	// Stored while the tap is cut off: the ordered consumer goes on after
	// the last sequence it delivered.
	for _, c := range brokerScenario() {
		publishJS(c)
	}
	waitReceived(t, sink, ids...)
	checkBrokerSpans(t, sink, "nats", jsSubject, jsIdentity)
	for _, spans := range receiveSpans(sink) {
		for _, s := range spans {
			assert.Equal(t, jsSubject, attr(s, "messaging.destination.name"))
		}
	}

	// Core NATS keeps nothing for an absent subscriber: probe until the
	// subscription is back, then every case arrives.
	probeUntilSeen(t, sink, "after", func(id string) { publishCore(brokerCase{id: id}) })
	sink.Reset()
	for _, c := range brokerScenario() {
		publishCore(c)
	}
	waitReceived(t, sink, ids...)
	checkBrokerSpans(t, sink, "nats", coreSubject, coreIdentity)
}
