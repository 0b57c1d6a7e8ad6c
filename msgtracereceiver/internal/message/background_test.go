package message

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackgroundStopWaitsForGoroutines(t *testing.T) {
	var b Background
	ctx := b.Start()
	ended := make(chan struct{})
	b.Go(func() {
		<-ctx.Done()
		close(ended)
	})
	if err := b.Stop(context.Background(), "test"); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-ended:
	default:
		t.Fatal("Stop returned before the goroutine ended")
	}
}

func TestBackgroundStopGivesUpWithItsContext(t *testing.T) {
	var b Background
	b.Start()
	release := make(chan struct{})
	defer close(release)
	b.Go(func() { <-release }) // ignores the context on purpose
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := b.Stop(ctx, "test"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want the context's deadline error", err)
	}
}

func TestBackgroundStopWithoutStart(t *testing.T) {
	var b Background
	if err := b.Stop(context.Background(), "test"); err != nil {
		t.Fatalf("Stop without Start: %v", err)
	}
}
