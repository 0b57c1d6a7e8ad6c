package semconvprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestOldSpanName(t *testing.T) {
	p := newTestProcessor(t, ModeReplace)
	tests := []struct {
		name, dest, op string
		ok             bool
	}{
		{"orders publish", "orders", "send", true},
		{"topic with spaces process", "topic with spaces", "process", true},
		{"publish orders", "orders", "send", true},
		{"deliver topic with spaces", "topic with spaces", "process", true},
		{"receive", "", "receive", true},
		{"(temporary) send", "", "send", true},
		{"(anonymous) receive", "", "receive", true},
		{"unknown receive", "", "receive", true},
		{"<default> publish", "", "send", true},
		{"<generated> process", "", "process", true},
		{"handle order", "", "", false},
		{"kafka.produce", "", "", false},
		{" publish", "", "", false},
		{"publish ", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		dest, op, ok := p.oldSpanName(tt.name)
		assert.Equal(t, tt.ok, ok, tt.name)
		assert.Equal(t, tt.dest, dest, tt.name)
		assert.Equal(t, tt.op, op, tt.name)
	}
}

func TestNameAgrees(t *testing.T) {
	assert.True(t, nameAgrees("send orders", "send", "orders"))
	assert.True(t, nameAgrees("send", "send", ""))
	assert.True(t, nameAgrees("process topic with spaces", "process", "topic with spaces"))
	assert.False(t, nameAgrees("publish orders", "send", "orders"))
	assert.False(t, nameAgrees("send orders2", "send", "orders"))
	assert.False(t, nameAgrees("sendXorders", "send", "orders"))
	assert.False(t, nameAgrees("send orders", "send", ""))
	assert.False(t, nameAgrees("send", "send", "orders"))
}

// TestCurrentSpanWithOldName covers spans whose attributes are current but whose name is not:
// an old form that disagrees is renamed (and the span counts as migrated), the application's
// own name stays, and an agreeing name is not written to.
func TestCurrentSpanWithOldName(t *testing.T) {
	current := map[string]any{
		"messaging.system": "kafka", "messaging.destination.name": "orders",
		"messaging.operation.type": "send", "messaging.operation.name": "send",
	}
	for _, tt := range []struct{ in, want, schema string }{
		{"publish orders", "send orders", "https://opentelemetry.io/schemas/1.44.0"},
		{"orders send", "send orders", "https://opentelemetry.io/schemas/1.44.0"},
		{"place order", "place order", ""},
		{"send orders", "send orders", ""},
	} {
		td, span := oneSpan(t, tt.in, ptrace.SpanKindProducer, current)
		process(t, newTestProcessor(t, ModeReplace), td)
		assert.Equal(t, tt.want, span.Name(), tt.in)
		assert.Equal(t, tt.schema, td.ResourceSpans().At(0).ScopeSpans().At(0).SchemaUrl(), tt.in)
	}
}

// TestScopeSchemaURL checks that a scope takes the 1.44 schema URL only when every span in it was
// migrated or already current: a non-messaging span, which the processor did not bring to 1.44,
// leaves the scope's URL as it is.
func TestScopeSchemaURL(t *testing.T) {
	const old, current = "https://opentelemetry.io/schemas/1.17.0", "https://opentelemetry.io/schemas/1.44.0"
	oldSpan := func(s ptrace.Span) {
		s.SetName("orders publish")
		s.SetKind(ptrace.SpanKindProducer)
		s.Attributes().PutStr("messaging.system", "kafka")
		s.Attributes().PutStr("messaging.destination.name", "orders")
		s.Attributes().PutStr("messaging.operation", "publish")
	}
	currentSpan := func(s ptrace.Span) {
		s.SetName("process orders")
		s.SetKind(ptrace.SpanKindConsumer)
		s.Attributes().PutStr("messaging.system", "kafka")
		s.Attributes().PutStr("messaging.destination.name", "orders")
		s.Attributes().PutStr("messaging.operation.name", "process")
	}
	httpSpan := func(s ptrace.Span) {
		s.SetName("POST /orders")
		s.Attributes().PutStr("http.method", "POST")
	}
	for _, tt := range []struct {
		name  string
		spans []func(ptrace.Span)
		want  string
	}{
		{"every span migrated", []func(ptrace.Span){oldSpan, oldSpan}, current},
		{"migrated and current", []func(ptrace.Span){oldSpan, currentSpan}, current},
		{"only current", []func(ptrace.Span){currentSpan}, old},
		{"a span that is not messaging", []func(ptrace.Span){oldSpan, httpSpan}, old},
	} {
		t.Run(tt.name, func(t *testing.T) {
			td := ptrace.NewTraces()
			ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
			ss.SetSchemaUrl(old)
			for _, fill := range tt.spans {
				fill(ss.Spans().AppendEmpty())
			}
			process(t, newTestProcessor(t, ModeReplace), td)
			assert.Equal(t, tt.want, ss.SchemaUrl())
			if tt.want == old && len(tt.spans) > 1 {
				assert.Equal(t, "send orders", ss.Spans().At(0).Name(), "migrated all the same")
			}
		})
	}
}
