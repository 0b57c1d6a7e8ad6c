package wirelimit

import (
	"bytes"
	"fmt"
)

// NATSMaxPayload is the largest MSG/HMSG payload accepted: nats-server
// refuses a max_payload above 64 MiB, so no honest server sends more.
// nats.go allocates a payload buffer from the declared size.
const NATSMaxPayload = 64 << 20

// natsMaxLine caps a protocol line; INFO of a large cluster (connect_urls)
// is the longest honest one.
const natsMaxLine = 256 << 10

// NATS follows the NATS client protocol as the server sends it: protocol
// lines (INFO, MSG, HMSG, PING, PONG, +OK, -ERR), each MSG/HMSG followed by
// its payload. After an INFO that asks for TLS it stops looking: nats.go
// runs TLS over the connection from then on.
type NATS struct {
	line    []byte
	skip    int64 // payload bytes (and CRLF) still to pass
	passing bool  // TLS: bytes pass unchecked
}

// NewNATS returns a scanner for a NATS server's stream.
func NewNATS() *NATS { return &NATS{} }

func natsErr(what string, n, limit int64) error {
	return &LimitError{Protocol: "nats", What: what, Length: n, Limit: limit}
}

// Scan implements Scanner.
func (s *NATS) Scan(p []byte) error {
	for len(p) > 0 && !s.passing {
		if s.skip > 0 {
			n := min(int64(len(p)), s.skip)
			p, s.skip = p[n:], s.skip-n
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(s.line)+len(p) > natsMaxLine {
				return natsErr("protocol line length", int64(len(s.line)+len(p)), natsMaxLine)
			}
			s.line = append(s.line, p...)
			return nil
		}
		if len(s.line)+i > natsMaxLine {
			return natsErr("protocol line length", int64(len(s.line)+i), natsMaxLine)
		}
		s.line = append(s.line, p[:i]...)
		p = p[i+1:]
		if err := s.endLine(bytes.TrimRight(s.line, "\r")); err != nil {
			return err
		}
		s.line = s.line[:0]
	}
	return nil
}

func (s *NATS) endLine(line []byte) error {
	op, args, _ := bytes.Cut(line, []byte{' '})
	switch {
	case bytes.EqualFold(op, []byte("MSG")), bytes.EqualFold(op, []byte("HMSG")):
		f := bytes.Fields(args)
		if len(f) < 3 {
			return natsErr(fmt.Sprintf("%s line without a size", op), -1, 0)
		}
		n, err := parseLength(f[len(f)-1])
		if err != nil || n < 0 {
			return natsErr(fmt.Sprintf("%s size %q", op, f[len(f)-1]), -1, 0)
		}
		if n > NATSMaxPayload {
			return natsErr("message size", n, NATSMaxPayload)
		}
		s.skip = n + 2
	case bytes.EqualFold(op, []byte("INFO")):
		if bytes.Contains(args, []byte(`"tls_required":true`)) {
			s.passing = true
		}
	}
	return nil
}
