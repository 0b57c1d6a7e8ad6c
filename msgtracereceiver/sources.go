package msgtracereceiver // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver"

import (
	"fmt"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/kafkasource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/natssource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/rabbitmqsource"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/redissource"
)

// This file is the one place that knows the sources. Adding a broker takes
// a config field in Config, a line in sourceKeys and hasSource, and a block
// in newSources.

// sourceKeys lists the source blocks, for the "no source" error.
const sourceKeys = "kafka, rabbitmq, nats, redis"

// hasSource reports whether any source block is set.
func (cfg *Config) hasSource() bool {
	return cfg.Kafka != nil || cfg.RabbitMQ != nil || cfg.NATS != nil || cfg.Redis != nil
}

// namedSource is a source and the messaging system it taps, which names it
// in the receiver's component status.
type namedSource struct {
	message.Source
	system string
}

// newSources builds the configured sources. settingsFor returns the
// pipeline, telemetry and logger of one messaging system.
func newSources(cfg *Config, settingsFor func(system string) (message.Settings, error)) ([]namedSource, error) {
	var srcs []namedSource
	if cfg.Kafka != nil {
		set, err := settingsFor(kafkasource.System)
		if err != nil {
			return nil, err
		}
		src, err := kafkasource.New(cfg.Kafka, set)
		if err != nil {
			return nil, fmt.Errorf("kafka source: %w", err)
		}
		srcs = append(srcs, namedSource{src, kafkasource.System})
	}
	if cfg.RabbitMQ != nil {
		set, err := settingsFor(rabbitmqsource.System)
		if err != nil {
			return nil, err
		}
		src, err := rabbitmqsource.New(cfg.RabbitMQ, set)
		if err != nil {
			return nil, fmt.Errorf("rabbitmq source: %w", err)
		}
		srcs = append(srcs, namedSource{src, rabbitmqsource.System})
	}
	if cfg.NATS != nil {
		set, err := settingsFor(natssource.System)
		if err != nil {
			return nil, err
		}
		src, err := natssource.New(cfg.NATS, set)
		if err != nil {
			return nil, fmt.Errorf("nats source: %w", err)
		}
		srcs = append(srcs, namedSource{src, natssource.System})
	}
	if cfg.Redis != nil {
		set, err := settingsFor(redissource.System)
		if err != nil {
			return nil, err
		}
		src, err := redissource.New(cfg.Redis, set)
		if err != nil {
			return nil, fmt.Errorf("redis source: %w", err)
		}
		srcs = append(srcs, namedSource{src, redissource.System})
	}
	return srcs, nil
}
