package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

// The demo's topics. The handler chain and the uninstrumented producer's
// topic are tapped one span per message, the batch subscriber's topic one span
// per fetched batch (testdata/demo.yaml).
const (
	topicFirst  = "first"
	topicSecond = "second"
	topicThird  = "third"
	topicOrders = "orders"
	topicLegacy = "legacy-events"

	appGroup       = "faststream-demo"
	legacyMessages = 5
	// handlerWork is how long each handler "works", so that process spans
	// have a visible duration in the tree.
	handlerWork = 20 * time.Millisecond
)

func demoTopics() []harness.Topic {
	return []harness.Topic{
		{Name: topicFirst, Partitions: 3},
		{Name: topicSecond, Partitions: 3},
		{Name: topicThird, Partitions: 3},
		// One partition: the batch subscriber gets both publishes in one fetch.
		{Name: topicOrders, Partitions: 1},
		{Name: topicLegacy, Partitions: 2},
	}
}

// orderBatch is one FastStream publish_batch to the orders topic, made in a
// context carrying its own baggage.
type orderBatch struct {
	baggage string
	bodies  []string
}

var orderBatches = []orderBatch{
	{baggage: "tenant=acme,region=eu-west", bodies: []string{`{"order":1}`, `{"order":2}`, `{"order":3}`}},
	{baggage: "tenant=globex,priority=high", bodies: []string{`{"order":4}`, `{"order":5}`}},
}

// runTraffic produces the demo's Kafka traffic and runs the application's
// handlers until every message was handled. It returns what the gateway must
// export of it; the caller counts the application's spans once all traffic
// is sent.
func runTraffic(ctx context.Context, out io.Writer, kafka *harness.Kafka, a *app, groupWatched func(context.Context) error) (expectation, error) {
	exp := expectation{
		perMessage: map[string]int{},
		perBatch:   map[string]int{},
		rebuilt:    map[string]int{},
		settled:    map[string]int{},
	}

	// The chain's entry point: a publish outside any handler.
	if err := a.publish(ctx, nil, topicFirst, 0, newMessageID(), "user_id=42,tenant=acme", []byte("Hi!")); err != nil {
		return exp, fmt.Errorf("publish to %s: %w", topicFirst, err)
	}
	fmt.Fprintf(out, "  faststream app: published %q to %q (chain %s -> %s -> %s)\n", "Hi!", topicFirst, topicFirst, topicSecond, topicThird)

	// Two requests of different tenants publish a batch each, concurrently:
	// their records reach Kafka together, and the subscriber reads them as one batch.
	ordered := 0
	var pubs []publishing
	for _, b := range orderBatches {
		bodies := make([][]byte, len(b.bodies))
		for i, s := range b.bodies {
			bodies[i] = []byte(s)
		}
		pubs = append(pubs, a.prepare(nil, topicOrders, 0, newMessageID(), b.baggage, bodies...))
		ordered += len(bodies)
	}
	if err := a.send(ctx, pubs...); err != nil {
		return exp, fmt.Errorf("publish_batch to %s: %w", topicOrders, err)
	}
	for _, b := range orderBatches {
		fmt.Fprintf(out, "  faststream app: publish_batch of %d to %q with baggage %q\n", len(b.bodies), topicOrders, b.baggage)
	}
	exp.perBatch[topicOrders] += ordered

	handled, batches, err := runHandlers(ctx, kafka.Brokers(), a, ordered, groupWatched)
	if err != nil {
		return exp, err
	}
	fmt.Fprintf(out, "  faststream app: handled %d messages (group %q), the %d orders in %s\n", handled, appGroup, ordered, plural(batches, "batch"))
	exp.perMessage[topicFirst]++
	exp.perMessage[topicSecond]++
	exp.perMessage[topicThird]++
	// The application group settles each message of the chain once.
	exp.settled[topicFirst]++
	exp.settled[topicSecond]++
	exp.settled[topicThird]++

	// An uninstrumented producer: no headers at all.
	legacy := make([]*kgo.Record, legacyMessages)
	for i := range legacy {
		legacy[i] = &kgo.Record{
			Topic:     topicLegacy,
			Partition: int32(i % 2),
			Key:       fmt.Appendf(nil, "sensor-%d", i+1),
			Value:     fmt.Appendf(nil, `{"sensor":%d,"celsius":%d}`, i+1, 20+i),
		}
	}
	if err := kafka.Produce(ctx, legacy...); err != nil {
		return exp, fmt.Errorf("uninstrumented producer: %w", err)
	}
	exp.perMessage[topicLegacy] += legacyMessages
	exp.rebuilt[topicLegacy] += legacyMessages
	fmt.Fprintf(out, "  uninstrumented producer: %d messages to %q, no headers\n", legacyMessages, topicLegacy)
	return exp, nil
}

// runHandlers consumes as the FastStream application's subscribers do:
//
//	@broker.subscriber("first")  @broker.publisher("second")
//	@broker.subscriber("second") @broker.publisher("third")
//	@broker.subscriber("third")
//	@broker.subscriber("orders", batch=True)
//
// It returns once the chain reached "third" and wantBatch orders were
// handled, with the number of messages handled and of batches the orders came in.
func runHandlers(ctx context.Context, brokers []string, a *app, wantBatch int, groupWatched func(context.Context) error) (handled, batches int, err error) {
	client, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumerGroup(appGroup),
		kgo.ConsumeTopics(topicFirst, topicSecond, topicThird, topicOrders),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		return 0, 0, fmt.Errorf("application consumer: %w", err)
	}
	defer client.Close()

	batched, chainDone := 0, false
	for !chainDone || batched < wantBatch {
		fetches := client.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return handled, batches, fmt.Errorf("application handlers: %w (chain done: %t, batch %d/%d)", err, chainDone, batched, wantBatch)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return handled, batches, fmt.Errorf("application consumer fetch: %w", errs[0].Err)
		}
		var herr error
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if herr != nil || len(p.Records) == 0 {
				return
			}
			if p.Topic == topicOrders {
				h := a.consumeBatch(p.Records)
				time.Sleep(handlerWork)
				h.done()
				batched += len(p.Records)
				handled += len(p.Records)
				batches++
				return
			}
			for _, rec := range p.Records {
				h := a.consume(rec)
				time.Sleep(handlerWork)
				switch rec.Topic {
				case topicFirst:
					herr = a.publish(ctx, h, topicSecond, 1, h.corrID, h.baggage, rec.Value)
				case topicSecond:
					herr = a.publish(ctx, h, topicThird, 2, h.corrID, h.baggage, rec.Value)
				case topicThird:
					chainDone = true
				}
				h.done()
				handled++
			}
		})
		if herr != nil {
			return handled, batches, fmt.Errorf("handler publish: %w", herr)
		}
	}
	// Stay in the group, uncommitted, until the gateway watches it: a group
	// first seen already past a message yields no settle span for it (the
	// gateway cannot date that settle). Then commit what was handled now
	// rather than at the next auto-commit.
	if err := groupWatched(ctx); err != nil {
		return handled, batches, fmt.Errorf("waiting for the gateway to watch group %q: %w", appGroup, err)
	}
	if err := client.CommitUncommittedOffsets(ctx); err != nil {
		return handled, batches, fmt.Errorf("application consumer commit: %w", err)
	}
	return handled, batches, nil
}
