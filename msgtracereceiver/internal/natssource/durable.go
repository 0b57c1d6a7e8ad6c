package natssource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// tapConsumerDescription marks the durable consumers the tap created, so
// that it never reads (and acknowledges) through an application's consumer
// that happens to have the configured name.
const tapConsumerDescription = "otelcol-msg msgtrace tap: shared by its replicas, never an application's"

// defaultAckWait is ack_wait when unset: how long a message the tap pulled
// may stay unacknowledged (a replica that died) before the server gives it
// to another replica of the consumer.
const defaultAckWait = 30 * time.Second

// durableConfig maps a stream block onto the taps' durable pull consumer:
// explicit acknowledgements (sent once the spans are accepted), the block's
// filter and start. The start only applies when the consumer is created;
// afterwards it resumes where the replicas left it.
func durableConfig(st StreamConfig) jetstream.ConsumerConfig {
	o := orderedConfig(st)
	cfg := jetstream.ConsumerConfig{
		Durable:           st.Durable,
		Description:       tapConsumerDescription,
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           cmp.Or(st.AckWait, defaultAckWait),
		DeliverPolicy:     o.DeliverPolicy,
		OptStartTime:      o.OptStartTime,
		InactiveThreshold: st.InactiveThreshold,
	}
	// One subject works with every server; several need nats-server 2.10.
	if len(st.FilterSubjects) == 1 {
		cfg.FilterSubject = st.FilterSubjects[0]
	} else {
		cfg.FilterSubjects = st.FilterSubjects
	}
	return cfg
}

// durableConsumer returns the taps' durable consumer of the stream,
// creating it when missing. It refuses a consumer of that name the tap did
// not create, and a work-queue stream, where acknowledging removes the
// message from the application.
func (s *source) durableConsumer(ctx context.Context, js jetstream.JetStream, st StreamConfig) (jetstream.Consumer, error) {
	stream, err := js.Stream(ctx, st.Name)
	if err != nil {
		return nil, fmt.Errorf("stream info: %w", err)
	}
	if stream.CachedInfo().Config.Retention == jetstream.WorkQueuePolicy {
		return nil, fmt.Errorf("stream %q keeps messages as a work queue: a durable tap consumer would take them from the application (leave durable empty)", st.Name)
	}
	for range 2 { // a replica that created it meanwhile: look again
		cons, err := js.Consumer(ctx, st.Name, st.Durable)
		if err == nil {
			if d := cons.CachedInfo().Config.Description; d != tapConsumerDescription {
				return nil, fmt.Errorf("consumer %q of stream %q exists and was not created by the tap (description %q): refusing to read through it", st.Durable, st.Name, d)
			}
			return cons, nil
		}
		if !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("consumer info %s: %w", st.Durable, err)
		}
		cons, err = js.CreateConsumer(ctx, st.Name, durableConfig(st))
		if err == nil {
			s.log.Info("NATS JetStream tap created its durable consumer", zap.String("stream", st.Name), zap.String("durable", st.Durable))
			return cons, nil
		}
		if !errors.Is(err, jetstream.ErrConsumerExists) && !strings.Contains(err.Error(), "already") {
			return nil, fmt.Errorf("create durable consumer %s: %w", st.Durable, err)
		}
	}
	return nil, fmt.Errorf("durable consumer %s of stream %s: created and gone again", st.Durable, st.Name)
}

// readDurable reads one stream through the taps' durable consumer until
// ctx ends, reconnecting with backoff. Each message is acknowledged once its
// spans are accepted (deliver); one pulled but not acknowledged is
// delivered again, to this or another replica, after the ack wait.
func (s *source) readDurable(ctx context.Context, js jetstream.JetStream, st StreamConfig) {
	b := s.cfg.Reconnect.NewBackOff()
	for ctx.Err() == nil {
		err := s.pullDurable(ctx, js, st, b.Reset)
		if ctx.Err() != nil {
			return
		}
		wait := b.NextBackOff()
		s.log.Warn("NATS JetStream durable tap interrupted; retrying", zap.String("stream", st.Name),
			zap.String("durable", st.Durable), zap.Error(err), zap.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (s *source) pullDurable(ctx context.Context, js jetstream.JetStream, st StreamConfig, reading func()) error {
	cons, err := s.durableConsumer(ctx, js, st)
	if err != nil {
		return err
	}
	// Pulled ahead, a message waits unacknowledged in this replica while its
	// ack_wait runs: a couple of batches keeps that short, and leaves the
	// rest of the stream to the other replicas.
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * s.cfg.MaxBatchSize))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	defer it.Stop()
	reading()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return err
		}
		r, err := fromJetStream(m, st.Name)
		if err != nil {
			s.set.Telemetry.Fault(ctx, System, faultMetadata)
			s.log.Debug("NATS JetStream message without metadata", zap.String("subject", r.subject), zap.Error(err))
		}
		r.ack = m
		select {
		case s.records <- r:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// validateDurable checks a stream block's durable options.
func (st *StreamConfig) validateDurable() []error {
	var errs []error
	if st.Durable == "" {
		if st.InactiveThreshold != 0 || st.AckWait != 0 {
			errs = append(errs, errors.New("ack_wait and inactive_threshold need durable"))
		}
		return errs
	}
	if strings.ContainsAny(st.Durable, " \t\r\n.*>") {
		errs = append(errs, fmt.Errorf("durable %q must not contain whitespace, '.', '*' or '>'", st.Durable))
	}
	if st.InactiveThreshold < 0 {
		errs = append(errs, errors.New("inactive_threshold must not be negative"))
	}
	if st.AckWait != 0 && st.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("ack_wait must be at least 1s, got %s", st.AckWait))
	}
	return errs
}

// ackDelivered acknowledges the durable consumers' messages of a batch whose
// spans were accepted. A failed ack only means the message comes back after
// ack_wait, traced again with the same IDs.
func ackDelivered(log *zap.Logger, batch []record) {
	for i := range batch {
		if m := batch[i].ack; m != nil {
			if err := m.Ack(); err != nil {
				log.Debug("NATS JetStream ack failed; the message will be delivered again", zap.String("stream", batch[i].stream), zap.Error(err))
			}
			batch[i].ack = nil
		}
	}
}
