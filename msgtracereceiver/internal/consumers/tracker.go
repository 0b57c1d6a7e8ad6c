package consumers

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/internal/traceparent"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// Settings configure a Tracker.
type Settings struct {
	// System is messaging.system of the source.
	System string
	// OperationName is messaging.operation.name of the settle spans: what
	// the broker shows ("commit", "ack", "deliver").
	OperationName string
	// Config is the source's consumers block.
	Config Config
	// OwnGroup is the tap's own group, never watched.
	OwnGroup string
	// Source is what the receiver handed the source: its logger and where
	// derived spans and metrics go.
	Source message.Settings
	// PositionAttr, when set, writes a message's position on its settle
	// span (Kafka: messaging.kafka.offset).
	PositionAttr func(attrs pcommon.Map, pos Position)
}

// Tracker turns the positions application consumer groups have settled
// into settle spans and consumer metrics. Sources call Observe for every
// tapped message; watchers call Frontier (or Settled) and then Flush once
// per poll. It is safe for concurrent use.
type Tracker struct {
	set      Settings
	cfg      Config
	matcher  *GroupMatcher
	logger   *zap.Logger
	capBytes int64
	start    pcommon.Timestamp

	mu    sync.RWMutex // guards parts (the map); each partition has its lock
	parts map[partKey]*lockedPartition
	bytes atomic.Int64 // tracked entries of every partition, in bytes

	outMu   sync.Mutex // guards pending
	pending ptrace.Traces
	nSpans  int
}

type partKey struct{ dest, part string }

type lockedPartition struct {
	mu sync.Mutex
	p  partition
}

// New returns a Tracker for a validated, enabled Config.
func New(set Settings) (*Tracker, error) {
	m, err := NewGroupMatcher(set.Config.Groups, set.OwnGroup)
	if err != nil {
		return nil, err
	}
	logger := set.Source.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	t := &Tracker{
		set:      set,
		cfg:      set.Config,
		matcher:  m,
		logger:   logger,
		capBytes: set.Config.MaxTrackedBytes,
		start:    pcommon.NewTimestampFromTime(time.Now()),
		parts:    make(map[partKey]*lockedPartition),
		pending:  ptrace.NewTraces(),
	}
	if t.capBytes <= 0 {
		t.capBytes = DefaultMaxTrackedBytes
	}
	return t, nil
}

// Config returns the consumers block the tracker was built with.
func (t *Tracker) Config() Config { return t.cfg }

// Watched reports whether group is watched: it matches consumers.groups
// (every group when empty) and is not the tap's own.
func (t *Tracker) Watched(group string) bool { return t.matcher.Match(group) }

// Matcher returns the tracker's group matcher.
func (t *Tracker) Matcher() *GroupMatcher { return t.matcher }

// partition returns the index of dest/part, creating it.
func (t *Tracker) partition(dest, part string) *lockedPartition {
	k := partKey{dest, part}
	t.mu.RLock()
	lp := t.parts[k]
	t.mu.RUnlock()
	if lp != nil {
		return lp
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if lp = t.parts[k]; lp == nil {
		lp = &lockedPartition{p: partition{dest: dest, part: part, groups: map[string]*groupState{}}}
		lp.p.stride = uint64(max(64, t.capBytes/entryBytes/maxCheckpoints))
		t.parts[k] = lp
	}
	return lp
}

// Observe records a tapped message at its position. Messages of one
// partition must come in position order: one at or before the newest
// observed (a re-read after a rebalance) is ignored. It does not allocate
// in the steady state.
func (t *Tracker) Observe(m message.Message, pos Position) {
	t.observe(&m, pos)
}

func (t *Tracker) observe(m *message.Message, pos Position) {
	e := entry{pos: pos, hasPos: true, created: createdNanos(m), idHash: xxhash.Sum64String(m.Identity)}
	c := t.creation(m)
	e.traceID, e.spanID, e.keep, e.remote = c.TraceID, c.SpanID, c.Keep, c.Remote

	lp := t.partition(m.Destination, m.Partition)
	lp.mu.Lock()
	p := &lp.p
	if p.observed && !p.lastPos.Less(pos) {
		lp.mu.Unlock()
		return
	}
	p.observed, p.lastPos, p.lastCreated = true, pos, e.created
	p.push(e)
	over := t.bytes.Add(entryBytes) > t.capBytes
	if over && len(p.live()) > 1 {
		// Evict from the partition that grows, an eighth at a time so that
		// eviction is amortised; its groups keep their anchors, and what
		// they settle there is interpolated (see the README).
		n := max(1, len(p.live())/8)
		p.drop(n)
		t.bytes.Add(-int64(n) * entryBytes)
	}
	lp.mu.Unlock()
}

func (t *Tracker) creation(m *message.Message) message.Creation {
	if f := t.set.Source.Derived.Creation; f != nil {
		return f(m)
	}
	// No span model (a source built without the receiver): the traceparent
	// alone decides, as with spans.rebuild: never.
	if pc, err := traceparent.Parse(m.TraceParent); err == nil {
		return message.Creation{TraceID: pc.TraceID, SpanID: pc.SpanID, Remote: true, Keep: pc.Sampled()}
	}
	return message.Creation{Keep: true}
}

// createdNanos is the message's creation time as its spans have it: its
// own timestamp, or when the tap saw it if that is missing or unusable.
func createdNanos(m *message.Message) int64 {
	obs := m.Observed
	if obs.IsZero() {
		obs = time.Now()
	}
	if ts := m.Timestamp; !ts.IsZero() && ts.Unix() > 0 && !ts.After(obs) {
		return ts.UnixNano()
	}
	return obs.UnixNano()
}

// Frontier records that group has settled every message of dest/part
// before settledBefore (Kafka committed-offset semantics: committed N means
// N-1 and before are done), as seen by the poll at time at. Watchers call
// it at every poll for every watched group and partition, moved or not: it
// also refreshes the lag gauges and the stuck count.
//
// The first call for a group and partition only sets its baseline: what it
// settled before the tap knew it yields no span. A frontier that goes back
// (a group reset to earlier offsets) lowers the lag baseline but yields no
// settle span again for messages it had already passed.
func (t *Tracker) Frontier(group, dest, part string, settledBefore Position, at time.Time) {
	if !t.matcher.Match(group) {
		return
	}
	lp := t.partition(dest, part)
	lp.mu.Lock()
	defer lp.mu.Unlock()
	p := &lp.p
	g := p.group(group)
	now := at.UnixNano()
	if !g.seen {
		g.seen = true
		g.frontier, g.high, g.baseline = settledBefore, settledBefore, settledBefore
		g.next, _, _ = p.ordinalOf(settledBefore)
		g.stuckNext, g.lastPoll = g.next, now
		g.setAnchor(p)
		g.updateLag(p, now)
		return
	}
	if settledBefore != g.frontier || !g.anchorOK {
		g.frontier = settledBefore
		if g.high.Less(settledBefore) {
			g.high = settledBefore
		}
		g.setAnchor(p)
	}
	t.settleUpTo(p, group, g, now)
	t.bytes.Add(-int64(g.pruneEarly()) * earlyBytes)
	g.lastPoll = now
	g.countStuck(p, now, t.cfg.StuckAfter)
	g.updateLag(p, now)
	t.trim(p)
}

// settleUpTo emits what group settled since its last poll: every observed
// message from g.next on positioned before g.high.
func (t *Tracker) settleUpTo(p *partition, group string, g *groupState, now int64) {
	if g.next < p.base {
		// Settled messages that left the index (the byte cap evicted them):
		// no span, their wait interpolated from the checkpoints.
		upTo, _, _ := p.ordinalOf(g.high)
		upTo = min(upTo, p.base)
		if upTo > g.next {
			n := upTo - g.next
			mid := p.createdAt(g.next + n/2)
			// Those SettledAt dated are counted already, and had their span.
			k := g.earlyBefore(upTo)
			g.untracked += int64(n - k)
			g.hist.recordN(seconds(now-mid), n-k)
			g.next = upTo
		}
		if g.next < p.base {
			return
		}
	}
	live := p.live()
	i := int(g.next - p.base)
	// Messages before the baseline were settled before the group was first
	// seen, possibly observed by the tap only after that poll: no settle.
	for i < len(live) && live[i].pos.Less(g.baseline) {
		i++
	}
	g.next = p.base + uint64(i)
	j := i
	for j < len(live) && live[j].pos.Less(g.high) {
		j++
	}
	if j == i {
		return
	}
	settled := live[i:j]
	first := g.next
	g.next += uint64(j - i)
	for k := range settled {
		// Those SettledAt dated have their time in queue already (only
		// JetStream has any: others skip the search).
		if len(g.early) == 0 || !g.isEarly(first+uint64(k)) {
			g.hist.record(seconds(now - settled[k].created))
		}
	}
	switch t.cfg.Spans {
	case SpansSettle:
		t.appendSettleRuns(p, group, g, settled, first, now)
	case SpansCommit:
		// The poll's commit span links every message it passed, dated by
		// SettledAt or not.
		t.appendCommitSpan(p, group, g, settled, now)
	}
}

// appendSettleRuns adds the settle spans of settled, whose first ordinal
// is first, but for the messages SettledAt dated: they have theirs.
func (t *Tracker) appendSettleRuns(p *partition, group string, g *groupState, settled []entry, first uint64, now int64) {
	if len(g.early) == 0 {
		t.appendSettleSpans(p, group, settled, now)
		return
	}
	run := 0
	for k := range settled {
		if g.isEarly(first + uint64(k)) {
			if k > run {
				t.appendSettleSpans(p, group, settled[run:k], now)
			}
			run = k + 1
		}
	}
	if run < len(settled) {
		t.appendSettleSpans(p, group, settled[run:], now)
	}
}

// trim forgets what every known group of p has settled.
func (t *Tracker) trim(p *partition) {
	if len(p.groups) == 0 {
		return
	}
	low := p.end()
	for _, g := range p.groups {
		if g.seen && !g.perMessage {
			low = min(low, g.next)
		}
	}
	if low > p.base {
		n := int(low - p.base)
		p.drop(n)
		t.bytes.Add(-int64(n) * entryBytes)
	}
}

// Settled records that group settled one message at time at, for brokers
// that report settles per message (RabbitMQ firehose deliver.<queue>:
// group = the queue). It needs no Observe of the message, and such a
// group has no lag gauges: nothing says what waits in the queue.
func (t *Tracker) Settled(group string, m message.Message, at time.Time) {
	if !t.matcher.Match(group) {
		return
	}
	created := createdNanos(&m)
	c := t.creation(&m)
	e := entry{created: created, idHash: xxhash.Sum64String(m.Identity),
		traceID: c.TraceID, spanID: c.SpanID, keep: c.Keep, remote: c.Remote}
	lp := t.partition(m.Destination, m.Partition)
	lp.mu.Lock()
	defer lp.mu.Unlock()
	p := &lp.p
	g := p.group(group)
	g.seen, g.perMessage = true, true
	now := at.UnixNano()
	g.hist.record(seconds(now - created))
	switch t.cfg.Spans {
	case SpansSettle:
		t.appendSettleSpans(p, group, []entry{e}, now)
	case SpansCommit:
		// One message is its own commit.
		t.appendCommitSpan(p, group, g, []entry{e}, now)
	}
	g.lastPoll = now
}

// SettledAt records that group settled the message of dest/part at pos at
// time at, for a group that settles through Frontier but whose broker also
// dates some of its settles one by one (JetStream ack advisories of a
// consumer with sample_freq). That message's settle span ends at at (or at
// its creation, if at is earlier) and its time in queue is the difference;
// when the frontier passes it later, it is not settled again, and the other
// messages it passes keep the poll's time. In commit spans mode the poll's
// commit span still links it.
//
// It is ignored when the message is not in the index (not observed yet,
// evicted by max_tracked_bytes, or settled by every group), when the group has no baseline yet (no
// Frontier) or the message is before it, when the group's frontier passed
// it already, when it was dated before, and beyond maxEarlySettles dated
// messages of the group and partition ahead of its frontier: the frontier
// dates those as without SettledAt.
func (t *Tracker) SettledAt(group, dest, part string, pos Position, at time.Time) {
	if !t.matcher.Match(group) {
		return
	}
	t.mu.RLock()
	lp := t.parts[partKey{dest, part}]
	t.mu.RUnlock()
	if lp == nil {
		return
	}
	lp.mu.Lock()
	defer lp.mu.Unlock()
	p := &lp.p
	g := p.groups[group]
	if g == nil || !g.seen || g.perMessage || pos.Less(g.baseline) || pos.Less(g.high) {
		return
	}
	live := p.live()
	i := sort.Search(len(live), func(i int) bool { return !live[i].pos.Less(pos) })
	if i == len(live) || live[i].pos != pos {
		return
	}
	ord := p.base + uint64(i)
	if ord < g.next || !g.addEarly(ord) {
		return
	}
	t.bytes.Add(earlyBytes)
	// Not before the message was created: a settle span ends after it
	// starts, whatever the broker's clock says.
	now := max(at.UnixNano(), live[i].created)
	g.hist.record(seconds(now - live[i].created))
	if t.cfg.Spans == SpansSettle {
		t.appendSettleSpans(p, group, live[i:i+1], now)
	}
}

// Forget drops group from every partition (it no longer exists or is no
// longer watched), so that it holds no message in the index.
func (t *Tracker) Forget(group string) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, lp := range t.parts {
		t.forgetIn(lp, group)
	}
}

// ForgetOn drops group from dest/part alone, for a group that no longer
// settles there though it lives on elsewhere (a consumer whose filter left
// the subject, or one of the same name on another stream): it holds no
// message of that partition and has no series there. A later Frontier
// starts it again from a baseline.
func (t *Tracker) ForgetOn(group, dest, part string) {
	t.mu.RLock()
	lp := t.parts[partKey{dest, part}]
	t.mu.RUnlock()
	if lp != nil {
		t.forgetIn(lp, group)
	}
}

// forgetIn drops group from one partition and trims what it held there.
func (t *Tracker) forgetIn(lp *lockedPartition, group string) {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if g, ok := lp.p.groups[group]; ok {
		t.bytes.Add(-int64(len(g.early)) * earlyBytes)
		delete(lp.p.groups, group)
		t.trim(&lp.p)
	}
}

// TrackedBytes is what the index holds now, counted against max_tracked_bytes.
func (t *Tracker) TrackedBytes() int64 { return t.bytes.Load() }

// Flush sends the settle spans built since the last Flush and the consumer
// metrics as of at. Watchers call it after each poll. Errors of the next
// consumers are logged: spans are best effort (a settle is not a message to
// redeliver) and metrics are cumulative, so the next Flush catches up.
func (t *Tracker) Flush(ctx context.Context, at time.Time) {
	t.outMu.Lock()
	td, n := t.pending, t.nSpans
	t.pending, t.nSpans = ptrace.NewTraces(), 0
	t.outMu.Unlock()
	d := t.set.Source.Derived
	if n > 0 && d.Traces != nil {
		if err := d.Traces.ConsumeTraces(ctx, td); err != nil {
			t.logger.Warn("settle spans refused by the next consumer", zap.Int("spans", n), zap.Error(err))
		}
	}
	if d.Metrics == nil {
		return
	}
	md, points := t.metrics(at)
	if points == 0 {
		return
	}
	if err := d.Metrics.ConsumeMetrics(ctx, md); err != nil {
		t.logger.Warn("consumer metrics refused by the next consumer", zap.Error(err))
	}
}

func seconds(nanos int64) float64 {
	if nanos < 0 {
		return 0
	}
	return float64(nanos) / 1e9
}
