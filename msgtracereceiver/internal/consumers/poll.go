package consumers

import (
	"context"
	"time"
)

// Poll runs a watcher: poll at once, then every interval until ctx ends. A
// slow poll delays the next one rather than stacking them (time.Ticker
// drops ticks).
func Poll(ctx context.Context, interval time.Duration, poll func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
