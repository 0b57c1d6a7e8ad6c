package natssource

import (
	"context"
	"net"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/clienttls"
	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/wirelimit"
)

// faultProtocol counts a server stream beyond the caps (a MSG larger than
// any nats-server may send, an endless protocol line): the connection is
// closed and the client reconnects with backoff.
const faultProtocol = "protocol"

// limitDialer dials plaintext connections whose server stream is checked
// before nats.go reads it: nats.go allocates a payload buffer from the size
// a MSG line declares, without comparing it to the server's max_payload.
type limitDialer struct {
	timeout time.Duration
	onLimit func(error)
}

func (d limitDialer) Dial(network, address string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: d.timeout}).Dial(network, address)
	if err != nil {
		return nil, err
	}
	return wirelimit.Wrap(c, wirelimit.NewNATS(), d.onLimit), nil
}

// checksWire reports whether the connections can be checked: nats.go runs
// TLS over the dialer's connection, where the protocol is not visible.
func (s *source) checksWire() bool {
	if clienttls.Enabled(s.cfg.TLS, false) {
		return false
	}
	for _, srv := range s.cfg.Servers {
		if strings.HasPrefix(srv, "tls://") {
			return false
		}
	}
	return true
}

// countLimit counts and logs a connection that ended on a stream beyond
// the caps; the check calls it, as nats.go reports no error of a
// connection that fails while it handshakes.
func (s *source) countLimit(err error) {
	s.set.Telemetry.Fault(context.Background(), System, faultProtocol)
	s.log.Error("NATS server stream beyond the caps; reconnecting", zap.Error(err))
}
