package semconvprocessor

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzMigrateSpan feeds arbitrary span names, kinds, statuses and messaging attributes to the
// processor: it must not panic, and a migrated span must come out of a second pass unchanged.
func FuzzMigrateSpan(f *testing.F) {
	f.Add("orders publish", 4, 0, "kafka", "publish", "orders", "", "messaging.kafka.destination.partition", int64(3))
	f.Add("default.emails publish", 4, 2, "rabbitmq", "", "", "emails", "messaging.destination_publish.name", int64(0))
	f.Add("stock receive", 5, 0, "kafka", "receive", "", "", "messaging.kafka.source.partition", int64(1))
	f.Add("topic with spaces process", 5, 2, "nats", "deliver", "topic with spaces", "", "messaging.message.payload_size_bytes", int64(-7))
	f.Add(" publish", 3, 0, "rabbitmq", "", "", "rk", "messaging.kafka.message.offset", int64(9))
	f.Add("process", 1, 1, "", "settle", "", "", "messaging.operation", int64(42))
	f.Fuzz(func(t *testing.T, name string, kind, status int, system, operation, destination, routingKey, extraKey string, extraValue int64) {
		td := ptrace.NewTraces()
		span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		span.SetName(name)
		span.SetKind(ptrace.SpanKind(kind % 6))
		span.Status().SetCode(ptrace.StatusCode(status % 3))
		attrs := span.Attributes()
		for k, v := range map[string]string{
			"messaging.system": system, "messaging.operation": operation,
			"messaging.destination.name": destination, "messaging.rabbitmq.destination.routing_key": routingKey,
		} {
			if v != "" {
				attrs.PutStr(k, v)
			}
		}
		attrs.PutInt(extraKey, extraValue)
		if status%3 == 2 {
			e := span.Events().AppendEmpty()
			e.SetName("exception")
			e.Attributes().PutStr("exception.type", operation)
		}

		for _, mode := range []Mode{ModeReplace, ModeDuplicate} {
			p := newTestProcessor(t, mode)
			in := ptrace.NewTraces()
			td.CopyTo(in)
			if _, err := p.processTraces(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			once := ptrace.NewTraces()
			in.CopyTo(once)
			if _, err := p.processTraces(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			a, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(once)
			b, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(in)
			if string(normalize(t, a)) != string(normalize(t, b)) {
				t.Fatalf("%s: a second pass changed the span:\n%s\n%s", mode, normalize(t, a), normalize(t, b))
			}
		}
	})
}
