package kafkasource

import (
	"context"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// Header names read from records. FastStream writes message_id and
// correlation_id; the W3C ones are written by every OTel propagator.
const (
	headerTraceParent   = "traceparent"
	headerTraceState    = "tracestate"
	headerBaggage       = "baggage"
	headerMessageID     = "message_id"
	headerCorrelationID = "correlation_id"
)

// faultTimestamp is the fault kind of a record without a timestamp.
const faultTimestamp = "timestamp"

// attrsPerRecord bounds the system attributes of one record: offset, key,
// tombstone.
const attrsPerRecord = 3

// handler is the sarama.ConsumerGroupHandler of the source.
type handler struct {
	src       *Source
	client    sarama.Client
	clusterID string
	host      component.Host
}

// Setup runs when a session starts: the group is joined again, so a
// recoverable error reported earlier is over.
func (h *handler) Setup(sess sarama.ConsumerGroupSession) error {
	componentstatus.ReportStatus(h.host, componentstatus.NewEvent(componentstatus.StatusOK))
	h.src.logger.Debug("kafka partitions assigned", zap.Any("claims", sess.Claims()))
	return nil
}

// Cleanup commits what was marked before the session's partitions go to
// another member (or the tap stops).
func (h *handler) Cleanup(sess sarama.ConsumerGroupSession) error {
	sess.Commit()
	return nil
}

// ConsumeClaim reads one partition: it drains what the fetcher has ready,
// up to max_batch_size records, into one Deliver call and marks the offsets
// only when Deliver returned nil. When Deliver fails (the session ended
// while spans were being retried) nothing is marked and the records are
// read again by whoever owns the partition next.
func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := sess.Context()
	c := h.newClaim(claim)
	records := claim.Messages()
	maxBatch := h.src.cfg.MaxBatchSize
	batch := make([]message.Message, 0, min(maxBatch, 256))
	attrs := make([]attribute.KeyValue, 0, cap(batch)*attrsPerRecord)
	for {
		var rec *sarama.ConsumerMessage
		select {
		case r, ok := <-records:
			if !ok {
				return nil
			}
			rec = r
		case <-ctx.Done():
			return nil
		}
		// Draining is non-blocking, so one clock reading is when the gateway
		// saw every record of the batch.
		now := time.Now()
		batch, attrs = batch[:0], attrs[:0]
		last := rec
		batch, attrs = c.appendMessage(ctx, batch, attrs, rec, now)
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-records:
				if !ok {
					break drain
				}
				last = r
				batch, attrs = c.appendMessage(ctx, batch, attrs, r, now)
			default:
				break drain
			}
		}
		if err := h.src.set.Deliver(ctx, batch); err != nil {
			return nil
		}
		sess.MarkOffset(c.topic, c.partition, last.Offset+1, "")
		c.recordLag(ctx, claim.HighWaterMarkOffset()-last.Offset-1)
	}
}

// claim holds what is the same for every record of one partition.
type claim struct {
	h         *handler
	topic     string
	partition int32
	partStr   string
	idPrefix  string
	address   string
	port      int
}

func (h *handler) newClaim(cl sarama.ConsumerGroupClaim) *claim {
	c := &claim{h: h, topic: cl.Topic(), partition: cl.Partition()}
	c.partStr = strconv.FormatInt(int64(c.partition), 10)
	c.idPrefix = h.clusterID + "/" + c.topic + "/" + c.partStr + "/"
	if b, err := h.client.Leader(c.topic, c.partition); err == nil {
		host, port, splitErr := net.SplitHostPort(b.Addr())
		if splitErr == nil {
			c.address = host
			c.port, _ = strconv.Atoi(port)
		}
	}
	return c
}

// appendMessage converts a record. attrs is the backing store of the
// messages' Attributes, so a batch costs one allocation, not one per record.
func (c *claim) appendMessage(ctx context.Context, batch []message.Message, attrs []attribute.KeyValue, r *sarama.ConsumerMessage, observed time.Time) ([]message.Message, []attribute.KeyValue) {
	ts := r.Timestamp
	if ts.IsZero() || ts.Unix() <= 0 {
		// Every record since Kafka 0.10 has a timestamp; -1 means the
		// producer wrote none. The span model then uses the observed time.
		c.h.src.set.Telemetry.Fault(ctx, System, faultTimestamp)
		ts = time.Time{}
	}
	m := message.Message{
		System:        System,
		Destination:   c.topic,
		Partition:     c.partStr,
		Identity:      c.idPrefix + strconv.FormatInt(r.Offset, 10),
		Timestamp:     ts,
		Observed:      observed,
		BodySize:      len(r.Value),
		ConsumerGroup: c.h.src.cfg.GroupID,
		ServerAddress: c.address,
		ServerPort:    c.port,
	}
	for _, hd := range r.Headers {
		if hd == nil {
			continue
		}
		switch k := string(hd.Key); {
		case strings.EqualFold(k, headerTraceParent):
			m.TraceParent = string(hd.Value)
		case strings.EqualFold(k, headerTraceState):
			m.TraceState = string(hd.Value)
		case strings.EqualFold(k, headerBaggage):
			m.Baggage = string(hd.Value)
		case strings.EqualFold(k, headerMessageID):
			m.ID = string(hd.Value)
		case strings.EqualFold(k, headerCorrelationID):
			m.ConversationID = string(hd.Value)
		}
	}
	start := len(attrs)
	attrs = append(attrs, semconv.MessagingKafkaOffset(int(r.Offset)))
	if c.h.src.cfg.IncludeMessageKey && r.Key != nil && utf8.Valid(r.Key) {
		// semconv: a key without a canonical string form is not recorded.
		attrs = append(attrs, semconv.MessagingKafkaMessageKey(string(r.Key)))
	}
	if r.Value == nil {
		attrs = append(attrs, semconv.MessagingKafkaMessageTombstone(true))
	}
	m.Attributes = attrs[start:len(attrs):len(attrs)]
	return append(batch, m), attrs
}

func (c *claim) recordLag(ctx context.Context, lag int64) {
	if lag < 0 {
		lag = 0
	}
	tel := c.h.src.set.Telemetry
	if pl, ok := tel.(message.PartitionLagger); ok {
		pl.PartitionLag(ctx, System, c.topic, c.partStr, lag)
		return
	}
	tel.Lag(ctx, System, c.topic, lag)
}
