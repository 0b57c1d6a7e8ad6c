package msgtracereceiver

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/redissource"
)

// eventHost records every status event a receiver reports.
type eventHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func (h *eventHost) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

func (h *eventHost) last() *componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == 0 {
		return nil
	}
	return h.events[len(h.events)-1]
}

// The worst status of the sources is reported, naming the failing one; a
// healthy source reporting OK later does not hide it.
func TestSourceStatusReportsWorst(t *testing.T) {
	host := &eventHost{Host: componenttest.NewNopHost()}
	st := newSourceStatus(host)
	kafka, rabbit := st.hostFor("kafka"), st.hostFor("rabbitmq")

	componentstatus.ReportStatus(kafka, componentstatus.NewEvent(componentstatus.StatusOK))
	require.Equal(t, componentstatus.StatusOK, host.last().Status())

	componentstatus.ReportStatus(rabbit, componentstatus.NewRecoverableErrorEvent(errors.New("rabbitmq: connection refused")))
	componentstatus.ReportStatus(kafka, componentstatus.NewEvent(componentstatus.StatusOK)) // a rebalance
	last := host.last()
	require.Equal(t, componentstatus.StatusRecoverableError, last.Status())
	assert.ErrorContains(t, last.Err(), "rabbitmq source: rabbitmq: connection refused")

	componentstatus.ReportStatus(kafka, componentstatus.NewRecoverableErrorEvent(errors.New("kafka: session failed")))
	last = host.last()
	require.Equal(t, componentstatus.StatusRecoverableError, last.Status())
	assert.ErrorContains(t, last.Err(), "kafka source: kafka: session failed")
	assert.ErrorContains(t, last.Err(), "rabbitmq source:", "both failing sources are named")

	componentstatus.ReportStatus(kafka, componentstatus.NewPermanentErrorEvent(errors.New("kafka: bad group")))
	last = host.last()
	require.Equal(t, componentstatus.StatusPermanentError, last.Status())
	assert.NotContains(t, last.Err().Error(), "rabbitmq", "only the sources in the worst state are named")

	n := len(host.events)
	componentstatus.ReportStatus(kafka, componentstatus.NewPermanentErrorEvent(errors.New("kafka: bad group")))
	assert.Len(t, host.events, n, "an unchanged aggregate is not reported again")

	componentstatus.ReportStatus(rabbit, componentstatus.NewEvent(componentstatus.StatusOK))
	componentstatus.ReportStatus(kafka, componentstatus.NewEvent(componentstatus.StatusOK))
	assert.Equal(t, componentstatus.StatusOK, host.last().Status(), "all healthy again")
}

// A receiver with two sources, Kafka up and Redis down: once Kafka has
// joined its group and traced a message (and reported OK), the receiver's
// status is still Redis's recoverable error, naming it.
func TestMultiSourceStatusNamesFailingSource(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(testClusterID), kfake.SeedTopics(1, "orders"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there any more

	cfg := kafkaConfig(c.ListenAddrs(), "orders")
	cfg.Redis = redissource.NewDefaultConfig()
	cfg.Redis.Endpoint = deadAddr
	cfg.Redis.Channels = []string{"orders"}
	// One failed attempt, reported once, before Kafka's OK.
	cfg.Redis.Reconnect.InitialInterval = time.Minute
	cfg.Redis.Reconnect.MaxInterval = time.Minute

	sink := new(consumertest.TracesSink)
	host := &eventHost{Host: componenttest.NewNopHost()}
	startReceiverWithHost(t, cfg, sink, host)
	require.Eventually(t, func() bool {
		host.mu.Lock()
		defer host.mu.Unlock()
		for _, e := range host.events {
			if e.Err() != nil && strings.Contains(e.Err().Error(), "redis") {
				return true
			}
		}
		return false
	}, waitFor, tick)
	produce(t, producer(t, c.ListenAddrs()), record("orders", 0, "traceparent", traceparent.Format(producerContext(0, true))))
	require.Eventually(t, func() bool { return sink.SpanCount() == 1 }, waitFor, tick)

	last := host.last()
	require.NotNil(t, last)
	assert.Equal(t, componentstatus.StatusRecoverableError, last.Status(), "Kafka's OK must not hide Redis being down")
	assert.ErrorContains(t, last.Err(), "redis source: redis:")
}
