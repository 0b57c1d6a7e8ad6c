package semconvprocessor

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/metadatatest"
	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"
)

func newTestProcessor(t testing.TB, mode Mode) *semconvProcessor {
	t.Helper()
	p, err := newSemconvProcessor(processortest.NewNopSettings(NewFactory().Type()), &Config{Mode: mode})
	require.NoError(t, err)
	return p
}

// oneSpan returns traces holding one span with the given name, kind and attributes.
func oneSpan(t testing.TB, name string, kind ptrace.SpanKind, attrs map[string]any) (ptrace.Traces, ptrace.Span) {
	t.Helper()
	td := ptrace.NewTraces()
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName(name)
	span.SetKind(kind)
	require.NoError(t, span.Attributes().FromRaw(attrs))
	return td, span
}

func process(t *testing.T, p *semconvProcessor, td ptrace.Traces) {
	t.Helper()
	_, err := p.processTraces(context.Background(), td)
	require.NoError(t, err)
}

func TestSpanNamesAndOperations(t *testing.T) {
	tests := []struct {
		name     string
		spanName string
		kind     ptrace.SpanKind
		attrs    map[string]any
		wantName string
		wantType string
		wantOp   string
	}{
		{
			name: "operation from messaging.operation", spanName: "orders publish", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders", "messaging.operation": "publish"},
			wantName: "send orders", wantType: "send", wantOp: "send",
		},
		{
			name: "deliver is process", spanName: "orders deliver", kind: ptrace.SpanKindConsumer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders", "messaging.operation": "deliver"},
			wantName: "process orders", wantType: "process", wantOp: "process",
		},
		{
			name: "operation from the span name when no attribute names it", spanName: "orders create", kind: ptrace.SpanKindConsumer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.destination_publish.name": "orders"},
			wantName: "create orders", wantType: "create", wantOp: "create",
		},
		{
			name: "operation from the kind when neither names it; the name follows", spanName: "kafka.produce", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.destination": "orders"},
			wantName: "send orders", wantType: "send", wantOp: "send",
		},
		{
			name: "existing operation.name is kept", spanName: "orders receive", kind: ptrace.SpanKindClient,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders", "messaging.operation": "receive", "messaging.operation.name": "poll"},
			wantName: "poll orders", wantType: "receive", wantOp: "poll",
		},
		{
			// The Java agent's poll of several topics: no destination, and none taken from the name.
			name: "unknown destination placeholder", spanName: "unknown receive", kind: ptrace.SpanKindConsumer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.operation": "receive"},
			wantName: "receive", wantType: "receive", wantOp: "receive",
		},
		{
			name: "destination with spaces", spanName: "topic with spaces process", kind: ptrace.SpanKindConsumer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.destination.name": "topic with spaces", "messaging.operation": "process"},
			wantName: "process topic with spaces", wantType: "process", wantOp: "process",
		},
		{
			name: "template wins over name", spanName: "orders.eu.42 publish", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.system": "nats", "messaging.destination.name": "orders.eu.42", "messaging.destination.template": "orders.{region}.{id}", "messaging.operation": "publish"},
			wantName: "send orders.{region}.{id}", wantType: "send", wantOp: "send",
		},
		{
			name: "temporary destination is left out", spanName: "amq.gen-Xa2 publish", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.system": "rabbitmq", "messaging.destination.name": "amq.gen-Xa2", "messaging.destination.temporary": true, "messaging.operation": "publish"},
			wantName: "send", wantType: "send", wantOp: "send",
		},
		{
			name: "destination from the span name when no attribute has it", spanName: "orders publish", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.operation": "publish"},
			wantName: "send orders", wantType: "send", wantOp: "send",
		},
		{
			name: "a name of any form follows the attributes", spanName: "handle order", kind: ptrace.SpanKindConsumer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders", "messaging.operation": "process"},
			wantName: "process orders", wantType: "process", wantOp: "process",
		},
		{
			name: "half-migrated: an old <action> <destination> name against 1.44 attributes", spanName: "publish orders", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders", "messaging.operation": "publish", "messaging.operation.name": "send"},
			wantName: "send orders", wantType: "send", wantOp: "send",
		},
		{
			name: "the attributes' destination wins over the name's", spanName: "orders-v1 publish", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders-v2", "messaging.operation": "publish"},
			wantName: "send orders-v2", wantType: "send", wantOp: "send",
		},
		{
			name: "operation and destination from an <action> <destination> name", spanName: "receive invoices", kind: ptrace.SpanKindConsumer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.kafka.consumer_group": "billing"},
			wantName: "receive invoices", wantType: "receive", wantOp: "receive",
		},
		{
			name: "the (temporary) placeholder of old names is no destination", spanName: "(temporary) send", kind: ptrace.SpanKindProducer,
			attrs:    map[string]any{"messaging.system": "jms", "messaging.temp_destination": true},
			wantName: "send", wantType: "send", wantOp: "send",
		},
		{
			name: "no operation anywhere: the name stays", spanName: "kafka.poll", kind: ptrace.SpanKindInternal,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.destination": "orders"},
			wantName: "kafka.poll", wantType: "", wantOp: "",
		},
		{
			name: "consume side of 1.17 (messaging.source.*)", spanName: "stock receive", kind: ptrace.SpanKindConsumer,
			attrs:    map[string]any{"messaging.system": "kafka", "messaging.source.name": "stock", "messaging.operation": "receive"},
			wantName: "receive stock", wantType: "receive", wantOp: "receive",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProcessor(t, ModeReplace)
			td, span := oneSpan(t, tt.spanName, tt.kind, tt.attrs)
			process(t, p, td)
			assert.Equal(t, tt.wantName, span.Name())
			assert.Equal(t, tt.wantType, str(span.Attributes(), "messaging.operation.type"))
			assert.Equal(t, tt.wantOp, str(span.Attributes(), "messaging.operation.name"))
			assert.False(t, has(span.Attributes(), "messaging.operation"))
			assert.Equal(t, "https://opentelemetry.io/schemas/1.44.0", td.ResourceSpans().At(0).ScopeSpans().At(0).SchemaUrl())
		})
	}
}

func TestPartitionBecomesString(t *testing.T) {
	for _, key := range []string{"messaging.kafka.destination.partition", "messaging.kafka.source.partition", "messaging.kafka.partition"} {
		t.Run(key, func(t *testing.T) {
			p := newTestProcessor(t, ModeReplace)
			td, span := oneSpan(t, "orders receive", ptrace.SpanKindConsumer, map[string]any{
				"messaging.system": "kafka", "messaging.destination.name": "orders", key: int64(12),
			})
			process(t, p, td)
			v, ok := span.Attributes().Get("messaging.destination.partition.id")
			require.True(t, ok)
			assert.Equal(t, pcommon.ValueTypeStr, v.Type())
			assert.Equal(t, "12", v.Str())
			assert.False(t, has(span.Attributes(), key))
		})
	}
}

func TestNewKeyWinsOverOld(t *testing.T) {
	attrs := map[string]any{
		"messaging.system": "kafka", "messaging.operation": "publish",
		"messaging.destination.name":         "orders",
		"messaging.destination_publish.name": "orders-retry",
		"messaging.kafka.message.offset":     int64(7), "messaging.kafka.offset": int64(8),
	}
	t.Run("replace", func(t *testing.T) {
		td, span := oneSpan(t, "orders publish", ptrace.SpanKindProducer, attrs)
		process(t, newTestProcessor(t, ModeReplace), td)
		assert.Equal(t, map[string]any{
			"messaging.system": "kafka", "messaging.operation.type": "send", "messaging.operation.name": "send",
			"messaging.destination.name": "orders", "messaging.kafka.offset": int64(8),
		}, span.Attributes().AsRaw())
		assert.Equal(t, "send orders", span.Name())
	})
	t.Run("duplicate", func(t *testing.T) {
		td, span := oneSpan(t, "orders publish", ptrace.SpanKindProducer, attrs)
		process(t, newTestProcessor(t, ModeDuplicate), td)
		assert.Equal(t, map[string]any{
			"messaging.system": "kafka", "messaging.operation": "publish", "messaging.operation.type": "send", "messaging.operation.name": "send",
			"messaging.destination.name": "orders", "messaging.destination_publish.name": "orders-retry",
			"messaging.kafka.message.offset": int64(7), "messaging.kafka.offset": int64(8),
		}, span.Attributes().AsRaw())
		assert.Equal(t, "send orders", span.Name())
	})
}

func TestRabbitMQDestination(t *testing.T) {
	tests := []struct {
		name     string
		spanName string
		attrs    map[string]any
		wantDest string
		wantName string
	}{
		{"named exchange", "logs.warning publish", map[string]any{"messaging.destination.name": "logs", "messaging.rabbitmq.destination.routing_key": "warning"}, "logs:warning", "send logs:warning"},
		{"default exchange", "default.emails publish", map[string]any{"messaging.destination.name": "", "messaging.rabbitmq.destination.routing_key": "emails"}, "emails", "send emails"},
		{"exchange without routing key", "fanout. publish", map[string]any{"messaging.destination.name": "fanout"}, "fanout", "send fanout"},
		{"default exchange without routing key", "default. publish", map[string]any{"messaging.destination.name": ""}, "amq.default", "send amq.default"},
		{"exchange and routing key of the same name", "orders.orders publish", map[string]any{"messaging.destination.name": "orders", "messaging.rabbitmq.destination.routing_key": "orders"}, "orders:orders", "send orders:orders"},
		{"consume side", "billing.invoice.created process", map[string]any{"messaging.destination_publish.name": "billing", "messaging.rabbitmq.destination.routing_key": "invoice.created"}, "billing:invoice.created", "process billing:invoice.created"},
		{"exchange only in FastStream's span name", "billing.invoice.created publish", map[string]any{"messaging.rabbitmq.destination.routing_key": "invoice.created"}, "billing:invoice.created", "send billing:invoice.created"},
		{"default exchange only in FastStream's span name", "default.emails publish", map[string]any{"messaging.rabbitmq.destination.routing_key": "emails"}, "emails", "send emails"},
		{"Java agent's default exchange", "<default> publish", map[string]any{"messaging.destination.name": "<default>", "messaging.rabbitmq.destination.routing_key": "emails"}, "emails", "send emails"},
		{"Java agent's default exchange without routing key", "<default> publish", map[string]any{"messaging.destination.name": "<default>"}, "amq.default", "send amq.default"},
		{"Java agent's consumer, named after the queue", "invoices process", map[string]any{"messaging.destination.name": "<default>", "messaging.rabbitmq.destination.routing_key": "invoices", "messaging.operation": "process"}, "invoices", "process invoices"},
		{"already composed", "logs:warning publish", map[string]any{"messaging.destination.name": "logs:warning", "messaging.rabbitmq.destination.routing_key": "warning"}, "logs:warning", "send logs:warning"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.attrs["messaging.system"] = "rabbitmq"
			td, span := oneSpan(t, tt.spanName, ptrace.SpanKindProducer, tt.attrs)
			process(t, newTestProcessor(t, ModeReplace), td)
			assert.Equal(t, tt.wantDest, str(span.Attributes(), "messaging.destination.name"))
			assert.Equal(t, tt.wantName, span.Name())
		})
	}
}

func TestErrorType(t *testing.T) {
	exception := func(span ptrace.Span, typ string) {
		e := span.Events().AppendEmpty()
		e.SetName("exception")
		e.Attributes().PutStr("exception.type", typ)
		e.Attributes().PutStr("exception.message", "boom")
	}
	tests := []struct {
		name   string
		status ptrace.StatusCode
		setup  func(ptrace.Span)
		want   string // "" = no error.type
	}{
		{"last exception event", ptrace.StatusCodeError, func(s ptrace.Span) {
			exception(s, "TimeoutError")
			s.Events().AppendEmpty().SetName("retry")
			exception(s, "ValueError")
		}, "ValueError"},
		{"no exception event", ptrace.StatusCodeError, func(ptrace.Span) {}, "_OTHER"},
		{"error.type already set", ptrace.StatusCodeError, func(s ptrace.Span) {
			exception(s, "ValueError")
			s.Attributes().PutStr("error.type", "InvalidOrder")
		}, "InvalidOrder"},
		{"not an error", ptrace.StatusCodeUnset, func(s ptrace.Span) { exception(s, "ValueError") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td, span := oneSpan(t, "orders process", ptrace.SpanKindConsumer, map[string]any{
				"messaging.system": "kafka", "messaging.destination_publish.name": "orders", "messaging.operation": "process",
			})
			span.Status().SetCode(tt.status)
			tt.setup(span)
			process(t, newTestProcessor(t, ModeReplace), td)
			assert.Equal(t, tt.want, str(span.Attributes(), "error.type"))
		})
	}
}

// TestUntouched checks that spans without messaging.* attributes and current messaging spans are
// not written to: same bytes, same attribute order, scope schema_url unchanged.
func TestUntouched(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "traces", "kafkajs_current", "input.json"))
	require.NoError(t, err)
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
	require.NoError(t, err)
	http, _ := oneSpan(t, "POST /orders", ptrace.SpanKindServer, map[string]any{"http.method": "POST", "net.host.name": "orders.internal"})
	http.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	want, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)

	for _, mode := range []Mode{ModeReplace, ModeDuplicate} {
		process(t, newTestProcessor(t, mode), td)
		got, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(got))
		assert.Equal(t, string(want), string(got), "attribute order changed")
	}
}

// TestUntouchedAllocations measures allocations of whole batches (not timing): current and
// non-messaging spans must cost none.
func TestUntouchedAllocations(t *testing.T) {
	p := newTestProcessor(t, ModeReplace)
	for name, td := range map[string]ptrace.Traces{
		"current":       benchTraces(t, currentSpan, 512),
		"non-messaging": benchTraces(t, httpSpan, 512),
	} {
		t.Run(name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(20, func() {
				_, _ = p.processTraces(context.Background(), td)
			})
			assert.Zero(t, allocs)
		})
	}
}

func TestTracesTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p, err := newSemconvProcessor(metadatatest.NewSettings(tel), &Config{Mode: ModeReplace})
	require.NoError(t, err)
	td := benchTraces(t, fastStreamSpan, 3)
	current := benchTraces(t, currentSpan, 2)
	current.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	_, err = p.processTraces(context.Background(), td)
	require.NoError(t, err)
	metadatatest.AssertEqualProcessorSemconvSpansMigrated(t, tel, []metricdata.DataPoint[int64]{{Value: 3}}, metricdatatestIgnore...)
}

// TestEveryObsoleteAttributeHasARule checks that the deprecated attributes semconv gives no
// replacement for are still migrated by a code rule (codeRenames).
func TestEveryObsoleteAttributeHasARule(t *testing.T) {
	rules := map[string]bool{}
	for _, a := range codeRenames() {
		rules[a.From] = true
	}
	require.NotEmpty(t, renames.Obsolete())
	for _, key := range renames.Obsolete() {
		assert.True(t, rules[key], key)
	}
}

// TestConcurrentBatches runs batches through one processor at once (run it with -race): the
// processor keeps no state between or across batches.
func TestConcurrentBatches(t *testing.T) {
	dir := filepath.Join("testdata", "traces", "faststream_kafka")
	in, err := os.ReadFile(filepath.Join(dir, "input.json"))
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(dir, "replace.json"))
	require.NoError(t, err)
	p := newTestProcessor(t, ModeReplace)
	type result struct {
		out []byte
		err error
	}
	results := make(chan result, 8)
	for range 8 {
		go func() {
			td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(in)
			if err == nil {
				_, err = p.processTraces(context.Background(), td)
			}
			var out []byte
			if err == nil {
				out, err = (&ptrace.JSONMarshaler{}).MarshalTraces(td)
			}
			results <- result{out, err}
		}()
	}
	for range 8 {
		r := <-results
		require.NoError(t, r.err)
		assert.Equal(t, string(want), string(normalize(t, r.out)))
	}
}
