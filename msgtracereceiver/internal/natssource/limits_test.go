package natssource

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

const fakeInfo = `INFO {"server_id":"fake","version":"2.9.10","proto":1,"headers":true,"max_payload":1048576}` + "\r\n"

// hostileServer is a fake NATS server on 127.0.0.1: INFO, then PONG to
// the client's CONNECT/PING, then reply.
type hostileServer struct {
	l     net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
}

func startHostile(t *testing.T, info, reply string) *hostileServer {
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
				if _, err := c.Write([]byte(info)); err != nil {
					return
				}
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil { // CONNECT and PING
					return
				}
				if _, err := c.Write([]byte("PONG\r\n" + reply)); err != nil {
					return
				}
				for {
					if _, err := c.Read(buf); err != nil {
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

// A lying server declares payloads no nats-server may send: the source
// neither dies nor allocates from them; it counts a protocol fault and
// reconnects. Before the check, nats.go allocated the declared size
// (4 000 000 000 bytes is a fatal out-of-memory).
func TestHostileServerIsCappedBeforeAllocation(t *testing.T) {
	for _, tc := range []struct{ name, info, reply string }{
		{name: "MSG size", info: fakeInfo, reply: "MSG orders 1 4000000000\r\n"},
		{name: "MSG above 64 MiB", info: fakeInfo, reply: "MSG orders 1 300000000\r\nabc"},
		{name: "HMSG size", info: fakeInfo, reply: "HMSG orders 1 _INBOX.x 12 300000000\r\nNATS/1.0\r\n\r\n"},
		{name: "endless INFO", info: "INFO {\"x\":\"" + strings.Repeat("x", 1<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHostile(t, tc.info, tc.reply)
			cfg := NewDefaultConfig()
			cfg.Servers = []string{"nats://" + h.l.Addr().String()}
			cfg.Subjects = []string{"orders"}
			cfg.Reconnect.InitialInterval, cfg.Reconnect.MaxInterval = 10*time.Millisecond, 50*time.Millisecond
			rec := &sourcetest.Recorder{}
			runtime.GC()
			before := totalAlloc()
			src := startSource(t, cfg, rec)
			require.Eventually(t, func() bool {
				n := 0
				for _, k := range rec.Faults() {
					if k == faultProtocol {
						n++
					}
				}
				return h.conns.Load() >= 3 && n >= 2
			}, 5*time.Second, 10*time.Millisecond, "the source reconnects and counts the fault (conns %d, faults %v)", h.conns.Load(), rec.Faults())
			sourcetest.Shutdown(t, src)
			grown := totalAlloc() - before
			t.Logf("allocated %d KiB in %d connections", grown>>10, h.conns.Load())
			assert.Less(t, grown, uint64(64<<20), "allocated %d MiB", grown>>20)
		})
	}
}
