package redissource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// GroupConfig reads the streams through a consumer group of the taps, so
// that replicas of the tap split the entries: Redis hands each entry to one
// consumer of the group. The group is the taps' own; the applications' groups
// and the entries themselves are never touched (XACK acknowledges in this
// group only, and no entry is deleted).
type GroupConfig struct {
	// Name is the taps' consumer group, created on each stream at its
	// start_id when missing. Empty: every replica reads every entry with
	// XREAD.
	Name string `mapstructure:"name"`
	// Consumer names this replica in the group. Empty: the host name and
	// process ID, unique per running replica.
	Consumer string `mapstructure:"consumer"`
	// ClaimIdle is how long an entry may stay read but unacknowledged by
	// another consumer (one that died or lost its connection) before this
	// replica claims it (XAUTOCLAIM) and traces it.
	ClaimIdle time.Duration `mapstructure:"claim_idle"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// defaultClaimIdle is GroupConfig.ClaimIdle's default.
const defaultClaimIdle = 30 * time.Second

// validate reports the block's errors, named by option; streams is how
// many streams the block lists.
func (g *GroupConfig) validate(streams int) []error {
	if g.Name != "" && streams == 0 {
		return []error{errors.New("group::name is set, but there are no streams to read through it")}
	}
	if g.Name == "" {
		if g.Consumer != "" {
			return []error{errors.New("group::consumer is set without group::name")}
		}
		return nil
	}
	var errs []error
	if strings.ContainsAny(g.Name, " \t\r\n") {
		errs = append(errs, fmt.Errorf("group::name %q must not contain whitespace", g.Name))
	}
	if strings.ContainsAny(g.Consumer, " \t\r\n") {
		errs = append(errs, fmt.Errorf("group::consumer %q must not contain whitespace", g.Consumer))
	}
	if g.ClaimIdle < time.Second {
		errs = append(errs, fmt.Errorf("group::claim_idle must be at least 1s, got %s", g.ClaimIdle))
	}
	return errs
}

// consumerName is this replica's name in the group.
func (g *GroupConfig) consumerName() string {
	if g.Consumer != "" {
		return g.Consumer
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "otelcol-msg"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// runGroup reads the streams through the group until ctx ends,
// reconnecting with backoff.
func (s *source) runGroup(ctx context.Context, host component.Host) {
	b := s.cfg.Reconnect.NewBackOff()
	consumer := s.cfg.Group.consumerName()
	var limit limitState
	for ctx.Err() == nil {
		err := s.groupSession(ctx, consumer, &limit, func() {
			b.Reset()
			componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
			s.log.Info("Redis Streams tap reading through its consumer group", zap.String("endpoint", s.cfg.Endpoint),
				zap.String("group", s.cfg.Group.Name), zap.String("consumer", consumer))
		})
		if ctx.Err() != nil {
			return
		}
		componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("redis: %w", err)))
		wait := b.NextBackOff()
		s.log.Warn("Redis Streams group tap interrupted; reconnecting", zap.String("endpoint", s.cfg.Endpoint), zap.Error(err), zap.Duration("retry_in", wait))
		if !message.Sleep(ctx, wait) {
			return
		}
	}
}

// groupSession runs one connection: it creates the group where missing,
// traces what this consumer read but had not acknowledged (a restart with
// the same name), then reads new entries, claiming those another consumer
// left pending for claim_idle. After a read that ended beyond the caps it
// first drains this consumer's pending entries carefully (oversized.go).
func (s *source) groupSession(ctx context.Context, consumer string, limit *limitState, reading func()) (err error) {
	defer func() {
		if ctx.Err() == nil {
			s.ended(context.WithoutCancel(ctx), limit, err, isStreamRead(err))
		}
	}()
	c, err := s.dial(ctx, false)
	if err != nil {
		return err
	}
	closeNow := closeOnDone(ctx, c)
	defer closeNow()
	for _, st := range s.cfg.Streams {
		if err := s.createGroup(c, st); err != nil {
			return err
		}
	}
	reading()
	if limit.err != nil {
		found, err := s.drainCarefully(ctx, c, consumer)
		if found {
			limit.err = nil // an oversized entry, counted as such, explains it
		}
		if err != nil {
			return err
		}
		limit.flush(ctx, s)
	}
	// Own pending entries: "0" returns them until none is left.
	for {
		n, err := s.readGroup(ctx, c, consumer, "0", false)
		if err != nil || n == 0 {
			if err != nil {
				return err
			}
			break
		}
	}
	nextClaim := time.Now()
	for {
		if !time.Now().Before(nextClaim) {
			for _, st := range s.cfg.Streams {
				if err := s.claim(ctx, c, consumer, st.Name); err != nil {
					return err
				}
			}
			nextClaim = time.Now().Add(s.cfg.Group.ClaimIdle / 2)
		}
		if _, err := s.readGroup(ctx, c, consumer, ">", true); err != nil {
			return err
		}
	}
}

// createGroup creates the taps' group on a stream at its start_id; an
// existing group keeps its position. A missing stream is an error (retried
// with backoff): the tap never creates an application's stream.
func (s *source) createGroup(c redis.Conn, st StreamConfig) error {
	start := st.StartID
	if start == "" {
		start = StartNew
	}
	_, err := c.Do("XGROUP", "CREATE", st.Name, s.cfg.Group.Name, start)
	var rerr redis.Error
	switch {
	case err == nil:
		s.log.Info("Redis Streams tap created its consumer group", zap.String("stream", st.Name),
			zap.String("group", s.cfg.Group.Name), zap.String("start_id", start))
		return nil
	case errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "BUSYGROUP"):
		return nil
	default:
		return fmt.Errorf("xgroup create %s %s: %w", st.Name, s.cfg.Group.Name, err)
	}
}

// readGroup reads once with XREADGROUP from id (">" new entries, "0" this
// consumer's pending ones), delivers and acknowledges; it returns how many
// entries it read.
func (s *source) readGroup(ctx context.Context, c redis.Conn, consumer, id string, block bool) (int, error) {
	args := make([]any, 0, 8+2*len(s.cfg.Streams))
	args = append(args, "GROUP", s.cfg.Group.Name, consumer, "COUNT", s.cfg.MaxBatchSize)
	timeout := s.ioTimeout
	if block {
		args = append(args, "BLOCK", s.cfg.Block.Milliseconds())
		timeout += s.cfg.Block
	}
	args = append(args, "STREAMS")
	for _, st := range s.cfg.Streams {
		args = append(args, st.Name)
	}
	for range s.cfg.Streams {
		args = append(args, id)
	}
	reply, err := redis.DoWithTimeout(c, timeout, "XREADGROUP", args...)
	if err != nil {
		return 0, &streamReadError{fmt.Errorf("xreadgroup: %w", err)}
	}
	res, err := parseXRead(reply)
	if err != nil {
		return 0, fmt.Errorf("xreadgroup: malformed reply: %w", err)
	}
	n := 0
	for i := range res {
		st := &res[i]
		if len(st.Entries) == 0 {
			continue
		}
		if err := s.deliverAndAck(ctx, c, st); err != nil {
			return n, err
		}
		n += len(st.Entries)
	}
	return n, nil
}

// claim takes over the entries of a stream pending on any consumer for at
// least claim_idle (XAUTOCLAIM, Redis 6.2), delivers and acknowledges them.
func (s *source) claim(ctx context.Context, c redis.Conn, consumer, stream string) error {
	cursor := "0-0"
	for {
		reply, err := c.Do("XAUTOCLAIM", stream, s.cfg.Group.Name, consumer, s.cfg.Group.ClaimIdle.Milliseconds(), cursor, "COUNT", s.cfg.MaxBatchSize)
		if err != nil {
			// A claimed entry beyond the caps is pending on this consumer now.
			return &streamReadError{fmt.Errorf("xautoclaim %s: %w", stream, err)}
		}
		next, entries, err := parseAutoClaim(reply)
		if err != nil {
			return fmt.Errorf("xautoclaim %s: malformed reply: %w", stream, err)
		}
		if len(entries) > 0 {
			s.log.Debug("Redis Streams tap claimed entries another consumer left pending",
				zap.String("stream", stream), zap.Int("entries", len(entries)))
			if err := s.deliverAndAck(ctx, c, &streamRead{Stream: stream, Entries: entries}); err != nil {
				return err
			}
		}
		if next == "0-0" {
			return nil
		}
		cursor = next
	}
}

// deliverAndAck traces the entries and, once the pipeline accepted their
// spans, acknowledges them in the taps' group.
func (s *source) deliverAndAck(ctx context.Context, c redis.Conn, st *streamRead) error {
	if err := s.deliverStream(ctx, st); err != nil {
		return err
	}
	args := make([]any, 0, 2+len(st.Entries))
	args = append(args, st.Stream, s.cfg.Group.Name)
	for _, e := range st.Entries {
		args = append(args, e.ID)
	}
	if _, err := c.Do("XACK", args...); err != nil {
		return fmt.Errorf("xack %s: %w", st.Stream, err)
	}
	return nil
}

// parseAutoClaim reads an XAUTOCLAIM reply: [next cursor, [entries], ...]
// (Redis 7 adds the IDs of deleted entries, which it drops from the
// pending list itself).
func parseAutoClaim(reply any) (string, []entry, error) {
	parts, ok := reply.([]any)
	if !ok || len(parts) < 2 {
		return "", nil, fmt.Errorf("reply is %s, want [cursor, entries, ...]", kindOf(reply))
	}
	next, err := redis.String(parts[0], nil)
	if err != nil {
		return "", nil, fmt.Errorf("cursor is %s", kindOf(parts[0]))
	}
	list, ok := parts[1].([]any)
	if !ok && parts[1] != nil {
		return "", nil, fmt.Errorf("entries are %s, want an array", kindOf(parts[1]))
	}
	entries := make([]entry, 0, len(list))
	for i, v := range list {
		if v == nil {
			continue // Redis 6.2: an entry deleted meanwhile
		}
		e, err := parseEntry(v)
		if err != nil {
			return "", nil, fmt.Errorf("entry %d: %w", i, err)
		}
		entries = append(entries, e)
	}
	return next, entries, nil
}
