package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"
)

// processLogs migrates the messaging attributes of log records in place: a consumer's "message
// processed" record with messaging.* fields, as the SDK logging bridges write it from the span
// context or the application's structured fields. Records without a messaging.* attribute, and
// records whose messaging attributes are current, are not written to.
func (p *semconvProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	var migrated int64
	var work workspace
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			records := sl.LogRecords()
			var n, others int
			for k := 0; k < records.Len(); k++ {
				switch p.migrateLogRecord(records.At(k), &work) {
				case spanMigrated:
					n++
				case spanNotMessaging:
					others++
				}
			}
			// As for spans: only a scope whose every record now follows 1.44.
			if n > 0 && others == 0 {
				sl.SetSchemaUrl(p.schemaURL)
			}
			migrated += int64(n)
		}
	}
	if migrated > 0 {
		p.telemetry.ProcessorSemconvLogRecordsMigrated.Add(ctx, migrated)
	}
	return ld, nil
}

// migrateLogRecord gives one log record the attribute migration of spans: the renames (the span
// table: the registry is the same on every signal, and the schema file's span section holds the
// messaging renames of 1.17), deprecated operation values, removed attributes,
// messaging.operation.name from the operation type, and the RabbitMQ destination. What comes from
// a span's name, kind, status or events has no counterpart on a log record.
func (p *semconvProcessor) migrateLogRecord(lr plog.LogRecord, work *workspace) spanResult {
	attrs := lr.Attributes()
	var buf scanBuffers
	var fs facts
	sc := p.scanAttributes(attrs, renames.Spans, &buf, &fs)
	switch {
	case !sc.messaging:
		return spanNotMessaging
	case !sc.old():
		return spanCurrent
	}
	p.applyRenames(attrs, &sc, &fs, p.duplicate, work)
	f := p.spanFacts(&fs, sc.oldValue)
	if f.system == systemRabbitMQ && !f.hasOpName {
		if dest, ok := rabbitMQDestination(f, ""); ok {
			attrs.PutStr(keyDestinationName, dest)
		}
	}
	if !f.hasOpName && f.hasOpType && f.opType != "" {
		attrs.PutStr(keyOperationName, f.opType)
	}
	return spanMigrated
}
