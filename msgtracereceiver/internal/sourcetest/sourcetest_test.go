package sourcetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/goleak"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echoServer answers every connection with what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, msg string) error {
	t.Helper()
	require.NoError(t, c.SetDeadline(time.Now().Add(WaitLimit)))
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	assert.Equal(t, msg, string(buf))
	return nil
}

func TestProxyCutsAndAcceptsAgain(t *testing.T) {
	p := StartProxy(t, "127.0.0.1:0", echoServer(t))
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, roundTrip(t, c, "before"))

	p.Cut()
	require.NoError(t, c.SetDeadline(time.Now().Add(WaitLimit)))
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF, "a cut connection is closed")

	again, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer again.Close()
	require.NoError(t, roundTrip(t, again, "after"))

	p.Close()
	p.Close() // twice is allowed: a test may close before its cleanup does
	_, err = net.Dial("tcp", p.Addr())
	require.Error(t, err, "a closed proxy accepts nothing")
}

func TestHangUpCountsAttempts(t *testing.T) {
	h := StartHangUp(t)
	for range 2 {
		c, err := net.Dial("tcp", h.Addr())
		require.NoError(t, err)
		require.NoError(t, c.SetDeadline(time.Now().Add(WaitLimit)))
		_, err = c.Read(make([]byte, 1))
		require.ErrorIs(t, err, io.EOF)
		c.Close()
	}
	assert.Equal(t, 2, h.Attempts())
}

func TestRecorder(t *testing.T) {
	rec := &Recorder{}
	batch := []message.Message{{ID: "a"}, {ID: "b"}}
	require.NoError(t, rec.Deliver(context.Background(), batch))
	batch[0].ID = "reused" // sources may reuse the slice
	require.NoError(t, rec.Deliver(context.Background(), []message.Message{{ID: "a"}}))
	rec.Fault(context.Background(), "nats", "header")
	rec.Lag(context.Background(), "nats", "S", 3)

	assert.Equal(t, []message.Message{{ID: "a"}, {ID: "b"}, {ID: "a"}}, rec.Messages())
	assert.Len(t, rec.ByID()["a"], 2)
	assert.Equal(t, []string{"header"}, rec.Faults())
	assert.Equal(t, map[string]int64{"S": 3}, rec.Lags())
	rec.WaitIDs(t, "a", "b")

	var published []string
	rec.WaitTapping(t, "probe", func(id string) {
		published = append(published, id)
		if len(published) == 2 {
			require.NoError(t, rec.Deliver(context.Background(), []message.Message{{ID: id}}))
		}
	})
	assert.Equal(t, []string{"probe-1", "probe-2"}, published)
}

func TestBlockingRecorderWaitsForItsContext(t *testing.T) {
	rec := &Recorder{Block: true}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, rec.Deliver(ctx, []message.Message{{ID: "a"}}), context.Canceled)
	assert.Empty(t, rec.Messages(), "nothing accepted")
}

func TestStatusHost(t *testing.T) {
	h := NewStatusHost()
	ever, last := h.Reported(componentstatus.StatusOK)
	assert.False(t, ever)
	assert.False(t, last)
	h.Report(componentstatus.NewEvent(componentstatus.StatusOK))
	h.Report(componentstatus.NewRecoverableErrorEvent(io.EOF))
	ever, last = h.Reported(componentstatus.StatusOK)
	assert.True(t, ever)
	assert.False(t, last)
	_, last = h.Reported(componentstatus.StatusRecoverableError)
	assert.True(t, last)
}

// endingTB records how a helper ends a test instead of ending it.
type endingTB struct {
	testing.TB
	fatal, skip string
}

func (*endingTB) Helper()                             {}
func (e *endingTB) Fatalf(format string, args ...any) { e.fatal = fmt.Sprintf(format, args...) }
func (e *endingTB) Skipf(format string, args ...any)  { e.skip = fmt.Sprintf(format, args...) }

func TestUnreachableBrokerFailsInCI(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	t.Setenv("CI", "true")
	ci := &endingTB{TB: t}
	RequireReachable(ci, "Broker", addr)
	assert.Contains(t, ci.fatal, "Broker is not reachable on "+addr)
	assert.Empty(t, ci.skip, "never skipped with CI=true")

	t.Setenv("CI", "")
	local := &endingTB{TB: t}
	RequireReachable(local, "Broker", addr)
	assert.Contains(t, local.skip, "Broker is not reachable on "+addr)
	assert.Empty(t, local.fatal)

	reachable := &endingTB{TB: t}
	RequireReachable(reachable, "Echo", echoServer(t))
	assert.Empty(t, reachable.fatal+reachable.skip)
}
