package kafkasource

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// fakeSession records marked offsets; only what ConsumeClaim uses is implemented.
type fakeSession struct {
	sarama.ConsumerGroupSession
	ctx    context.Context
	mu     sync.Mutex
	marked []int64
}

func (s *fakeSession) Context() context.Context { return s.ctx }
func (s *fakeSession) MarkOffset(_ string, _ int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked = append(s.marked, offset)
}

func (s *fakeSession) marks() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.marked...)
}

type fakeClaim struct {
	sarama.ConsumerGroupClaim
	records chan *sarama.ConsumerMessage
}

func (fakeClaim) Topic() string                              { return "orders" }
func (fakeClaim) Partition() int32                           { return 0 }
func (fakeClaim) HighWaterMarkOffset() int64                 { return 100 }
func (c fakeClaim) Messages() <-chan *sarama.ConsumerMessage { return c.records }

// fakeClient answers Leader with an error: the claim then has no server address.
type fakeClient struct{ sarama.Client }

func (fakeClient) Leader(string, int32) (*sarama.Broker, error) { return nil, errors.New("no leader") }

// delivery is one Deliver call seen by the test.
type delivery struct {
	offsets []string
	result  chan error // what Deliver returns
}

// pipelineHandler returns a handler whose Deliver hands each call to the
// test over calls and returns what the test sends back.
func pipelineHandler(maxBatch int, calls chan<- delivery) *handler {
	cfg := NewDefaultConfig()
	cfg.MaxBatchSize = maxBatch
	deliver := func(ctx context.Context, msgs []message.Message) error {
		d := delivery{result: make(chan error)}
		for _, m := range msgs {
			d.offsets = append(d.offsets, m.Identity)
		}
		calls <- d
		select {
		case err := <-d.result:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cfg.Topics = []string{"orders"}
	src, err := New(cfg, message.Settings{Logger: zap.NewNop(), Deliver: deliver, Telemetry: &faultRecorder{faults: map[string]int{}}})
	if err != nil {
		panic(err) // a valid literal configuration
	}
	return &handler{src: src, client: fakeClient{}, clusterID: "c"}
}

// consumeClaim runs ConsumeClaim with batches of up to maxBatch records on
// the partition whose records arrive on records; the test answers Deliver
// calls and reads ConsumeClaim's result from done.
func consumeClaim(maxBatch int, records chan *sarama.ConsumerMessage) (chan delivery, *fakeSession, chan error) {
	calls := make(chan delivery)
	h := pipelineHandler(maxBatch, calls)
	sess := &fakeSession{ctx: context.Background()}
	done := make(chan error, 1)
	go func() { done <- h.ConsumeClaim(sess, fakeClaim{records: records}) }()
	return calls, sess, done
}

func feed(ch chan<- *sarama.ConsumerMessage, from, to int64) {
	for off := from; off < to; off++ {
		ch <- &sarama.ConsumerMessage{Topic: "orders", Offset: off, Timestamp: time.Unix(1, 0)}
	}
}

// While one batch is being delivered, the next is read from the partition;
// offsets are marked in order, each only after its batch was delivered.
func TestConsumeClaimReadsWhileDelivering(t *testing.T) {
	records := make(chan *sarama.ConsumerMessage, 10)
	feed(records, 0, 3) // ready before the claim starts: one batch
	calls, sess, done := consumeClaim(100, records)

	first := <-calls
	assert.Equal(t, []string{"c/orders/0/0", "c/orders/0/1", "c/orders/0/2"}, first.offsets)
	// Delivery of the first batch is still under way: the next records are
	// read meanwhile (the channel empties) and nothing is marked yet.
	feed(records, 3, 8)
	require.Eventually(t, func() bool { return len(records) == 0 }, 5*time.Second, time.Millisecond)
	assert.Empty(t, sess.marks())

	first.result <- nil
	second := <-calls
	assert.Equal(t, []string{"c/orders/0/3", "c/orders/0/4", "c/orders/0/5", "c/orders/0/6", "c/orders/0/7"}, second.offsets)
	assert.Equal(t, []int64{3}, sess.marks())
	second.result <- nil

	close(records)
	require.NoError(t, <-done)
	assert.Equal(t, []int64{3, 8}, sess.marks())
}

// When a delivery fails (the session ended while spans were retried), that
// batch and any after it stay unmarked, and ConsumeClaim returns.
func TestConsumeClaimStopsMarkingAfterAFailedDelivery(t *testing.T) {
	records := make(chan *sarama.ConsumerMessage, 10)
	feed(records, 0, 2)
	calls, sess, done := consumeClaim(2, records)

	first := <-calls
	feed(records, 2, 6) // a full batch waits behind the first, more behind it
	first.result <- errors.New("session ended")

	select {
	case err := <-done:
		require.NoError(t, err)
	case d := <-calls:
		t.Fatalf("a batch after a failed one was delivered: %v", d.offsets)
	case <-time.After(5 * time.Second):
		t.Fatal("ConsumeClaim did not return after a failed delivery")
	}
	assert.Empty(t, sess.marks())
}

// A batch holds at most max_batch_size records, however many are waiting.
func TestConsumeClaimBoundsBatches(t *testing.T) {
	records := make(chan *sarama.ConsumerMessage, 20)
	feed(records, 0, 10)
	close(records)
	calls, sess, done := consumeClaim(4, records)

	var sizes []int
	for len(sizes) < 3 {
		d := <-calls
		sizes = append(sizes, len(d.offsets))
		d.result <- nil
	}
	require.NoError(t, <-done)
	assert.Equal(t, []int{4, 4, 2}, sizes)
	assert.Equal(t, []int64{4, 8, 10}, sess.marks())
}
