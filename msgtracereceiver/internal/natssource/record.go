package natssource

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// System is the messaging.system of the source.
const System = "nats"

// Fault kinds reported through Telemetry.Fault.
const (
	faultHeader   = "header"   // a single-valued header (traceparent, ids) repeated with different values
	faultMetadata = "metadata" // a JetStream message whose reply subject carries no metadata
)

// spanHeaders are the headers a span needs; records keep only these.
var spanHeaders = [...]string{"traceparent", "tracestate", "baggage", "message_id", "correlation_id", jetstream.MsgIDHeader}

// keepSpanHeaders returns the headers of h that spans need (matched as
// headerValues does), so that a queued record holds nothing else.
func keepSpanHeaders(h nats.Header) nats.Header {
	if len(h) == 0 {
		return nil
	}
	var out nats.Header
	for k, vs := range h {
		for _, want := range spanHeaders {
			if strings.EqualFold(k, want) {
				if out == nil {
					out = make(nats.Header, len(spanHeaders))
				}
				out[k] = vs
				break
			}
		}
	}
	return out
}

// record is one observed message, taken from the client's message before
// it is handed to the batcher, so the batcher holds no client objects.
type record struct {
	subject string
	header  nats.Header
	size    int
	// stream, seq and stored are set for JetStream messages.
	stream  string
	domain  string
	seq     uint64
	stored  time.Time
	pending uint64
	// tap names the observation when nothing else identifies the message.
	tap string
	// subscription is the subject filter or stream the record came through.
	subscription string
	// cost is what the record counts in the pending queue's byte bound.
	cost int
	// ack is the message of a durable consumer, acknowledged once its
	// spans were accepted; nil otherwise.
	ack jetstream.Msg
}

func fromCore(m *nats.Msg) record {
	return record{subject: m.Subject, header: keepSpanHeaders(m.Header), size: len(m.Data), subscription: coreSubscription(m)}
}

// fromJetStream reads a message of an ordered consumer; a message without
// metadata is still reported, as a core message of its subject.
func fromJetStream(m jetstream.Msg, stream string) (record, error) {
	r := record{subject: m.Subject(), header: keepSpanHeaders(m.Headers()), size: len(m.Data()), stream: stream, subscription: stream}
	md, err := m.Metadata()
	if err != nil {
		return r, err
	}
	r.stream, r.domain, r.seq, r.stored, r.pending = md.Stream, md.Domain, md.Sequence.Stream, md.Timestamp, md.NumPending
	return r, nil
}

// headerValues returns a header's values. NATS header names are
// case-sensitive; W3C names are matched case-insensitively as a fallback.
func headerValues(h nats.Header, key string) []string {
	if vs, ok := h[key]; ok {
		return vs
	}
	for k, vs := range h {
		if strings.EqualFold(k, key) {
			return vs
		}
	}
	return nil
}

// single returns a single-valued header; ok is false when it repeats with
// different values (the first is kept).
func single(h nats.Header, key string) (v string, ok bool) {
	vs := headerValues(h, key)
	if len(vs) == 0 {
		return "", true
	}
	for _, other := range vs[1:] {
		if other != vs[0] {
			return vs[0], false
		}
	}
	return vs[0], true
}

// list returns a list-valued W3C header (tracestate, baggage): repeated
// headers are one list, as in HTTP.
func list(h nats.Header, key string) string {
	return strings.Join(headerValues(h, key), ",")
}

// identity names the message: stream and sequence for JetStream (a
// redelivery after a consumer reset keeps them), otherwise the subject and
// the message's own id, or the tap's observation when it has none.
func (r *record) identity(id string) string {
	var b strings.Builder
	b.WriteString("nats/")
	if r.seq != 0 {
		b.WriteString("js/")
		b.WriteString(url.PathEscape(r.domain))
		b.WriteByte('/')
		b.WriteString(url.PathEscape(r.stream))
		b.WriteByte('/')
		b.WriteString(strconv.FormatUint(r.seq, 10))
		return b.String()
	}
	b.WriteString("core/")
	b.WriteString(url.PathEscape(r.subject))
	if id != "" {
		b.WriteString("/id/")
		b.WriteString(url.PathEscape(id))
	} else {
		b.WriteString("/tap/")
		b.WriteString(r.tap)
	}
	return b.String()
}

// toMessage builds the broker-neutral message; it reports the headers that
// were ambiguous.
func (r *record) toMessage(observed time.Time, host string, port int) (message.Message, []string) {
	var bad []string
	get := func(key string) string {
		v, ok := single(r.header, key)
		if !ok {
			bad = append(bad, key)
		}
		return v
	}
	// FastStream puts message_id and correlation_id in headers; JetStream's
	// de-duplication id is the next best message id.
	id := get("message_id")
	if id == "" {
		id = get(jetstream.MsgIDHeader)
	}
	m := message.Message{
		System:         System,
		Destination:    r.subject,
		Subscription:   r.subscription,
		ID:             id,
		ConversationID: get("correlation_id"),
		Timestamp:      r.stored,
		Observed:       observed,
		BodySize:       r.size,
		TraceParent:    get("traceparent"),
		TraceState:     list(r.header, "tracestate"),
		Baggage:        list(r.header, "baggage"),
		ServerAddress:  host,
		ServerPort:     port,
	}
	m.Identity = r.identity(id)
	return m, bad
}
