package natssource

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
)

// watchConsumers polls, every consumers.poll_interval until ctx ends, the
// consumers of the tapped streams (one paged CONSUMER.LIST per stream,
// which carries every consumer's info) and reports their ack floors to the
// tracker. It returns at once when consumers are not enabled.
func (s *source) watchConsumers(ctx context.Context, js jetstream.JetStream) {
	if s.tracker == nil {
		return
	}
	w := newConsumerWatcher(ctx, s, js)
	defer w.close()
	consumers.Poll(ctx, s.cfg.Consumers.PollInterval, w.poll)
}

func newConsumerWatcher(ctx context.Context, s *source, js jetstream.JetStream) *consumerWatcher {
	w := &consumerWatcher{src: s, js: js, ctx: ctx, known: map[consumerKey]*watchedConsumer{},
		denied: every{interval: 10 * time.Minute}, slow: every{interval: 10 * time.Minute}}
	w.subscribe = w.subscribeAdvisories
	return w
}

// close ends the ack advisory subscriptions.
func (w *consumerWatcher) close() {
	for _, c := range w.known {
		c.stopAdvisories()
	}
}

type consumerKey struct{ stream, name string }

// watchedConsumer is what the watcher remembers of a consumer between polls.
type watchedConsumer struct {
	// settledBefore and at are the frontier of the last poll and its time:
	// the baseline of a subject first seen at the next poll.
	settledBefore consumers.Position
	at            time.Time
	// subjects are those the tracker has a baseline for.
	subjects map[string]struct{}
	// acks is the subscription to its ack advisories while it samples acks.
	acks *nats.Subscription
}

func (c *watchedConsumer) stopAdvisories() {
	if c.acks != nil {
		_ = c.acks.Unsubscribe()
		c.acks = nil
	}
}

// consumerWatcher is the state of watchConsumers between polls.
type consumerWatcher struct {
	src *source
	js  jetstream.JetStream
	// ctx is the watcher's, for what the advisory handlers count.
	ctx context.Context
	// known are the consumers watched at the last poll, so that one gone is
	// forgotten (it would pin messages in the index).
	known map[consumerKey]*watchedConsumer
	// subscribe subscribes to one consumer's ack advisories
	// (subscribeAdvisories; tests wrap it).
	subscribe func(subject string, cb nats.MsgHandler) (*nats.Subscription, error)
	// denied rate-limits the warning of a refused advisory subscription,
	// which is retried at every poll; slow that of a poll without reply.
	denied, slow every
}

func (w *consumerWatcher) poll(ctx context.Context) {
	s, tr := w.src, w.src.tracker
	seen := make(map[consumerKey]*watchedConsumer, len(w.known))
	for _, st := range s.cfg.JetStream.Streams {
		// A reply that never comes (a server gone mid-request) waits no
		// longer than a connection attempt, per stream: a slow one does not
		// starve those after it.
		sctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
		err := w.pollStream(sctx, st, seen)
		cancel()
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			// Shutting down: what this poll subscribed is close()'s to end.
			for k, c := range seen {
				w.known[k] = c
			}
			return
		}
		switch {
		case badReply(err):
			s.set.Telemetry.Fault(ctx, System, faultConsumerInfo)
			s.log.Debug("NATS consumers: polling the consumers of a stream", zap.String("stream", st.Name), zap.Error(err))
		case (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)) && w.slow.allow(time.Now()):
			// Not wire input, so no fault: the server (or the path to it)
			// is slow, and that stream's consumers wait for a later poll.
			s.log.Warn("NATS consumers: no reply in connect_timeout polling the consumers of a stream; they keep their last state",
				zap.String("stream", st.Name), zap.Duration("connect_timeout", s.cfg.ConnectTimeout), zap.Error(err))
		default:
			s.log.Debug("NATS consumers: polling the consumers of a stream", zap.String("stream", st.Name), zap.Error(err))
		}
		// Not knowing is not a deletion: keep the stream's consumers.
		for k, c := range w.known {
			if k.stream == st.Name {
				seen[k] = c
			}
		}
	}
	// The tracker knows groups by name: a name is forgotten once no tapped
	// stream has a watched consumer of that name; while one lives on in
	// another stream, the gone one is dropped from its own subjects only
	// (a subject is tracked in one stream).
	names := make(map[string]struct{}, len(seen))
	for k := range seen {
		names[k.name] = struct{}{}
	}
	changed := len(seen) != len(w.known)
	for k, c := range w.known {
		if _, ok := seen[k]; ok {
			continue
		}
		changed = true
		c.stopAdvisories()
		if _, ok := names[k.name]; !ok {
			tr.Forget(k.name)
			continue
		}
		for subj := range c.subjects {
			tr.ForgetOn(k.name, subj, "")
		}
	}
	if changed {
		s.log.Info("NATS consumers: watching consumers", zap.Strings("consumers", consumerNames(seen)))
	}
	w.known = seen
	// A stream's messages are remembered by sequence while one of its
	// consumers samples acks.
	sampling := map[string]bool{}
	for k, c := range seen {
		sampling[k.stream] = sampling[k.stream] || c.acks != nil
	}
	for stream, seqs := range s.seqs {
		seqs.setSampling(sampling[stream])
	}
	tr.Flush(ctx, time.Now())
}

// pollStream reports the frontier of every watched consumer of stream on
// each tracked subject its filter covers.
func (w *consumerWatcher) pollStream(ctx context.Context, st StreamConfig, seen map[consumerKey]*watchedConsumer) error {
	s := w.src
	stream, err := w.js.Stream(ctx, st.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil // not created yet, or deleted: no consumers
	}
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	for _, subj := range literalSubjects(stream.CachedInfo().Config.Subjects, st.FilterSubjects) {
		s.subjects.add(st.Name, subj)
	}
	// Drain the lister to its end whatever happens: its goroutine sends
	// without watching the context.
	lister := stream.ListConsumers(ctx)
	var infos []*jetstream.ConsumerInfo
	for info := range lister.Info() {
		infos = append(infos, info)
	}
	if err := lister.Err(); err != nil {
		return fmt.Errorf("consumer list: %w", err)
	}
	at := time.Now()
	subjects := s.subjects.of(st.Name)
	lastSeq, refreshed := stream.CachedInfo().State.LastSeq, false
	for _, info := range infos {
		settledBefore, err := frontierOf(st.Name, info, lastSeq)
		if errors.Is(err, errAheadOfStream) && !refreshed {
			// Messages stored between STREAM.INFO and the list: ask again,
			// once per poll.
			refreshed = true
			if si, ierr := stream.Info(ctx); ierr == nil {
				lastSeq = si.State.LastSeq
				settledBefore, err = frontierOf(st.Name, info, lastSeq)
			}
		}
		if err != nil {
			s.set.Telemetry.Fault(ctx, System, faultConsumerInfo)
			s.log.Debug("NATS consumers: unusable consumer info", zap.String("stream", st.Name), zap.Error(err))
			continue
		}
		if isTapConsumer(info.Name, info.Config.Description) || !s.tracker.Watched(info.Name) {
			continue
		}
		k := consumerKey{st.Name, info.Name}
		c := w.known[k]
		if c == nil {
			c = &watchedConsumer{subjects: map[string]struct{}{}}
		}
		seen[k] = c
		w.syncAdvisories(k, c, &info.Config)
		filters := filtersOf(&info.Config)
		for subj := range c.subjects {
			if len(filters) > 0 && !matchesAny(filters, subj) {
				// Its filter left the subject: it settles nothing there now.
				delete(c.subjects, subj)
				s.tracker.ForgetOn(info.Name, subj, "")
			}
		}
		for _, subj := range subjects {
			if len(filters) > 0 && !matchesAny(filters, subj) {
				continue
			}
			if _, ok := c.subjects[subj]; !ok {
				c.subjects[subj] = struct{}{}
				if !c.at.IsZero() {
					// A subject new to a known consumer: what it settled
					// since the last poll is this poll's to report.
					s.tracker.Frontier(info.Name, subj, "", c.settledBefore, c.at)
				}
			}
			s.tracker.Frontier(info.Name, subj, "", settledBefore, at)
		}
		c.settledBefore, c.at = settledBefore, at
	}
	return nil
}

// syncAdvisories subscribes to the ack advisories of a consumer that
// samples acks, and unsubscribes from those of one that no longer does.
func (w *consumerWatcher) syncAdvisories(k consumerKey, c *watchedConsumer, cfg *jetstream.ConsumerConfig) {
	want := samplesAcks(cfg.SampleFrequency)
	switch {
	case !want:
		c.stopAdvisories()
	case c.acks == nil:
		subject := ackAdvisoryPrefix + k.stream + "." + k.name
		sub, err := w.subscribe(subject, w.onAckAdvisory(k))
		if errors.Is(err, nats.ErrPermissionViolation) {
			// Tried again at the next poll; meanwhile the floor dates all.
			if w.denied.allow(time.Now()) {
				w.src.log.Warn("NATS consumers: the server refuses the subscription to a consumer's ack advisories; "+
					"the tap's user needs to subscribe there, and its sampled acks are dated by the ack floor meanwhile",
					zap.String("subject", subject), zap.String("stream", k.stream), zap.String("consumer", k.name), zap.Error(err))
			}
			return
		}
		if err != nil {
			// Tried again at the next poll; meanwhile the floor dates all.
			w.src.log.Debug("NATS consumers: subscribing to ack advisories", zap.String("stream", k.stream),
				zap.String("consumer", k.name), zap.Error(err))
			return
		}
		c.acks = sub
		// Remember sequences from now on, not from the end of the poll.
		w.src.seqs[k.stream].setSampling(true)
	}
}

// subscribeAdvisories subscribes to subject, the ack advisories of one
// consumer, with small pending limits: a dropped advisory only leaves its
// message to the ack floor. The server refuses a subscription the user may
// not make asynchronously, so a round trip follows: an error wrapping
// nats.ErrPermissionViolation is such a refusal.
func (w *consumerWatcher) subscribeAdvisories(subject string, cb nats.MsgHandler) (*nats.Subscription, error) {
	nc := w.js.Conn()
	// The connection keeps its last error: only a new one is this refusal.
	before := nc.LastError()
	sub, err := nc.Subscribe(subject, cb)
	if err != nil {
		return nil, err
	}
	if err := sub.SetPendingLimits(advisoryPendingMsgs, advisoryPendingBytes); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("pending limits: %w", err)
	}
	if err := nc.FlushTimeout(w.src.cfg.ConnectTimeout); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("flush: %w", err)
	}
	// (deniesSubscription first: its errors compare; others may not.)
	if err := nc.LastError(); deniesSubscription(err, subject) && err != before {
		_ = sub.Unsubscribe()
		return nil, err
	}
	return sub, nil
}

// deniesSubscription reports whether err is the server's permissions
// violation for a subscription to subject.
func deniesSubscription(err error, subject string) bool {
	return errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `Subscription to "`+subject+`"`)
}

// onAckAdvisory dates the settle of one sampled ack of consumer k at the
// advisory's timestamp. A message the tap has not observed, or no longer
// remembers, is left to the ack floor.
func (w *consumerWatcher) onAckAdvisory(k consumerKey) nats.MsgHandler {
	s := w.src
	return func(m *nats.Msg) {
		a, err := parseAckAdvisory(m.Data, time.Now())
		if err == nil && (a.Stream != k.stream || a.Consumer != k.name) {
			err = fmt.Errorf("ack advisory of %s/%s on the subject of %s/%s", a.Stream, a.Consumer, k.stream, k.name)
		}
		if err != nil {
			s.set.Telemetry.Fault(w.ctx, System, faultConsumerInfo)
			s.log.Debug("NATS consumers: unusable ack advisory", zap.String("subject", m.Subject), zap.Error(err))
			return
		}
		if subject, ok := s.seqs[k.stream].subjectOf(a.StreamSeq); ok {
			s.tracker.SettledAt(k.name, subject, "", consumers.Position{Hi: a.StreamSeq}, a.Timestamp)
		}
	}
}

// errAheadOfStream is a consumer's floor beyond the stream's last sequence.
var errAheadOfStream = errors.New("ahead of the stream's last sequence")

// frontierOf is the first stream sequence a consumer has not settled: the
// one after its ack floor, or, with ack policy none (no acks to see), after
// the last message delivered. Stream sequences are dense, so that is
// floor+1 (Position.Next would give {floor, 1}, a position between two
// messages, which the index reads as a gap to interpolate). A floor beyond
// lastSeq, the stream's last sequence, makes no sense.
func frontierOf(stream string, info *jetstream.ConsumerInfo, lastSeq uint64) (consumers.Position, error) {
	switch {
	case info == nil || info.Name == "":
		return consumers.Position{}, errors.New("consumer without a name")
	case info.Stream != "" && info.Stream != stream:
		return consumers.Position{}, fmt.Errorf("consumer %q of stream %q listed under %q", info.Name, info.Stream, stream)
	}
	last := info.AckFloor.Stream
	if info.Config.AckPolicy == jetstream.AckNonePolicy {
		last = info.Delivered.Stream
	}
	if last > lastSeq || last == math.MaxUint64 {
		// last+1 would wrap.
		return consumers.Position{}, fmt.Errorf("consumer %q: floor %d: %w %d", info.Name, last, errAheadOfStream, lastSeq)
	}
	return consumers.Position{Hi: last + 1}, nil
}

// filtersOf returns a consumer's subject filters; none means every subject.
func filtersOf(cfg *jetstream.ConsumerConfig) []string {
	if cfg.FilterSubject != "" {
		return append([]string{cfg.FilterSubject}, cfg.FilterSubjects...)
	}
	return cfg.FilterSubjects
}

// badReply reports an error that is neither the server's error reply nor a
// transport failure: a reply the client could not read.
func badReply(err error) bool {
	var jsErr jetstream.JetStreamError
	if errors.As(err, &jsErr) && jsErr.APIError() != nil {
		return false
	}
	for _, transport := range []error{context.Canceled, context.DeadlineExceeded, nats.ErrTimeout,
		nats.ErrNoResponders, nats.ErrConnectionClosed, nats.ErrConnectionDraining, nats.ErrDisconnected} {
		if errors.Is(err, transport) {
			return false
		}
	}
	return true
}

func consumerNames(m map[consumerKey]*watchedConsumer) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k.stream+"/"+k.name)
	}
	slices.Sort(out)
	return out
}
