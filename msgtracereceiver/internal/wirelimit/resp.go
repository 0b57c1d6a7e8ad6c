package wirelimit

import "fmt"

// RESPLimits are the caps of a RESP2 reply stream (Redis).
type RESPLimits struct {
	// MaxBulkBytes caps one bulk string.
	MaxBulkBytes int64
	// MaxReplyElements caps the elements one reply declares, all its
	// nested arrays together: redigo allocates an array's slots from its
	// declared length, so this bounds that allocation (16 bytes a slot).
	MaxReplyElements int64
}

// maxLine caps a status, error or integer line, and a length header.
const maxLine = 64 << 10

// RESP follows RESP2 replies. The zero value is not usable: use NewRESP.
type RESP struct {
	limits RESPLimits
	state  respState
	// line holds the current line's bytes (type byte excluded) up to maxLine.
	line    []byte
	lineLen int64
	kind    byte
	skip    int64   // bytes of a bulk string (and its CRLF) still to pass
	open    []int64 // elements still expected by each open array, innermost last
	reply   int64   // elements declared so far by the current reply
}

type respState uint8

const (
	respType respState = iota
	respLine
	respBulk
)

// NewRESP returns a scanner for a RESP2 reply stream.
func NewRESP(l RESPLimits) *RESP { return &RESP{limits: l, line: make([]byte, 0, 32)} }

func respErr(what string, n, limit int64) error {
	return &LimitError{Protocol: "resp", What: what, Length: n, Limit: limit}
}

// Scan implements Scanner.
func (r *RESP) Scan(p []byte) error {
	for len(p) > 0 {
		switch r.state {
		case respType:
			r.kind = p[0]
			p = p[1:]
			switch r.kind {
			case '+', '-', ':', '$', '*':
			default:
				return respErr(fmt.Sprintf("reply type %q (RESP2 expected)", r.kind), -1, 0)
			}
			r.line, r.lineLen, r.state = r.line[:0], 0, respLine
		case respLine:
			i := 0
			for i < len(p) && p[i] != '\n' {
				i++
			}
			if r.lineLen += int64(i); r.lineLen > maxLine {
				return respErr("line length", r.lineLen, maxLine)
			}
			if r.kind == '$' || r.kind == '*' { // other lines' content is not needed
				r.line = append(r.line, p[:i]...)
			}
			if i == len(p) {
				return nil
			}
			p = p[i+1:]
			if err := r.endLine(); err != nil {
				return err
			}
		case respBulk:
			n := min(int64(len(p)), r.skip)
			p, r.skip = p[n:], r.skip-n
			if r.skip == 0 {
				r.state = respType
				r.element()
			}
		}
	}
	return nil
}

// endLine acts on a complete line.
func (r *RESP) endLine() error {
	r.state = respType
	if r.kind != '$' && r.kind != '*' {
		r.element()
		return nil
	}
	n, err := parseLength(r.line)
	if err != nil {
		return err
	}
	switch {
	case n < 0: // null bulk string or array
		r.element()
	case r.kind == '$':
		if n > r.limits.MaxBulkBytes {
			return respErr("bulk string length", n, r.limits.MaxBulkBytes)
		}
		r.skip, r.state = n+2, respBulk
	case n == 0:
		r.element()
	default:
		if r.reply+n > r.limits.MaxReplyElements {
			return respErr("array length (elements of one reply)", r.reply+n, r.limits.MaxReplyElements)
		}
		r.reply += n
		r.open = append(r.open, n)
	}
	return nil
}

// element marks one element complete, closing the arrays it completes; a
// complete top-level value ends the reply.
func (r *RESP) element() {
	for len(r.open) > 0 {
		top := len(r.open) - 1
		if r.open[top]--; r.open[top] > 0 {
			return
		}
		r.open = r.open[:top]
	}
	r.reply = 0
}

// parseLength reads "<digits>\r" or "-1\r"; lengths above 2^62 are
// reported as such, never wrapped.
func parseLength(b []byte) (int64, error) {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	if len(b) == 2 && b[0] == '-' && b[1] == '1' {
		return -1, nil
	}
	if len(b) == 0 {
		return 0, respErr("empty length", -1, 0)
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, respErr(fmt.Sprintf("length %q", b), -1, 0)
		}
		if n > 1<<62/10 {
			return 1 << 62, nil
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}
