package baggageprocessor

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkSpanNoBaggage is the cost every span pays when it carries no
// baggage: a request of 100 ordinary spans (8 attributes each, no links).
// Read ns/span; allocs/op is for the whole request.
func BenchmarkSpanNoBaggage(b *testing.B) {
	const spans = 100
	p := mustBenchProcessor(b, defaultConfig())
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range spans {
		s := ss.AppendEmpty()
		s.SetName("GET /orders/{id}")
		a := s.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", "/orders/{id}")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("url.path", "/orders/"+strconv.Itoa(i))
		a.PutStr("url.scheme", "https")
		a.PutStr("server.address", "orders.internal")
		a.PutInt("server.port", 443)
		a.PutStr("user_agent.original", "curl/8.5.0")
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.processTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

// BenchmarkBatchSpan100Links is one batch receive span with 100 links, each
// carrying 5 baggage entries (as the msgtrace receiver writes them) next to
// its message ID and offset. One op is one span.
func BenchmarkBatchSpan100Links(b *testing.B) {
	template := ptrace.NewTraces()
	span := template.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("receive orders")
	span.Attributes().PutStr("messaging.system", "kafka")
	span.Attributes().PutStr("messaging.destination.name", "orders")
	span.Attributes().PutInt("messaging.batch.message_count", 100)
	for i := range 100 {
		a := span.Links().AppendEmpty().Attributes()
		a.PutStr("messaging.message.id", strconv.Itoa(i))
		a.PutInt("messaging.kafka.offset", int64(i))
		a.PutStr("baggage.tenant.id", "acme")
		a.PutStr("baggage.user.id", "user-"+strconv.Itoa(i%7))
		a.PutStr("baggage.step", strconv.Itoa(i))
		a.PutStr("baggage.region", "eu-west-1")
		a.PutStr("baggage.with_batch", "True")
	}

	withPolicy := defaultConfig()
	withPolicy.Include = []string{"tenant.id", "user.id", "step", `^region`}
	withPolicy.Exclude = []string{`^internal\.`}
	withPolicy.Redact = RedactConfig{Keys: []string{"user.id"}, Key: "0123456789abcdef0123456789abcdef"}
	withPolicy.PromoteToResource = []string{"tenant.id"}
	noLinkBaggage := defaultConfig()
	noLinkBaggage.KeepLinkBaggage = false

	for _, bc := range []struct {
		name string
		cfg  *Config
	}{
		{"default", defaultConfig()},
		{"keep_link_baggage=false", noLinkBaggage},
		{"include+exclude+redact+promote", withPolicy},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := mustBenchProcessor(b, bc.cfg)
			ctx := context.Background()
			// The processor mutates its input: each op gets a fresh copy,
			// made in batches with the timer stopped (stopping it costs
			// more than an op), followed by a GC so that the copies'
			// garbage is not collected, and billed, inside the timed ops.
			copies := make([]ptrace.Traces, 512)
			for i := range copies {
				copies[i] = ptrace.NewTraces()
			}
			next := len(copies)
			b.ReportAllocs()
			for b.Loop() {
				if next == len(copies) {
					b.StopTimer()
					for _, td := range copies {
						template.CopyTo(td)
					}
					runtime.GC()
					next = 0
					b.StartTimer()
				}
				if _, err := p.processTraces(ctx, copies[next]); err != nil {
					b.Fatal(err)
				}
				next++
			}
		})
	}
}

func mustBenchProcessor(b *testing.B, cfg *Config) *baggageProcessor {
	b.Helper()
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	p, err := newBaggageProcessor(processortestSettings(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	return p
}
