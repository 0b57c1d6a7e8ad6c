package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

const natsAddr = "127.0.0.1:4222"

// natsBroker publishes on a core subject and to a JetStream stream of the
// demo's own; the gateway subscribes to the subject and reads the stream
// through an ordered consumer.
type natsBroker struct {
	// subject is the core subject; the stream takes root.orders.>.
	subject, stream, streamSubject string
	nc                             *nats.Conn
	js                             jetstream.JetStream
}

func newNATS(run string) *natsBroker {
	root := "demo-" + run
	return &natsBroker{
		subject:       root + ".notifications",
		stream:        strings.ToUpper(root),
		streamSubject: root + ".orders.created",
	}
}

func (*natsBroker) name() string  { return "nats" }
func (*natsBroker) title() string { return "NATS" }
func (*natsBroker) addr() string  { return natsAddr }

func (n *natsBroker) setup(ctx context.Context) (string, error) {
	nc, err := nats.Connect("nats://"+natsAddr, nats.Name("otelcol-msg demo"))
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	n.nc = nc
	if n.js, err = jetstream.New(nc); err != nil {
		return "", fmt.Errorf("JetStream: %w", err)
	}
	subjects := strings.TrimSuffix(n.streamSubject, ".created") + ".>"
	_, err = n.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     n.stream,
		Subjects: []string{subjects},
		Storage:  jetstream.MemoryStorage,
		MaxAge:   time.Hour, // should the demo die before close
	})
	if err != nil {
		return "", fmt.Errorf("create stream %s (is JetStream enabled?): %w", n.stream, err)
	}
	return fmt.Sprintf("core subject %q and JetStream stream %q (%s)", n.subject, n.stream, subjects), nil
}

func (n *natsBroker) env() []string {
	return []string{
		"OTELCOL_MSG_NATS_URL=nats://" + natsAddr,
		"OTELCOL_MSG_DEMO_NATS_SUBJECT=" + n.subject,
		"OTELCOL_MSG_DEMO_NATS_STREAM=" + n.stream,
	}
}

// waitTap waits for the tap's ordered consumer on the stream. The tap
// subscribes to the core subject first, on the same connection, and the
// server handles a connection's requests in order: once the consumer
// exists, the subscription does too.
func (n *natsBroker) waitTap(ctx context.Context) error {
	return waitUntil(ctx, 50*time.Millisecond, "the NATS tap never read stream "+n.stream, func(ctx context.Context) (bool, error) {
		s, err := n.js.Stream(ctx, n.stream)
		if err != nil {
			return false, err
		}
		info, err := s.Info(ctx)
		return err == nil && info.State.Consumers > 0, err
	})
}

// traffic publishes as FastStream's NATS publisher does (ids and context in
// NATS headers): a notification on the core subject and an order to the
// stream, and an order from an uninstrumented producer.
func (n *natsBroker) traffic(ctx context.Context, out io.Writer, a *app, exp *expectation) error {
	publish := func(subject, baggage string, body []byte, send func(*nats.Msg) error) error {
		corrID := newMessageID()
		span, header := a.publishScope(nil, subject, func(m pcommon.Map) {
			m.PutStr(attrSystem, "nats")
			m.PutStr(attrDestination, subject)
			m.PutStr(attrConversationID, corrID)
		})
		msg := nats.NewMsg(subject)
		msg.Data = body
		msg.Header.Set("content-type", "application/json")
		msg.Header.Set("correlation_id", corrID)
		msg.Header.Set("message_id", newMessageID())
		msg.Header.Set("traceparent", header.traceparent())
		if baggage != "" {
			msg.Header.Set("baggage", baggage)
		}
		err := send(msg)
		endPublish(span, time.Now(), err)
		if err != nil {
			return fmt.Errorf("NATS publish to %s: %w", subject, err)
		}
		return nil
	}
	toStream := func(msg *nats.Msg) error {
		_, err := n.js.PublishMsg(ctx, msg)
		return err
	}
	toCore := func(msg *nats.Msg) error {
		if err := n.nc.PublishMsg(msg); err != nil {
			return err
		}
		return n.nc.FlushWithContext(ctx)
	}
	if err := publish(n.subject, "user_id=42", []byte(`{"note":"order 8 is on its way"}`), toCore); err != nil {
		return err
	}
	if err := publish(n.streamSubject, "tenant=globex", []byte(`{"order":8}`), toStream); err != nil {
		return err
	}
	if _, err := n.js.Publish(ctx, n.streamSubject, []byte(`{"order":9}`)); err != nil {
		return fmt.Errorf("NATS publish to %s: %w", n.streamSubject, err)
	}
	fmt.Fprintf(out, "  faststream app: published to NATS subject %q and to %q (stream %q); an uninstrumented producer one more to the stream\n",
		n.subject, n.streamSubject, n.stream)
	exp.perMessage[n.subject]++
	exp.perMessage[n.streamSubject] += 2
	exp.rebuilt[n.streamSubject]++
	return nil
}

func (n *natsBroker) close() {
	if n.nc == nil {
		return
	}
	if n.js != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.js.DeleteStream(ctx, n.stream)
	}
	n.nc.Close()
}
