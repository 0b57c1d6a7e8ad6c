// Package consumers is the broker-neutral core of consumer visibility: which
// application consumer groups settled each tapped message, and how long it
// waited (issue 14). It builds `settle <destination>` spans and the
// msgtrace.consumer.* metrics; each source watches its broker's groups.
//
// Use, from a source whose block has `consumers: {enabled: true}`:
//
//	tr, err := consumers.New(consumers.Settings{
//		System: System, OperationName: "commit", Config: cfg.Consumers,
//		OwnGroup: cfg.GroupID, Source: set, // the source's message.Settings
//	})
//	// for every message the tap built, after building it:
//	tr.Observe(m, consumers.Position{Hi: uint64(offset)})
//	// in the watcher goroutine, every cfg.Consumers.PollInterval:
//	for each watched group g (tr.Watched(g)) and partition:
//		tr.Frontier(g, topic, partition, consumers.Position{Hi: committed}, pollTime)
//	tr.Flush(ctx, pollTime) // sends the spans and metrics of the poll
//
// Brokers that report settles per message (RabbitMQ firehose deliveries)
// call Settled instead of Frontier (they have no lag gauges). Those that
// also date some settles one by one (JetStream ack advisories) call
// SettledAt for them next to Frontier: the message is settled then, and
// the frontier does not settle it again. A watcher calls Forget for a
// group that disappeared, so it pins no message, and ForgetOn for a group
// that no longer settles one partition though it lives on elsewhere.
//
// Frontier semantics: settledBefore is the first position NOT settled
// (Kafka committed offset N: N-1 and before done; a JetStream ack floor F is
// Position{Hi: F + 1}; a Redis last-delivered ID is its Position.Next(), as
// Next steps the Lo part, which only Redis positions use). The first Frontier of a group and partition is a
// baseline: it yields no span. A frontier that goes back (offsets reset) is
// used for lag, and yields no second settle span for messages it had passed.
//
// Memory: per partition the index keeps, in position order, one entry of
// entryBytes per observed message not yet settled by every known group,
// all partitions within Config.MaxTrackedBytes. Beyond the cap the oldest
// entries of the growing partition are evicted; up to 64 checkpoints per
// partition sample what left the index, and settles and lags that fall
// there are interpolated from them (msgtrace.consumer.untracked counts such
// settles, which yield no span).
package consumers // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/consumers"
