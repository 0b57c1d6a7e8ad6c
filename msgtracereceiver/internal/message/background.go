package message

import (
	"context"
	"fmt"
	"sync"
)

// Background runs a source's goroutines from Start to Shutdown. The
// goroutines must outlive Start's context (the collector cancels it once
// Start returns) and must all have ended when Shutdown returns.
type Background struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start returns the context the source's goroutines run under; it ends on Stop.
func (b *Background) Start() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	return ctx
}

// Go runs f in a goroutine that Stop waits for.
func (b *Background) Go(f func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f()
	}()
}

// Stop cancels the goroutines' context and waits for them, at most until
// ctx ends. It is safe to call when Start was never called.
func (b *Background) Stop(ctx context.Context, system string) error {
	if b.cancel == nil {
		return nil
	}
	b.cancel()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: shutdown: %w", system, ctx.Err())
	}
}
