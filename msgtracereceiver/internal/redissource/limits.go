package redissource

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/wirelimit"
)

// faultProtocol counts a reply beyond max_bulk_bytes or max_reply_elements
// (or outside RESP2): the connection is closed and opened again.
const faultProtocol = "protocol"

// dialLimited opens the TCP connection (and TLS, when configured) for
// redigo, with every reply checked against the caps before redigo reads
// it: redigo allocates arrays and bulk strings from their declared length.
// TLS runs here, under the check, so redigo is never told to use TLS.
// A Streams connection passes counted false: its reader counts what ends
// it beyond the caps, unless an oversized entry explains it (oversized.go).
func (s *source) dialLimited(ctx context.Context, network, addr string, counted bool) (net.Conn, error) {
	d := net.Dialer{Timeout: s.cfg.ConnectTimeout}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if s.tls != nil {
		cfg := s.tls.Clone()
		if cfg.ServerName == "" {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				cfg.ServerName = host
			}
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		c = tc
	}
	var onLimit func(error)
	if counted {
		onLimit = func(err error) { s.countLimit(context.WithoutCancel(ctx), err) }
	}
	return wirelimit.Wrap(c, wirelimit.NewRESP(wirelimit.RESPLimits{
		MaxBulkBytes:     s.cfg.MaxBulkBytes,
		MaxReplyElements: s.cfg.MaxReplyElements,
	}), onLimit), nil
}

// countLimit counts and logs a connection that ended on a reply beyond the
// caps; the check calls it, or a Streams reader (limitState). The log names
// the options to raise.
func (s *source) countLimit(ctx context.Context, err error) {
	s.set.Telemetry.Fault(ctx, System, faultProtocol)
	s.log.Error("Redis reply beyond the configured caps; reconnecting (raise max_bulk_bytes or max_reply_elements if the server is trusted)",
		zap.String("endpoint", s.cfg.Endpoint), zap.Error(err),
		zap.Int64("max_bulk_bytes", s.cfg.MaxBulkBytes), zap.Int64("max_reply_elements", s.cfg.MaxReplyElements))
}
