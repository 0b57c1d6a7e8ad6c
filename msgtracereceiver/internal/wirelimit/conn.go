// Package wirelimit caps the lengths a broker's replies declare before the
// client library reads them: a client that allocates from a declared
// length (redigo for a RESP array or bulk string, nats.go for a MSG
// payload) would otherwise die of a lying or broken server's
// `*4000000000`. A Conn follows the protocol's framing over the bytes the
// client reads and fails the connection, with a *LimitError, at the first
// header beyond a cap; the client never sees that header.
package wirelimit // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/wirelimit"

import (
	"errors"
	"fmt"
	"net"
)

// Scanner follows a protocol's framing over a stream of bytes.
type Scanner interface {
	// Scan consumes the next bytes of the stream; an error means they
	// break a cap or the framing, and the stream must not be read on.
	Scan(p []byte) error
}

// LimitError tells that the server declared a length beyond a cap, or
// broke the framing the caps rely on.
type LimitError struct {
	Protocol string // "resp", "nats"
	What     string // what was declared: "bulk string length", ...
	Length   int64  // what the server declared; -1 when not a length
	Limit    int64
}

func (e *LimitError) Error() string {
	if e.Length < 0 {
		return fmt.Sprintf("%s: server reply rejected: %s", e.Protocol, e.What)
	}
	return fmt.Sprintf("%s: server declared %s %d, above the limit of %d", e.Protocol, e.What, e.Length, e.Limit)
}

// IsLimit reports whether err (or an error it wraps) is a *LimitError.
func IsLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

// Conn is a net.Conn whose reads pass a Scanner before the caller sees them.
type Conn struct {
	net.Conn
	scanner Scanner
	onLimit func(error)
	err     error
}

// Wrap returns c with its reads checked by s; onLimit, if not nil, is
// called once with the error that ends the connection, whether or not the
// client passes that error on (nats.go does not while it handshakes).
func Wrap(c net.Conn, s Scanner, onLimit func(error)) *Conn {
	return &Conn{Conn: c, scanner: s, onLimit: onLimit}
}

// Read reads from the connection; bytes that break a cap are not returned:
// the connection is closed and the *LimitError returned, then and on every
// later read.
func (c *Conn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if serr := c.scanner.Scan(p[:n]); serr != nil {
			c.err = serr
			_ = c.Conn.Close()
			if c.onLimit != nil {
				c.onLimit(serr)
			}
			return 0, serr
		}
	}
	return n, err
}
