package semconvprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestAIOPikaDestination(t *testing.T) {
	tests := []struct {
		name, scope, spanName string
		kind                  ptrace.SpanKind
		attrs                 map[string]any
		wantDest, wantRouting string
		wantName              string
	}{
		{
			name: "named exchange", scope: scopeAIOPika, spanName: "payments,payment.captured send", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.destination": "payments,payment.captured"},
			wantDest: "payments:payment.captured", wantRouting: "payment.captured", wantName: "send payments:payment.captured",
		},
		{
			name: "default exchange", scope: scopeAIOPika, spanName: ",audit send", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.destination": ",audit"},
			wantDest: "audit", wantRouting: "audit", wantName: "send audit",
		},
		{
			name: "empty routing key", scope: scopeAIOPika, spanName: "fanout, send", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.destination": "fanout,"},
			wantDest: "fanout", wantName: "send fanout",
		},
		{
			name: "routing key with a comma", scope: scopeAIOPika, spanName: "tags,a,b send", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.destination": "tags,a,b"},
			wantDest: "tags:a,b", wantRouting: "a,b", wantName: "send tags:a,b",
		},
		{
			name: "consume span: exchange alone", scope: scopeAIOPika, spanName: "payments receive", kind: ptrace.SpanKindConsumer,
			attrs:    map[string]any{"messaging.destination": "payments", "messaging.operation": "receive"},
			wantDest: "payments", wantName: "receive payments",
		},
		{
			name: "routing key attribute already there", scope: scopeAIOPika, spanName: "a,b send", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.destination": "a,b", "messaging.rabbitmq.routing_key": "rk"},
			wantDest: "a,b:rk", wantRouting: "rk", wantName: "send a,b:rk",
		},
		{
			name: "other instrumentation: a comma is part of the name", scope: "opentelemetry.instrumentation.pika.pika_instrumentor", spanName: "a,b send", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.destination": "a,b"},
			wantDest: "a,b", wantName: "send a,b",
		},
	}
	for _, tt := range tests {
		for _, mode := range []Mode{ModeReplace, ModeDuplicate} {
			t.Run(tt.name+"/"+string(mode), func(t *testing.T) {
				tt.attrs["messaging.system"] = "rabbitmq"
				td, span := oneSpan(t, tt.spanName, tt.kind, tt.attrs)
				td.ResourceSpans().At(0).ScopeSpans().At(0).Scope().SetName(tt.scope)
				p := newTestProcessor(t, mode)
				process(t, p, td)
				assert.Equal(t, tt.wantDest, str(span.Attributes(), "messaging.destination.name"))
				assert.Equal(t, tt.wantRouting, str(span.Attributes(), "messaging.rabbitmq.destination.routing_key"))
				assert.Equal(t, tt.wantName, span.Name())
				if mode == ModeDuplicate {
					// The old key keeps the instrumentation's value next to the new ones.
					assert.Equal(t, tt.attrs["messaging.destination"], str(span.Attributes(), "messaging.destination"))
				}

				before := span.Attributes().AsRaw()
				process(t, p, td)
				assert.Equal(t, before, span.Attributes().AsRaw(), "second pass")
				assert.Equal(t, tt.wantName, span.Name(), "second pass")
			})
		}
	}
}
