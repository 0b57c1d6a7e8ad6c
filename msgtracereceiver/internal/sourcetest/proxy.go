package sourcetest

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Proxy forwards TCP connections to a server; Cut closes every connection
// through it, as a network failure or a server restart would, while new
// connections are still accepted.
type Proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
	once   sync.Once
}

// StartProxy listens on addr ("127.0.0.1:0" for any free port) and forwards
// to target until Close or the end of the test.
func StartProxy(t testing.TB, addr, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	p := &Proxy{l: l, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// Cut closes every connection through the proxy.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Close stops listening, cuts every connection and waits for the proxy's
// goroutines; it may be called more than once.
func (p *Proxy) Close() {
	p.once.Do(func() {
		p.l.Close()
		p.Cut()
		p.wg.Wait()
	})
}

// HangUp is a server that accepts connections and closes them at once, as
// a broker that is still starting does.
type HangUp struct {
	l        net.Listener
	mu       sync.Mutex
	attempts int
	done     chan struct{}
}

// StartHangUp listens on a free 127.0.0.1 port until the end of the test.
func StartHangUp(t testing.TB) *HangUp {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &HangUp{l: l, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.attempts++
			h.mu.Unlock()
			c.Close()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-h.done
	})
	return h
}

// Addr is the server's host:port.
func (h *HangUp) Addr() string { return h.l.Addr().String() }

// Attempts counts the connections accepted so far.
func (h *HangUp) Attempts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attempts
}
