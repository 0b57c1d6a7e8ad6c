package redissource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// settleOperation is messaging.operation.name of Redis settle spans: an
// entry leaves a group's pending entries list with XACK.
const settleOperation = "ack"

// faultConsumerInfo counts an XINFO GROUPS or XPENDING reply the watcher
// cannot read; that poll skips the group.
const faultConsumerInfo = "consumer_info"

// newTracker returns the consumers tracker of a block with consumers
// enabled, nil otherwise. The taps' own group (group::name) is never watched.
func newTracker(cfg *Config, set message.Settings) (*consumers.Tracker, error) {
	if !cfg.Consumers.Enabled {
		return nil, nil
	}
	return consumers.New(consumers.Settings{
		System:        System,
		OperationName: settleOperation,
		Config:        cfg.Consumers,
		OwnGroup:      cfg.Group.Name,
		Source:        set,
	})
}

// validateConsumers reports a consumers block that cannot watch anything:
// only streams have consumer groups.
func (c *Config) validateConsumers() error {
	if c.Consumers.Enabled && len(c.Streams) == 0 {
		return errors.New("consumers::enabled needs streams: Pub/Sub has no consumer groups to watch")
	}
	return nil
}

// entryPosition reads a stream entry ID "<ms>-<seq>" as a position.
func entryPosition(id string) (consumers.Position, bool) {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok {
		return consumers.Position{}, false
	}
	hi, err := strconv.ParseUint(ms, 10, 64)
	if err != nil {
		return consumers.Position{}, false
	}
	lo, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return consumers.Position{}, false
	}
	return consumers.Position{Hi: hi, Lo: lo}, true
}

// observe hands one delivered stream entry to the tracker.
func (s *source) observe(m *message.Message, id string) {
	if s.tracker == nil {
		return
	}
	if pos, ok := entryPosition(id); ok {
		s.tracker.Observe(*m, pos)
	}
}

// groupState is what XINFO GROUPS tells of one consumer group.
type groupState struct {
	name          string
	lastDelivered consumers.Position
}

// pendingInfo is the summary form of XPENDING: how many entries the group
// was delivered and has not acknowledged, and the oldest of them.
type pendingInfo struct {
	count    int64
	smallest consumers.Position
}

// frontier is the first entry the group has not settled: the oldest pending
// entry, or the one after the last delivered when nothing is pending.
func frontier(g groupState, p pendingInfo) consumers.Position {
	next := g.lastDelivered.Next()
	if p.count > 0 && p.smallest.Less(next) {
		return p.smallest
	}
	return next
}

// parseXInfoGroups reads an XINFO GROUPS reply: one flat field/value array
// per group (RESP2).
func parseXInfoGroups(reply any) ([]groupState, error) {
	groups, err := redis.Values(reply, nil)
	if err != nil {
		return nil, err
	}
	out := make([]groupState, 0, len(groups))
	for i, g := range groups {
		kv, err := redis.Values(g, nil)
		if err != nil {
			return nil, fmt.Errorf("group %d: %w", i, err)
		}
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("group %d: odd number of fields", i)
		}
		var (
			gi                 groupState
			hasName, hasLastID bool
		)
		for j := 0; j < len(kv); j += 2 {
			k, err := redis.String(kv[j], nil)
			if err != nil {
				return nil, fmt.Errorf("group %d: field name: %w", i, err)
			}
			switch k {
			case "name":
				if gi.name, err = redis.String(kv[j+1], nil); err != nil {
					return nil, fmt.Errorf("group %d: name: %w", i, err)
				}
				hasName = true
			case "last-delivered-id":
				id, err := redis.String(kv[j+1], nil)
				if err != nil {
					return nil, fmt.Errorf("group %d: last-delivered-id: %w", i, err)
				}
				if gi.lastDelivered, hasLastID = entryPosition(id); !hasLastID {
					return nil, fmt.Errorf("group %d: last-delivered-id %q is not an entry ID", i, id)
				}
			}
		}
		if !hasName || !hasLastID {
			return nil, fmt.Errorf("group %d: no name or last-delivered-id", i)
		}
		out = append(out, gi)
	}
	return out, nil
}

// parseXPending reads the summary form of XPENDING:
// [count, smallest ID or nil, greatest ID or nil, [[consumer, count]...] or nil].
func parseXPending(reply any) (pendingInfo, error) {
	v, err := redis.Values(reply, nil)
	if err != nil {
		return pendingInfo{}, err
	}
	if len(v) < 2 {
		return pendingInfo{}, fmt.Errorf("%d elements, want at least 2", len(v))
	}
	var p pendingInfo
	if p.count, err = redis.Int64(v[0], nil); err != nil {
		return pendingInfo{}, fmt.Errorf("count: %w", err)
	}
	if p.count < 0 {
		return pendingInfo{}, fmt.Errorf("count %d is negative", p.count)
	}
	if p.count == 0 {
		return p, nil
	}
	id, err := redis.String(v[1], nil)
	if err != nil {
		return pendingInfo{}, fmt.Errorf("smallest ID: %w", err)
	}
	var ok bool
	if p.smallest, ok = entryPosition(id); !ok {
		return pendingInfo{}, fmt.Errorf("smallest ID %q is not an entry ID", id)
	}
	return p, nil
}

// watchConsumers polls, every consumers.poll_interval until ctx ends, the
// consumer groups of the tapped streams: XINFO GROUPS for their last
// delivered entry and XPENDING for what they were delivered but have not
// acknowledged, on a connection of its own. It returns at once when
// consumers are not enabled.
func (s *source) watchConsumers(ctx context.Context) {
	if s.tracker == nil {
		return
	}
	w := &groupWatcher{src: s, known: map[string]struct{}{}}
	defer w.close()
	consumers.Poll(ctx, s.cfg.Consumers.PollInterval, w.poll)
}

// groupWatcher is the state of watchConsumers between polls.
type groupWatcher struct {
	src      *source
	c        redis.Conn
	closeNow func()
	// known are the groups watched at the last poll, so that a group gone
	// from every stream is forgotten (it would pin entries in the index).
	known  map[string]struct{}
	warned bool
}

func (w *groupWatcher) close() {
	if w.closeNow != nil {
		w.closeNow()
		w.c, w.closeNow = nil, nil
	}
}

func (w *groupWatcher) poll(ctx context.Context) {
	s, tr := w.src, w.src.tracker
	if w.c == nil {
		c, err := s.dial(ctx, true)
		if err != nil {
			if !w.warned && ctx.Err() == nil {
				s.log.Warn("Redis consumers: cannot connect; retrying at the next poll", zap.Error(err))
			}
			w.warned = true
			return
		}
		w.c, w.closeNow, w.warned = c, closeOnDone(ctx, c), false
	}
	seen := make(map[string]struct{}, len(w.known))
	for _, st := range s.cfg.Streams {
		if err := w.pollStream(ctx, st.Name, seen); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Debug("Redis consumers: polling the groups of a stream", zap.String("stream", st.Name), zap.Error(err))
			var rerr redis.Error
			if !errors.As(err, &rerr) {
				w.close() // the connection is broken: dial again next time
				return
			}
		}
	}
	for g := range w.known {
		if _, ok := seen[g]; !ok {
			tr.Forget(g)
		}
	}
	if !mapsEqualKeys(seen, w.known) {
		s.log.Info("Redis consumers: watching groups", zap.Strings("groups", sortedKeys(seen)))
	}
	w.known = seen
	tr.Flush(ctx, time.Now())
}

// pollStream reports the frontier of every watched group of stream.
func (w *groupWatcher) pollStream(ctx context.Context, stream string, seen map[string]struct{}) error {
	s, tr := w.src, w.src.tracker
	reply, err := w.c.Do("XINFO", "GROUPS", stream)
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) && strings.Contains(rerr.Error(), "no such key") {
			return nil // the stream does not exist (yet)
		}
		return fmt.Errorf("xinfo groups: %w", err)
	}
	groups, err := parseXInfoGroups(reply)
	if err != nil {
		s.set.Telemetry.Fault(ctx, System, faultConsumerInfo)
		s.log.Debug("Redis consumers: malformed XINFO GROUPS reply", zap.String("stream", stream), zap.Error(err))
		return nil
	}
	for _, g := range groups {
		if !tr.Watched(g.name) {
			continue
		}
		reply, err := w.c.Do("XPENDING", stream, g.name)
		if err != nil {
			return fmt.Errorf("xpending %s: %w", g.name, err)
		}
		at := time.Now()
		p, err := parseXPending(reply)
		if err != nil {
			s.set.Telemetry.Fault(ctx, System, faultConsumerInfo)
			s.log.Debug("Redis consumers: malformed XPENDING reply", zap.String("stream", stream), zap.String("group", g.name), zap.Error(err))
			continue
		}
		seen[g.name] = struct{}{}
		tr.Frontier(g.name, stream, "", frontier(g, p), at)
	}
	return nil
}

func mapsEqualKeys(a, b map[string]struct{}) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
