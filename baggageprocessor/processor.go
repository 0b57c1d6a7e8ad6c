package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"

	"github.com/otelcol-msg/otelcol-msg/baggageprocessor/internal/metadata"
	"github.com/otelcol-msg/otelcol-msg/internal/baggage"
)

type baggageProcessor struct {
	prefix      string
	rawAttr     string
	keepRaw     bool
	metadataKey string
	onConflict  baggage.Conflict
	keepLinks   bool
	policy      policy
	redactor    *redactor // nil when nothing is redacted
	promote     []string  // "<prefix><key>" of promote_to_resource

	telemetry *telemetry
	states    sync.Pool // *state; ConsumeTraces may run concurrently
}

func newBaggageProcessor(set processor.Settings, cfg *Config) (*baggageProcessor, error) {
	if cfg.Prefix == "" {
		// Validate says so too; the hot path relies on it.
		return nil, errors.New("prefix must not be empty")
	}
	pol, err := newPolicy(cfg)
	if err != nil {
		return nil, err
	}
	red, err := newRedactor(cfg.Redact)
	if err != nil {
		return nil, err
	}
	builder, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("creating the processor's telemetry: %w", err)
	}
	p := &baggageProcessor{
		prefix:      cfg.Prefix,
		rawAttr:     cfg.Sources.RawAttribute,
		keepRaw:     cfg.Sources.KeepRawAttribute,
		metadataKey: cfg.Sources.MetadataKey,
		onConflict:  baggage.LastWins,
		keepLinks:   cfg.KeepLinkBaggage,
		policy:      pol,
		redactor:    red,
		telemetry:   newTelemetry(builder, set.Logger),
	}
	if cfg.OnConflict == ConflictFirst {
		p.onConflict = baggage.FirstWins
	}
	for _, key := range cfg.PromoteToResource {
		p.promote = append(p.promote, cfg.Prefix+key)
	}
	p.states.New = func() any { return newState() }
	return p, nil
}

func (p *baggageProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	st := p.states.Get().(*state)
	st.reset()
	p.readRequest(ctx, st)

	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				p.processSpan(st, spans.At(k))
			}
		}
		if len(p.promote) > 0 {
			p.promoteToResource(st, rs)
		}
	}

	p.telemetry.record(ctx, &st.counts)
	p.states.Put(st)
	return td, nil
}

// readRequest reads the baggage of the request's metadata (the OTLP
// receiver's include_metadata) once: it applies to every span of the request.
func (p *baggageProcessor) readRequest(ctx context.Context, st *state) {
	if p.metadataKey == "" {
		return
	}
	headers := client.FromContext(ctx).Metadata.Get(p.metadataKey)
	for _, h := range headers {
		members, faults := baggage.Parse(h, parseOptions)
		st.counts.addFaults(faults)
		for _, m := range members {
			value, keep := st.admit(&p.policy, p.redactor, m.Key, m.Value)
			if !keep {
				continue
			}
			e := entry{attrKey: p.prefix + m.Key, key: m.Key, value: value, origin: fromRequest}
			// Several values of the header read as one list: the later wins.
			if i := slices.IndexFunc(st.request, func(o entry) bool { return o.key == m.Key }); i >= 0 {
				st.request[i] = e
			} else {
				st.request = append(st.request, e)
			}
		}
	}
}

func (p *baggageProcessor) shutdown(context.Context) error {
	p.telemetry.builder.Shutdown()
	return nil
}
