package harness

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Topic is a topic to create with its number of partitions.
type Topic struct {
	Name       string
	Partitions int32
}

// Kafka is a Kafka cluster the tests and the demo produce to: an in-process
// kfake cluster started by StartKafka, or an external one (ConnectKafka), for
// tests where the broker must outlive this process.
type Kafka struct {
	cluster  *kfake.Cluster // nil for an external cluster
	brokers  []string
	producer *kgo.Client
}

// StartKafka starts a one-broker kfake cluster listening on 127.0.0.1 with the
// given topics already created.
func StartKafka(topics ...Topic) (*Kafka, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.ClusterID("otelcol-msg-e2e")}
	for _, t := range topics {
		opts = append(opts, kfake.SeedTopics(t.Partitions, t.Name))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start kfake: %w", err)
	}
	k, err := ConnectKafka(cluster.ListenAddrs()...)
	if err != nil {
		cluster.Close()
		return nil, err
	}
	k.cluster = cluster
	return k, nil
}

// ConnectKafka returns a producer for an already running cluster.
func ConnectKafka(brokers ...string) (*Kafka, error) {
	if len(brokers) == 0 {
		return nil, errors.New("connect kafka: no broker address")
	}
	// ManualPartitioner: every record goes to the partition its caller set,
	// so tests know exactly where each message lands.
	producer, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka producer for %v: %w", brokers, err)
	}
	return &Kafka{brokers: brokers, producer: producer}, nil
}

// Brokers returns the bootstrap addresses ("127.0.0.1:port").
func (k *Kafka) Brokers() []string { return append([]string(nil), k.brokers...) }

// Produce writes the records synchronously to the partitions they name. On
// return each record's Offset, Partition and Timestamp are those the broker
// assigned.
func (k *Kafka) Produce(ctx context.Context, records ...*kgo.Record) error {
	if err := k.producer.ProduceSync(ctx, records...).FirstErr(); err != nil {
		return fmt.Errorf("produce %d records: %w", len(records), err)
	}
	return nil
}

// Close stops the producer and, for an in-process cluster, the cluster.
func (k *Kafka) Close() {
	k.producer.Close()
	if k.cluster != nil {
		k.cluster.Close()
	}
}

// Header returns a Kafka record header; values are UTF-8 bytes, as FastStream
// and most clients write them.
func Header(key, value string) kgo.RecordHeader {
	return kgo.RecordHeader{Key: key, Value: []byte(value)}
}
