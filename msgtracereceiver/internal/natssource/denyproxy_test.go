package natssource

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// startDenyingProxy relays NATS connections to the local server, but
// answers a SUB to a subject starting with prefix as a server whose user may
// not subscribe there does: with a permissions violation, the subscription
// not made. (The local server's configuration cannot be changed for a test.)
// It returns the proxy's address.
func startDenyingProxy(t *testing.T, prefix string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", serverAddr)
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			var toClient sync.Mutex // the relay and the refusals write whole units
			wg.Go(func() {
				relayUnits(s, func(unit []byte) error {
					toClient.Lock()
					defer toClient.Unlock()
					_, err := c.Write(unit)
					return err
				})
				_ = c.Close()
			})
			wg.Go(func() {
				relayUnits(c, func(unit []byte) error {
					if sub, ok := strings.CutPrefix(string(unit), "SUB "); ok && strings.HasPrefix(sub, prefix) {
						subject, _, _ := strings.Cut(sub, " ")
						toClient.Lock()
						defer toClient.Unlock()
						_, err := c.Write([]byte("-ERR 'Permissions Violation for Subscription to \"" + subject + "\"'\r\n"))
						return err
					}
					_, err := s.Write(unit)
					return err
				})
				_ = s.Close()
			})
		}
	})
	return l.Addr().String()
}

// relayUnits reads src one protocol unit at a time (a line, with its
// payload for PUB, HPUB, MSG and HMSG, whose last field is its size) and
// hands each to write, until either fails.
func relayUnits(src io.Reader, write func([]byte) error) {
	r := bufio.NewReader(src)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		unit := []byte(line)
		fields := strings.Fields(line)
		if len(fields) > 1 {
			switch strings.ToUpper(fields[0]) {
			case "PUB", "HPUB", "MSG", "HMSG":
				n, err := strconv.Atoi(fields[len(fields)-1])
				if err != nil {
					return
				}
				payload := make([]byte, n+2) // and its CRLF
				if _, err := io.ReadFull(r, payload); err != nil {
					return
				}
				unit = append(unit, payload...)
			}
		}
		if write(unit) != nil {
			return
		}
	}
}
