package semconvprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/metadatatest"
)

func oneLogRecord(t *testing.T, attrs map[string]any) (plog.Logs, plog.LogRecord) {
	t.Helper()
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("message processed")
	require.NoError(t, lr.Attributes().FromRaw(attrs))
	return ld, lr
}

func TestLogRecordMigration(t *testing.T) {
	tests := []struct {
		name   string
		mode   Mode
		attrs  map[string]any
		want   map[string]any
		schema string
	}{
		{
			name: "renames, value, operation name", mode: ModeReplace,
			attrs: map[string]any{
				"messaging.system": "kafka", "messaging.operation": "deliver", "messaging.destination_publish.name": "orders",
				"messaging.kafka.message.offset": int64(7), "messaging.kafka.destination.partition": int64(2), "order.id": "o-1",
			},
			want: map[string]any{
				"messaging.system": "kafka", "messaging.operation.type": "process", "messaging.operation.name": "process",
				"messaging.destination.name": "orders", "messaging.kafka.offset": int64(7), "messaging.destination.partition.id": "2",
				"order.id": "o-1",
			},
			schema: "https://opentelemetry.io/schemas/1.44.0",
		},
		{
			name: "duplicate keeps the old keys", mode: ModeDuplicate,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.operation": "publish", "messaging.destination": "orders"},
			want: map[string]any{
				"messaging.system": "kafka", "messaging.operation": "publish", "messaging.destination": "orders",
				"messaging.operation.type": "send", "messaging.operation.name": "send", "messaging.destination.name": "orders",
			},
			schema: "https://opentelemetry.io/schemas/1.44.0",
		},
		{
			name: "RabbitMQ destination", mode: ModeReplace,
			attrs: map[string]any{"messaging.system": "rabbitmq", "messaging.operation": "process", "messaging.destination_publish.name": "billing", "messaging.rabbitmq.destination.routing_key": "invoice.created"},
			want: map[string]any{
				"messaging.system": "rabbitmq", "messaging.operation.type": "process", "messaging.operation.name": "process",
				"messaging.destination.name": "billing:invoice.created", "messaging.rabbitmq.destination.routing_key": "invoice.created",
			},
			schema: "https://opentelemetry.io/schemas/1.44.0",
		},
		{
			name: "removed attribute", mode: ModeReplace,
			attrs:  map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders", "messaging.destination.kind": "topic"},
			want:   map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders"},
			schema: "https://opentelemetry.io/schemas/1.44.0",
		},
		{
			name: "current messaging attributes are left alone", mode: ModeReplace,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders"},
			want:  map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders"},
		},
		{
			name: "not messaging", mode: ModeReplace,
			attrs: map[string]any{"http.method": "GET", "messaging": "x"},
			want:  map[string]any{"http.method": "GET", "messaging": "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld, lr := oneLogRecord(t, tt.attrs)
			_, err := newTestProcessor(t, tt.mode).processLogs(context.Background(), ld)
			require.NoError(t, err)
			assert.Equal(t, tt.want, lr.Attributes().AsRaw())
			assert.Equal(t, "message processed", lr.Body().Str())
			assert.Equal(t, tt.schema, ld.ResourceLogs().At(0).ScopeLogs().At(0).SchemaUrl())
		})
	}
}

// TestLogScopeSchemaURL: a scope that also holds records without messaging attributes (the
// application's other logs) keeps its schema URL; its messaging records are migrated all the same.
func TestLogScopeSchemaURL(t *testing.T) {
	ld, lr := oneLogRecord(t, map[string]any{"messaging.system": "kafka", "messaging.operation": "process"})
	sl := ld.ResourceLogs().At(0).ScopeLogs().At(0)
	sl.SetSchemaUrl("https://opentelemetry.io/schemas/1.21.0")
	sl.LogRecords().AppendEmpty().Body().SetStr("cache warmed")
	_, err := newTestProcessor(t, ModeReplace).processLogs(context.Background(), ld)
	require.NoError(t, err)
	assert.Equal(t, "https://opentelemetry.io/schemas/1.21.0", sl.SchemaUrl())
	assert.Equal(t, "process", str(lr.Attributes(), "messaging.operation.type"))
}

// TestUntouchedLogAllocations: records that are not messaging, or current, cost no allocation.
func TestUntouchedLogAllocations(t *testing.T) {
	p := newTestProcessor(t, ModeReplace)
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range 64 {
		lr := records.AppendEmpty()
		lr.Body().SetStr("request served")
		lr.Attributes().PutStr("http.route", "/orders")
		if i%2 == 0 {
			lr.Attributes().PutStr("messaging.system", "kafka")
			lr.Attributes().PutStr("messaging.destination.name", "orders")
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := p.processLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

func TestLogsTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p, err := newSemconvProcessor(metadatatest.NewSettings(tel), createDefaultConfig().(*Config))
	require.NoError(t, err)
	ld, _ := oneLogRecord(t, map[string]any{"messaging.system": "kafka", "messaging.operation": "process"})
	oneLogRecord := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	oneLogRecord.AppendEmpty().Attributes().PutStr("messaging.url", "kafka://b:9092")
	_, err = p.processLogs(context.Background(), ld)
	require.NoError(t, err)
	metadatatest.AssertEqualProcessorSemconvLogRecordsMigrated(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatestIgnore...)
}
