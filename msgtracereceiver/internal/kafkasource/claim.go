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

// Setup runs when a session starts: the start offsets of partitions without
// a committed one are fixed (startOffsets), and the group is joined again,
// so a recoverable error reported earlier is over.
func (h *handler) Setup(sess sarama.ConsumerGroupSession) error {
	if err := h.startOffsets(sess); err != nil {
		return err
	}
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

// ConsumeClaim reads one partition into batches of up to max_batch_size
// records and hands each to Deliver, marking its offsets only when Deliver
// returned nil. Two batches take turns: while one is delivered (its spans
// built and accepted downstream) the next is read from the partition, so
// span building does not hold up the fetcher. Batches are delivered and
// marked in order by one goroutine. When Deliver fails (the session ended
// while spans were being retried) nothing more is marked, and the records
// are read again by whoever owns the partition next.
func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()
	c := h.newClaim(claim)
	maxBatch := h.src.cfg.MaxBatchSize
	free := make(chan *batch, 2)
	free <- newBatch(min(maxBatch, 256))
	free <- newBatch(min(maxBatch, 256))
	full := make(chan *batch)
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		for b := range full {
			if ctx.Err() != nil {
				continue // a batch after a failed one is never marked
			}
			msgs := b.seal()
			h.src.observe(msgs)
			if err := h.src.set.Deliver(ctx, msgs); err != nil {
				cancel()
				continue
			}
			sess.MarkOffset(c.topic, c.partition, b.last+1, "")
			c.recordLag(ctx, claim.HighWaterMarkOffset()-b.last-1)
			free <- b
		}
	}()
	defer func() {
		close(full)
		<-delivered
	}()
	records := claim.Messages()
	for {
		var b *batch
		select {
		case b = <-free:
		case <-ctx.Done():
			return nil
		}
		b.reset()
		// The first record of a batch is waited for; then whatever the
		// fetcher has ready joins it, and more while the previous batch is
		// still being delivered, up to max_batch_size.
		select {
		case r, ok := <-records:
			if !ok {
				return nil
			}
			c.addReady(ctx, b, r, records, maxBatch)
		case <-ctx.Done():
			return nil
		}
		for sent := false; !sent; {
			in := records
			if b.len() >= maxBatch {
				in = nil
			}
			select {
			case full <- b:
				sent = true
			case r, ok := <-in:
				if !ok {
					full <- b // deliver what was read before the claim closed
					return nil
				}
				c.addReady(ctx, b, r, records, maxBatch)
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// addReady adds r and then every record the fetcher already has ready, up
// to limit records in b. The draining does not block, so one clock reading
// is when the gateway saw them all.
func (c *claim) addReady(ctx context.Context, b *batch, r *sarama.ConsumerMessage, records <-chan *sarama.ConsumerMessage, limit int) {
	now := time.Now()
	c.add(ctx, b, r, now)
	for b.len() < limit {
		select {
		case r, ok := <-records:
			if !ok {
				return
			}
			c.add(ctx, b, r, now)
		default:
			return
		}
	}
}

// claim holds what is the same for every record of one partition: the
// messages of a batch share these strings instead of copying them.
type claim struct {
	h         *handler
	topic     string
	partition int32
	partStr   string
	idPrefix  string
	// subscription is the `topics` entry the partition is tapped for.
	subscription string
	address      string
	port         int
}

func (h *handler) newClaim(cl sarama.ConsumerGroupClaim) *claim {
	c := &claim{h: h, topic: cl.Topic(), partition: cl.Partition()}
	c.partStr = strconv.FormatInt(int64(c.partition), 10)
	c.subscription = h.src.matcher.subscription(c.topic)
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

// batch is the messages of one Deliver call. Its buffers are reused from
// one call to the next, and the per-record values that only live while the
// spans are built (identity, traceparent) are written into one byte buffer
// and turned into a single string by seal: a batch of records costs a few
// allocations, not several per record.
type batch struct {
	msgs  []message.Message
	attrs []attribute.KeyValue // backing store of the messages' Attributes
	text  []byte
	refs  []textRef // per message, where its strings are in text
	last  int64     // offset of the last record added
}

// textRef locates a message's identity and traceparent in batch.text.
type textRef struct{ id, tp [2]int }

func newBatch(n int) *batch {
	return &batch{
		msgs:  make([]message.Message, 0, n),
		attrs: make([]attribute.KeyValue, 0, n*attrsPerRecord),
		refs:  make([]textRef, 0, n),
	}
}

func (b *batch) reset() {
	b.msgs, b.attrs, b.text, b.refs = b.msgs[:0], b.attrs[:0], b.text[:0], b.refs[:0]
}

func (b *batch) len() int { return len(b.msgs) }

// seal sets the messages' Identity and TraceParent and returns them. The
// strings share one allocation; spans never keep them (they are hashed and
// parsed), so the batch's text is garbage once Deliver returned.
func (b *batch) seal() []message.Message {
	text := string(b.text)
	for i := range b.msgs {
		r := &b.refs[i]
		b.msgs[i].Identity = text[r.id[0]:r.id[1]]
		b.msgs[i].TraceParent = text[r.tp[0]:r.tp[1]]
	}
	return b.msgs
}

// add converts a record and appends it to b; Identity and TraceParent are
// set by b.seal.
func (c *claim) add(ctx context.Context, b *batch, r *sarama.ConsumerMessage, observed time.Time) {
	ts := r.Timestamp
	if ts.IsZero() || ts.Unix() <= 0 {
		// Every record since Kafka 0.10 has a timestamp; -1 means the
		// producer wrote none. The span model then uses the observed time.
		c.h.src.set.Telemetry.Fault(ctx, System, faultTimestamp)
		if ce := c.h.src.logger.Check(zap.DebugLevel, "kafka record without a usable timestamp, using the observed time"); ce != nil {
			ce.Write(zap.String("identity", c.idPrefix+strconv.FormatInt(r.Offset, 10)), zap.Time("timestamp", r.Timestamp))
		}
		ts = time.Time{}
	}
	// Built in place: a Message is a few hundred bytes.
	b.msgs = append(b.msgs, message.Message{
		System:        System,
		Destination:   c.topic,
		Subscription:  c.subscription,
		Partition:     c.partStr,
		Timestamp:     ts,
		Observed:      observed,
		BodySize:      len(r.Value),
		ConsumerGroup: c.h.src.cfg.GroupID,
		ServerAddress: c.address,
		ServerPort:    c.port,
	})
	m := &b.msgs[len(b.msgs)-1]
	var ref textRef
	ref.id[0] = len(b.text)
	b.text = strconv.AppendInt(append(b.text, c.idPrefix...), r.Offset, 10)
	ref.id[1] = len(b.text)
	var traceParent []byte
	for _, hd := range r.Headers {
		if hd == nil {
			continue
		}
		// One pass, no string per key: only a key of a known header's
		// length is compared, case-insensitively. A repeated header: the
		// last one counts, as in the OTel Kafka propagation getters.
		switch k := hd.Key; {
		case isHeader(k, headerTraceParent):
			traceParent = hd.Value
		case isHeader(k, headerTraceState):
			m.TraceState = string(hd.Value)
		case isHeader(k, headerBaggage):
			m.Baggage = string(hd.Value)
		case isHeader(k, headerMessageID):
			m.ID = string(hd.Value)
		case isHeader(k, headerCorrelationID):
			m.ConversationID = string(hd.Value)
		}
	}
	ref.tp[0] = len(b.text)
	b.text = append(b.text, traceParent...)
	ref.tp[1] = len(b.text)

	start := len(b.attrs)
	b.attrs = append(b.attrs, semconv.MessagingKafkaOffset(int(r.Offset)))
	if c.h.src.cfg.IncludeMessageKey && r.Key != nil && utf8.Valid(r.Key) {
		// semconv: a key without a canonical string form is not recorded.
		b.attrs = append(b.attrs, semconv.MessagingKafkaMessageKey(string(r.Key)))
	}
	if r.Value == nil {
		b.attrs = append(b.attrs, semconv.MessagingKafkaMessageTombstone(true))
	}
	m.Attributes = b.attrs[start:len(b.attrs):len(b.attrs)]
	b.refs = append(b.refs, ref)
	b.last = r.Offset
}

// isHeader reports whether key names the header name, ignoring case.
func isHeader(key []byte, name string) bool {
	return len(key) == len(name) && strings.EqualFold(string(key), name)
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
