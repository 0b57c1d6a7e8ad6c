package rabbitmqsource

import (
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// hostileBroker is a fake AMQP server on 127.0.0.1: after the client's
// protocol header it sends reply.
type hostileBroker struct {
	l     net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
}

func startHostile(t *testing.T, reply []byte) *hostileBroker {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &hostileBroker{l: l}
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
				header := make([]byte, 8) // "AMQP\x00\x00\x09\x01"
				if _, err := io.ReadFull(c, header); err != nil {
					return
				}
				if _, err := c.Write(reply); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		h.wg.Wait()
	})
	return h
}

// frame is an AMQP frame header declaring size, with a few payload bytes.
func frame(typ byte, size uint32) []byte {
	b := []byte{typ, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[3:], size)
	return append(b, 0, 10, 0, 10) // connection.start's class and method
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// A lying server declares frames far beyond frame_max: the client rejects
// them before reading, the source counts a protocol fault, reconnects, and
// allocates nothing from the declared sizes.
func TestHostileFramesAreRejected(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply []byte
	}{
		{name: "method frame of 2 GiB", reply: frame(1, 1<<31)},
		{name: "body frame of 4 GiB", reply: frame(3, 1<<32-1)},
		{name: "frame above 4 KiB before tune", reply: frame(1, 64<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHostile(t, tc.reply)
			cfg := NewDefaultConfig()
			cfg.Endpoint = "amqp://" + h.l.Addr().String()
			cfg.Reconnect.InitialInterval, cfg.Reconnect.MaxInterval = 10*time.Millisecond, 50*time.Millisecond
			rec := &sourcetest.Recorder{}
			runtime.GC()
			before := totalAlloc()
			src, _ := startSource(t, cfg, rec)
			require.Eventually(t, func() bool {
				n := 0
				for _, k := range rec.Faults() {
					if k == faultProtocol {
						n++
					}
				}
				return h.conns.Load() >= 3 && n >= 2
			}, 5*time.Second, 10*time.Millisecond, "the source reconnects and counts the fault")
			sourcetest.Shutdown(t, src)
			grown := totalAlloc() - before
			t.Logf("allocated %d KiB in %d connections", grown>>10, h.conns.Load())
			assert.Less(t, grown, uint64(32<<20))
		})
	}
}
