package redissource

import (
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// hostileServer is a fake Redis on 127.0.0.1: it answers the first command
// of each connection (CLIENT SETNAME) with +OK and the next with reply.
type hostileServer struct {
	l     net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
}

func startHostile(t *testing.T, reply string) *hostileServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &hostileServer{l: l}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			h.conns.Add(1)
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				defer c.Close()
				buf := make([]byte, 4096)
				for i := 0; ; i++ {
					if _, err := c.Read(buf); err != nil {
						return
					}
					answer := reply
					if i == 0 {
						answer = "+OK\r\n"
					}
					if _, err := c.Write([]byte(answer)); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		h.wg.Wait()
	})
	return h
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// A lying or broken server declares huge lengths: the source neither dies
// nor allocates from them; it counts a protocol fault and reconnects with
// backoff. Before the caps, redigo allocated from each declared length
// (`*4000000000` is a fatal out-of-memory).
func TestHostileRepliesAreCappedBeforeAllocation(t *testing.T) {
	for _, tc := range []struct{ name, reply string }{
		{name: "array", reply: "*4000000000\r\n"},
		{name: "bulk", reply: "$300000000\r\nabc"},
		{name: "nested arrays", reply: strings.Repeat("*1000000\r\n", 20)},
		{name: "bulk in array", reply: "*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$2000000000\r\n"},
		{name: "endless line", reply: "+" + strings.Repeat("x", 200<<10)},
		{name: "RESP3 map", reply: "%2\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHostile(t, tc.reply)
			cfg := NewDefaultConfig()
			cfg.Endpoint = h.l.Addr().String()
			cfg.Channels = []string{"orders"}
			cfg.Reconnect.InitialInterval, cfg.Reconnect.MaxInterval = 10*time.Millisecond, 50*time.Millisecond
			rec := &sourcetest.Recorder{}
			runtime.GC()
			before := totalAlloc()
			src, _ := startSource(t, cfg, rec)
			require.Eventually(t, func() bool {
				return h.conns.Load() >= 3 && countKind(rec.Faults(), faultProtocol) >= 2
			}, sourcetest.WaitLimit, 10*time.Millisecond, "the source reconnects and counts the fault (conns %d, faults %v)", h.conns.Load(), rec.Faults())
			sourcetest.Shutdown(t, src)
			grown := totalAlloc() - before
			assert.Less(t, grown, uint64(64<<20), "allocated %d MiB in %d connections", grown>>20, h.conns.Load())
			t.Logf("allocated %d KiB in %d connections", grown>>10, h.conns.Load())
		})
	}
}

func countKind(kinds []string, kind string) int {
	n := 0
	for _, k := range kinds {
		if k == kind {
			n++
		}
	}
	return n
}

func TestValidateReplyCaps(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Channels = []string{"orders"}
	require.NoError(t, cfg.Validate())
	cfg.MaxBulkBytes, cfg.MaxReplyElements = 1<<30, 100
	err := cfg.Validate()
	assert.ErrorContains(t, err, "max_bulk_bytes must be between 1024 and 536870912")
	assert.ErrorContains(t, err, "max_reply_elements must be between 1088")
}
