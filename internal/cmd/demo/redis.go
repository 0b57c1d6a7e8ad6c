package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gomodule/redigo/redis"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

const redisAddr = "127.0.0.1:6379"

// redisBroker publishes on a Pub/Sub channel and adds to a stream of the
// demo's own; the gateway subscribes to the channel and reads the stream
// with XREAD from its start.
type redisBroker struct {
	channel, stream string
	c               redis.Conn
}

func newRedis(run string) *redisBroker {
	return &redisBroker{channel: "demo-" + run + ":notifications", stream: "demo-" + run + ":orders"}
}

func (*redisBroker) name() string  { return "redis" }
func (*redisBroker) title() string { return "Redis" }
func (*redisBroker) addr() string  { return redisAddr }

// dialRedis opens the demo's connection; the demo sends one command at a time.
func dialRedis(ctx context.Context) (redis.Conn, error) {
	return redis.DialContext(ctx, "tcp", redisAddr, redis.DialConnectTimeout(5*time.Second),
		redis.DialReadTimeout(5*time.Second), redis.DialWriteTimeout(5*time.Second))
}

// do runs one command, given up when ctx ends. A connection that a timeout
// or an ended context closed is replaced first.
func (r *redisBroker) do(ctx context.Context, cmd string, args ...any) (any, error) {
	if r.c.Err() != nil {
		_ = r.c.Close()
		c, err := dialRedis(ctx)
		if err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		r.c = c
	}
	return redis.DoContext(r.c, ctx, cmd, args...)
}

func (r *redisBroker) setup(ctx context.Context) (string, error) {
	c, err := dialRedis(ctx)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	r.c = c
	if _, err := r.do(ctx, "PING"); err != nil {
		return "", fmt.Errorf("ping: %w", err)
	}
	return fmt.Sprintf("Pub/Sub channel %q and stream %q", r.channel, r.stream), nil
}

func (r *redisBroker) env() []string {
	return []string{
		"OTELCOL_MSG_REDIS_ENDPOINT=" + redisAddr,
		"OTELCOL_MSG_DEMO_REDIS_CHANNEL=" + r.channel,
		"OTELCOL_MSG_DEMO_REDIS_STREAM=" + r.stream,
	}
}

// waitTap waits for the tap's subscription to the channel. The stream needs
// no wait: the tap reads it from its first entry.
func (r *redisBroker) waitTap(ctx context.Context) error {
	return waitUntil(ctx, 50*time.Millisecond, "the Redis tap never subscribed to "+r.channel, func(ctx context.Context) (bool, error) {
		// PUBSUB NUMSUB replies [channel, subscribers].
		reply, err := redis.Values(r.do(ctx, "PUBSUB", "NUMSUB", r.channel))
		if err != nil {
			return false, err
		}
		var n int
		if len(reply) == 2 {
			n, err = redis.Int(reply[1], nil)
		}
		return err == nil && n > 0, err
	})
}

// traffic publishes as FastStream's Redis publisher does (a binary envelope
// carrying the headers; in a stream, in the field __data__): a notification
// on the channel, an order to the stream, and an entry from an
// uninstrumented producer, plain fields without an envelope.
func (r *redisBroker) traffic(ctx context.Context, out io.Writer, a *app, exp *expectation) error {
	envelope := func(dest, baggage string, body []byte) (string, func(error)) {
		corrID := newMessageID()
		span, header := a.publishScope(nil, dest, func(m pcommon.Map) {
			m.PutStr(attrSystem, "redis")
			m.PutStr(attrDestination, dest)
			m.PutStr(attrConversationID, corrID)
		})
		env := fastStreamEnvelope(body,
			"content-type", "application/json",
			"correlation_id", corrID,
			"message_id", newMessageID(),
			"traceparent", header.traceparent(),
			"baggage", baggage)
		return string(env), func(err error) { endPublish(span, time.Now(), err) }
	}

	env, done := envelope(r.channel, "user_id=42", []byte(`{"note":"order 10 is on its way"}`))
	_, err := r.do(ctx, "PUBLISH", r.channel, env)
	done(err)
	if err != nil {
		return fmt.Errorf("Redis PUBLISH to %s: %w", r.channel, err)
	}
	env, done = envelope(r.stream, "tenant=initech", []byte(`{"order":10}`))
	_, err = r.do(ctx, "XADD", r.stream, "*", "__data__", env)
	done(err)
	if err != nil {
		return fmt.Errorf("Redis XADD to %s: %w", r.stream, err)
	}
	if _, err := r.do(ctx, "XADD", r.stream, "*", "order", "11", "source", "legacy-billing"); err != nil {
		return fmt.Errorf("Redis XADD to %s: %w", r.stream, err)
	}
	fmt.Fprintf(out, "  faststream app: published to Redis channel %q and added to stream %q; an uninstrumented producer added one more entry\n",
		r.channel, r.stream)
	exp.perMessage[r.channel]++
	exp.perMessage[r.stream] += 2
	exp.rebuilt[r.stream]++
	return nil
}

func (r *redisBroker) close() {
	if r.c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = r.do(ctx, "DEL", r.stream) // also when the demo's context ended
	_ = r.c.Close()
}

// fastStreamEnvelope is FastStream's BinaryMessageFormatV1 (0.6 and later),
// as its Redis publisher writes it: magic, u16 version, u32 offset of the
// headers, u32 offset of the body, u16 header count, each key and value
// with a u16 length, then the body; integers big-endian. keyValues holds
// header keys and values in turn; a header with an empty value is left out.
func fastStreamEnvelope(body []byte, keyValues ...string) []byte {
	const headersAt = 8 + 2 + 4 + 4
	var headers []byte
	count := 0
	for i := 0; i+1 < len(keyValues); i += 2 {
		if keyValues[i+1] == "" {
			continue
		}
		for _, s := range keyValues[i : i+2] {
			headers = binary.BigEndian.AppendUint16(headers, uint16(len(s)))
			headers = append(headers, s...)
		}
		count++
	}
	out := []byte("\x89BIN\r\n\x1a\n")
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint32(out, headersAt)
	out = binary.BigEndian.AppendUint32(out, uint32(headersAt+2+len(headers)))
	out = binary.BigEndian.AppendUint16(out, uint16(count))
	out = append(out, headers...)
	return append(out, body...)
}
