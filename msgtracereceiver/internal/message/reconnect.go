package message

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v7"
)

// ReconnectConfig is the exponential backoff between a source's connection
// attempts (the `reconnect` block of the RabbitMQ, NATS and Redis sources).
type ReconnectConfig struct {
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	MaxInterval     time.Duration `mapstructure:"max_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// NewBackOff returns a fresh backoff following r.
func (r ReconnectConfig) NewBackOff() *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     r.InitialInterval,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
		Multiplier:          backoff.DefaultMultiplier,
		MaxInterval:         r.MaxInterval,
	}
	b.Reset()
	return b
}

// Sleep waits d or until ctx ends; it reports whether d elapsed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
