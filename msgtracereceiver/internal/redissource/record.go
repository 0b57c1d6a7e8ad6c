package redissource

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/fsenvelope"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// System is the messaging.system of the source.
const System = "redis"

const (
	// dataField is the stream field FastStream keeps its envelope in.
	dataField = "__data__"
)

// Fault kinds reported through Telemetry.Fault.
const (
	faultEnvelope  = "envelope"  // a FastStream envelope that could not be read in full
	faultTimestamp = "timestamp" // a stream entry ID without a millisecond time
	faultFields    = "fields"    // stream entry fields that are not name/value pairs of strings
	// faultOversized (oversized.go): a stream entry beyond the caps even alone
)

// headers is what the source reads of a message's headers.
type headers interface {
	Get(key string) (string, bool)
}

// fieldHeaders are the fields of a stream entry without an envelope: a
// producer other than FastStream may put traceparent there directly.
type fieldHeaders []string

// Get returns the value of the first field named key.
func (f fieldHeaders) Get(key string) (string, bool) {
	for i := 0; i+1 < len(f); i += 2 {
		if f[i] == key {
			return f[i+1], true
		}
	}
	return "", false
}

func header(h headers, key string) string {
	if h == nil {
		return ""
	}
	v, _ := h.Get(key)
	return v
}

// fault is one problem with a message's wire data; the message is still reported.
type fault struct {
	kind string
	err  error
}

// fromPubSub builds the message of a Pub/Sub delivery. Pub/Sub has no
// message identity of its own: FastStream's message_id header names it, or
// else the tap's observation (tap).
func fromPubSub(m *redis.Message, tap string) (message.Message, []fault) {
	env, err := fsenvelope.Decode(m.Data)
	var faults []fault
	if err != nil {
		faults = append(faults, fault{faultEnvelope, err})
	}
	msg := base(env, env.BodySize)
	msg.Destination = m.Channel
	msg.Subscription = m.Channel
	if m.Pattern != "" {
		msg.Subscription = m.Pattern
	}
	var b strings.Builder
	b.WriteString("redis/channel/")
	b.WriteString(url.PathEscape(m.Channel))
	if msg.ID != "" {
		b.WriteString("/id/")
		b.WriteString(url.PathEscape(msg.ID))
	} else {
		b.WriteString("/tap/")
		b.WriteString(tap)
	}
	msg.Identity = b.String()
	if m.Pattern != "" {
		// The pattern is the low-cardinality name of what was subscribed.
		msg.Attributes = []attribute.KeyValue{semconv.MessagingDestinationTemplate(m.Pattern)}
	}
	return msg, faults
}

// fromStream builds the message of a stream entry: the stream and entry ID
// name it, and the entry ID holds its time.
func fromStream(db int, stream string, e *entry) (message.Message, []fault) {
	var (
		faults []fault
		h      headers
		size   int
	)
	if e.fault != nil {
		faults = append(faults, fault{faultFields, e.fault})
	}
	if data, ok := fieldHeaders(e.Fields).Get(dataField); ok {
		env, err := fsenvelope.Decode(data)
		if err != nil {
			faults = append(faults, fault{faultEnvelope, err})
		}
		h, size = env, env.BodySize
	} else {
		h = fieldHeaders(e.Fields)
		for _, f := range e.Fields {
			size += len(f)
		}
	}
	if o := e.oversized; o != nil {
		faults = append(faults, fault{faultOversized, o.err})
		if o.shape.Data < 0 {
			size = int(o.shape.Total) // the size fromStream gives an entry without an envelope
		} else {
			// The body inside the unread envelope is not known: its length
			// bounds it (the headers it also holds are small), where 0 would
			// tell of an empty message.
			size = int(o.shape.Data)
		}
	}
	msg := base(h, size)
	msg.Destination = stream
	msg.Subscription = stream
	if msg.ID == "" {
		msg.ID = e.ID
	}
	msg.Identity = "redis/" + strconv.Itoa(db) + "/stream/" + url.PathEscape(stream) + "/" + url.PathEscape(e.ID)
	ts, err := entryTime(e.ID)
	if err != nil {
		faults = append(faults, fault{faultTimestamp, err})
	}
	msg.Timestamp = ts
	return msg, faults
}

func base(h headers, size int) message.Message {
	return message.Message{
		System:         System,
		ID:             header(h, "message_id"),
		ConversationID: header(h, "correlation_id"),
		BodySize:       size,
		TraceParent:    header(h, "traceparent"),
		TraceState:     header(h, "tracestate"),
		Baggage:        header(h, "baggage"),
	}
}

// entryTime reads the milliseconds part of a stream entry ID
// ("1700000000000-0"), which Redis sets from its clock when adding.
func entryTime(id string) (time.Time, error) {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("entry ID %q has no millisecond time", id)
	}
	return time.UnixMilli(n), nil
}
