package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TraceFile reads the file exporter's output (format: json, one OTLP
// ExportTraceServiceRequest a line) as it grows.
type TraceFile struct {
	path   string
	offset int64
	lines  int
	traces ptrace.Traces
	um     ptrace.JSONUnmarshaler
}

// NewTraceFile returns a reader of path; the file need not exist yet.
func NewTraceFile(path string) *TraceFile {
	return &TraceFile{path: path, traces: ptrace.NewTraces()}
}

// Poll reads the complete lines written since the last call and appends their
// spans to Traces. A line still being written (no newline yet) is left for the
// next call. It returns how many spans were added.
func (f *TraceFile) Poll() (int, error) {
	file, err := os.Open(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open exporter output: %w", err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat exporter output: %w", err)
	}
	if info.Size() < f.offset {
		return 0, fmt.Errorf("exporter output %s shrank from %d to %d bytes (truncated by a restart?)", f.path, f.offset, info.Size())
	}
	data, err := io.ReadAll(io.NewSectionReader(file, f.offset, info.Size()-f.offset))
	if err != nil {
		return 0, fmt.Errorf("read exporter output: %w", err)
	}
	added := 0
	for {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			return added, nil
		}
		line := data[:nl]
		data = data[nl+1:]
		f.offset += int64(nl + 1)
		f.lines++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		td, err := f.um.UnmarshalTraces(line)
		if err != nil {
			return added, fmt.Errorf("%s line %d: %w", f.path, f.lines, err)
		}
		added += td.SpanCount()
		td.ResourceSpans().MoveAndAppendTo(f.traces.ResourceSpans())
	}
}

// Traces returns every span read so far. The caller must not modify it.
func (f *TraceFile) Traces() ptrace.Traces { return f.traces }

// Wait polls the file until done returns true for the spans read so far, or
// ctx ends (then the error says how many spans had arrived). ctx's deadline is
// a give-up bound, not an assertion on speed.
func (f *TraceFile) Wait(ctx context.Context, done func(ptrace.Traces) bool) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := f.Poll(); err != nil {
			return err
		}
		if done(f.traces) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for spans in %s: %w (%d spans arrived)", f.path, ctx.Err(), f.traces.SpanCount())
		case <-tick.C:
		}
	}
}

// ReadTraces reads every complete line of the file exporter's output at path.
func ReadTraces(path string) (ptrace.Traces, error) {
	f := NewTraceFile(path)
	_, err := f.Poll()
	return f.traces, err
}

// SpanRecord is one span with the resource and scope it was exported under.
type SpanRecord struct {
	Resource       pcommon.Resource
	Scope          pcommon.InstrumentationScope
	ScopeSchemaURL string
	Span           ptrace.Span
}

// Spans flattens td into its spans, in export order.
func Spans(td ptrace.Traces) []SpanRecord {
	out := make([]SpanRecord, 0, td.SpanCount())
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				out = append(out, SpanRecord{
					Resource:       rs.Resource(),
					Scope:          ss.Scope(),
					ScopeSchemaURL: ss.SchemaUrl(),
					Span:           span,
				})
			}
		}
	}
	return out
}
