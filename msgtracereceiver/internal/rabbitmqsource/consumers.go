package rabbitmqsource

import (
	"context"
	"errors"
	"slices"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// settleOperation is messaging.operation.name of RabbitMQ settle spans:
// the firehose shows the delivery to a queue's consumer, never its ack.
const settleOperation = "deliver"

// newTracker returns the consumers tracker of a block with consumers
// enabled, nil otherwise. Groups are queues; the tap's own is never watched.
func newTracker(cfg *Config, set message.Settings) (*consumers.Tracker, error) {
	if !cfg.Consumers.Enabled {
		return nil, nil
	}
	return consumers.New(consumers.Settings{
		System:        System,
		OperationName: settleOperation,
		Config:        cfg.Consumers,
		OwnGroup:      cfg.Queue.Name,
		Source:        set,
	})
}

// validateConsumers reports a consumers block that sees nothing: only the
// firehose's deliver events tell deliveries to the applications' queues.
func (c *Config) validateConsumers() error {
	if c.Consumers.Enabled && (c.Mode != ModeFirehose || !slices.Contains(c.Firehose.Events, EventDeliver)) {
		return errors.New("consumers::enabled needs mode firehose with deliver in firehose::events")
	}
	return nil
}

// settle reports a firehose deliver event as the settle of the message by
// the queue it was delivered to, dated when the tap saw the event. A
// redelivery is not settled again: its settle span would repeat the first
// one's IDs (a settle is a delivery here; the ack is not visible).
func (s *source) settle(o *observation, redelivered bool, m *message.Message) {
	if s.tracker == nil || o.event != EventDeliver || redelivered {
		return
	}
	s.tracker.Settled(o.queue, *m, m.Observed)
}

// flushSettles sends the settle spans and consumer metrics every
// consumers.poll_interval until ctx ends; the settles themselves come with
// the deliver events.
func (s *source) flushSettles(ctx context.Context) {
	if s.tracker == nil {
		return
	}
	t := time.NewTicker(s.cfg.Consumers.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.tracker.Flush(context.Background(), time.Now())
			return
		case <-t.C:
			s.tracker.Flush(ctx, time.Now())
		}
	}
}

// firehoseRedelivered reads the redelivered flag the firehose puts on a
// deliver event (the application's delivery; the trace message's own flag
// is the tap's). rabbit_trace writes it as a signed int, 1 for a delivery
// of a requeued message (nack, reject, recover, a closed channel's unacked
// messages), on classic and quorum queues alike; other integer and boolean
// encodings are read too.
func firehoseRedelivered(d *amqp.Delivery) bool {
	switch v := d.Headers["redelivered"].(type) {
	case bool:
		return v
	case int8:
		return v != 0
	case int16:
		return v != 0
	case int32:
		return v != 0
	case int64:
		return v != 0
	case uint8:
		return v != 0
	}
	return false
}
