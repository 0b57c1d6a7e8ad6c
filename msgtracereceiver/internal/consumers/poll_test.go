package consumers

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPollRunsAtOnceAndEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	polls := make(chan struct{}, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// An hour between polls: only the first poll can happen before cancel.
		Poll(ctx, time.Hour, func(context.Context) { polls <- struct{}{} })
	}()
	<-polls
	cancel()
	<-done
	require.Empty(t, polls, "polled again before the interval")
}

func TestPollRepeatsEveryInterval(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	polls := make(chan context.Context, 16)
	go Poll(ctx, time.Millisecond, func(ctx context.Context) {
		select {
		case polls <- ctx:
		default:
		}
	})
	for range 3 {
		require.Equal(t, ctx, <-polls, "poll is not given the watcher's context")
	}
}
