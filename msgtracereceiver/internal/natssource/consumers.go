package natssource

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// settleOperation is messaging.operation.name of JetStream settle spans:
// the watcher sees a consumer's ack floor pass the message.
const settleOperation = "ack"

// faultConsumerInfo counts a stream info or consumer list reply the watcher
// cannot read, or a consumer info that makes no sense (that poll skips
// it), and an ack advisory it cannot use (its message is left to the floor).
const faultConsumerInfo = "consumer_info"

// maxWatchedSubjects bounds the subjects of the tapped streams that the
// consumers index tracks, all streams together: each is an index partition
// and a metric series per consumer. Messages on further subjects yield no
// settle span (their receive spans are not affected).
const maxWatchedSubjects = 4096

// newTracker returns the consumers tracker of a block with consumers
// enabled, nil otherwise. The tap's own consumers are never watched: the
// watcher skips them by name and description (isTapConsumer), as there may
// be one per stream.
func newTracker(cfg *Config, set message.Settings) (*consumers.Tracker, error) {
	if !cfg.Consumers.Enabled {
		return nil, nil
	}
	return consumers.New(consumers.Settings{
		System:        System,
		OperationName: settleOperation,
		Config:        cfg.Consumers,
		Source:        set,
	})
}

// validateConsumers reports a consumers block that cannot watch anything:
// only JetStream streams have consumers that acknowledge.
func (c *Config) validateConsumers() error {
	if c.Consumers.Enabled && len(c.JetStream.Streams) == 0 {
		return errors.New("consumers::enabled needs jetstream::streams: core subjects have no consumers to watch")
	}
	return nil
}

// orderedNamePrefix is what the names of the tap's ordered consumers start
// with (nats.go names them <NamePrefix>_<serial>).
var orderedNamePrefix = orderedConfig(StreamConfig{}).NamePrefix + "_"

// isTapConsumer reports a consumer of the taps (this replica's or
// another's): an ordered consumer, or a durable the tap created.
func isTapConsumer(name, description string) bool {
	return description == tapConsumerDescription || strings.HasPrefix(name, orderedNamePrefix)
}

// streamSubjects are the subjects of each tapped stream the consumers index
// tracks: the literal subjects of its configuration, and those of the
// messages the tap observed. The index is kept per subject, the destination
// of the receive spans, while consumers report ack floors per stream: the
// watcher applies a consumer's floor to each subject its filter covers.
type streamSubjects struct {
	mu       sync.Mutex
	owner    map[string]owned    // subject -> the stream that holds it
	byStream map[string][]string // stream -> its subjects, in order added
	log      *zap.Logger
	shared   atomic.Bool // logged: a subject held by two tapped streams
	full     atomic.Bool // logged: maxWatchedSubjects reached
}

// owned is the stream of a subject, and the subject's one kept copy.
type owned struct{ stream, subject string }

func newStreamSubjects(log *zap.Logger) *streamSubjects {
	return &streamSubjects{owner: map[string]owned{}, byStream: map[string][]string{}, log: log}
}

// add records subject in stream and reports whether the index tracks it
// there. A subject is tracked in one stream only, the first that showed
// it: positions are stream sequences, which do not compare across streams
// (a tapped mirror or source holds the same subjects as its origin).
func (ss *streamSubjects) add(stream, subject string) bool {
	_, ok := ss.track(stream, subject)
	return ok
}

// track is add that also returns the copy of subject kept, so that what
// remembers it per message does not keep the message's own.
func (ss *streamSubjects) track(stream, subject string) (string, bool) {
	ss.mu.Lock()
	o, ok := ss.owner[subject]
	if !ok && len(ss.owner) < maxWatchedSubjects {
		o, ok = owned{stream, subject}, true
		ss.owner[subject] = o
		ss.byStream[stream] = append(ss.byStream[stream], subject)
	}
	ss.mu.Unlock()
	switch {
	case !ok:
		if !ss.full.Swap(true) {
			ss.log.Warn("NATS consumers: too many subjects in the tapped streams; messages on further subjects yield no settle span",
				zap.Int("max_subjects", maxWatchedSubjects), zap.String("stream", stream), zap.String("subject", subject))
		}
		return "", false
	case o.stream != stream:
		if !ss.shared.Swap(true) {
			ss.log.Info("NATS consumers: a subject is in two tapped streams; its consumers are watched in the first only",
				zap.String("subject", subject), zap.String("watched_in", o.stream), zap.String("not_in", stream))
		}
		return "", false
	}
	return o.subject, true
}

// of returns the subjects tracked in stream. The slice is only ever
// appended to, so the clipped view stays valid without the lock.
func (ss *streamSubjects) of(stream string) []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return slices.Clip(ss.byStream[stream])
}

// literalSubjects are the subjects of a stream's configuration without
// wildcards that the tap's filter covers (all when it has none), and the
// tap's literal filters: the index partitions known before a message
// arrives, so that a consumer's first settles there are not taken for its
// baseline.
func literalSubjects(streamSubjects, tapFilters []string) []string {
	var out []string
	for _, s := range streamSubjects {
		if isLiteral(s) && (len(tapFilters) == 0 || matchesAny(tapFilters, s)) {
			out = append(out, s)
		}
	}
	for _, f := range tapFilters {
		if isLiteral(f) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// observe hands one JetStream message to the tracker, positioned at its
// stream sequence.
func (s *source) observe(m *message.Message, r *record) {
	if s.tracker == nil || r.seq == 0 {
		return
	}
	subject, ok := s.subjects.track(r.stream, r.subject)
	if !ok {
		return
	}
	s.tracker.Observe(*m, consumers.Position{Hi: r.seq})
	s.seqs[r.stream].add(r.seq, subject)
}

func isLiteral(subject string) bool { return !strings.ContainsAny(subject, "*>") }

// subjectMatches reports whether the literal subject matches filter, a
// subject with NATS wildcards: '*' is one token, a final '>' one or more.
func subjectMatches(filter, subject string) bool {
	for {
		ft, frest, fmore := strings.Cut(filter, ".")
		st, srest, smore := strings.Cut(subject, ".")
		switch {
		case ft == ">" && !fmore:
			return true
		case ft != "*" && ft != st:
			return false
		case !fmore || !smore:
			return fmore == smore
		}
		filter, subject = frest, srest
	}
}

func matchesAny(filters []string, subject string) bool {
	for _, f := range filters {
		if subjectMatches(f, subject) {
			return true
		}
	}
	return false
}
