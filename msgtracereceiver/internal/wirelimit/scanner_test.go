package wirelimit

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testLimits = RESPLimits{MaxBulkBytes: 1 << 10, MaxReplyElements: 100}

// scanAll scans stream in chunks of size n (0: at once).
func scanAll(s Scanner, stream string, n int) error {
	if n == 0 {
		return s.Scan([]byte(stream))
	}
	for len(stream) > 0 {
		k := min(n, len(stream))
		if err := s.Scan([]byte(stream[:k])); err != nil {
			return err
		}
		stream = stream[k:]
	}
	return nil
}

// Honest replies pass, however the reads split them.
func TestRESPAcceptsHonestReplies(t *testing.T) {
	xread := "*1\r\n*2\r\n$6\r\nledger\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$8\r\n__data__\r\n$3\r\nabc\r\n*2\r\n$3\r\n2-0\r\n*0\r\n"
	stream := "+OK\r\n-ERR no\r\n:42\r\n$-1\r\n*-1\r\n$0\r\n\r\n" + xread +
		"*3\r\n$7\r\nmessage\r\n$6\r\norders\r\n$" + "1000\r\n" + strings.Repeat("x", 1000) + "\r\n" + xread
	for _, n := range []int{0, 1, 2, 3, 7, 64} {
		assert.NoError(t, scanAll(NewRESP(testLimits), stream, n), "chunks of %d", n)
	}
	// The element budget is per reply: many replies of 60 elements pass.
	assert.NoError(t, scanAll(NewRESP(testLimits), strings.Repeat("*60\r\n"+strings.Repeat(":1\r\n", 60), 10), 5))
}

func TestRESPRejects(t *testing.T) {
	for name, stream := range map[string]string{
		"array":          "*4000000000\r\n",
		"bulk":           "$1025\r\n",
		"nested":         "*60\r\n*60\r\n",
		"overflow":       "$99999999999999999999999999\r\n",
		"not a length":   "$12a\r\n",
		"RESP3":          "%1\r\n",
		"endless line":   "+" + strings.Repeat("x", maxLine+1),
		"bulk in a push": "*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$2000\r\n",
	} {
		for _, n := range []int{0, 1, 4} {
			err := scanAll(NewRESP(testLimits), stream, n)
			var le *LimitError
			assert.True(t, errors.As(err, &le), "%s in chunks of %d: %v", name, n, err)
		}
	}
}

func TestNATSScanner(t *testing.T) {
	honest := "INFO {\"server_id\":\"x\",\"max_payload\":1048576}\r\nPING\r\n+OK\r\nMSG a.b 1 5\r\nhello\r\nHMSG a.b 1 _INBOX.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\nMSG a 1 0\r\n\r\n-ERR 'x'\r\n"
	for _, n := range []int{0, 1, 3, 16} {
		assert.NoError(t, scanAll(NewNATS(), honest, n), "chunks of %d", n)
	}
	for name, stream := range map[string]string{
		"MSG":        "MSG a 1 4000000000\r\n",
		"HMSG":       "HMSG a 1 10 70000000\r\n",
		"no size":    "MSG a\r\n",
		"bad size":   "MSG a 1 -5\r\n",
		"long line":  "INFO " + strings.Repeat("x", natsMaxLine+1),
		"after data": "MSG a 1 2\r\nhi\r\nMSG a 1 99999999999\r\n",
	} {
		for _, n := range []int{0, 1, 5} {
			assert.True(t, IsLimit(scanAll(NewNATS(), stream, n)), "%s in chunks of %d", name, n)
		}
	}
	// After an INFO that asks for TLS, the bytes are TLS records: not checked.
	assert.NoError(t, scanAll(NewNATS(), "INFO {\"tls_required\":true}\r\n\x16\x03\x01\xff\xff MSG a 1 99999999999\r\n", 1))
}

// The connection hides the offending read, closes, reports once and keeps
// failing.
func TestConnFailsOnLimit(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	var reported []error
	c := Wrap(client, NewRESP(testLimits), func(err error) { reported = append(reported, err) })
	go func() { _, _ = server.Write([]byte("+OK\r\n")); _, _ = server.Write([]byte("*4000000000\r\n")) }()
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "+OK\r\n", string(buf[:n]))
	n, err = c.Read(buf)
	assert.Zero(t, n)
	assert.True(t, IsLimit(err))
	_, err2 := c.Read(buf)
	assert.Equal(t, err, err2)
	assert.Len(t, reported, 1)
	assert.Contains(t, err.Error(), "resp: server declared array length (elements of one reply) 4000000000, above the limit of 100")
}

// Fuzz: no input panics, and the verdict does not depend on how reads
// split the stream.
func FuzzRESP(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "*2\r\n$1\r\na\r\n:1\r\n", "*4000000000\r\n", "$5\r\nab", "*1\r\n*1\r\n*-1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		whole := scanAll(NewRESP(testLimits), string(b), 0)
		split := scanAll(NewRESP(testLimits), string(b), 1)
		if (whole == nil) != (split == nil) {
			t.Fatalf("whole %v, split %v", whole, split)
		}
	})
}

func FuzzNATS(f *testing.F) {
	for _, s := range []string{"INFO {}\r\n", "MSG a 1 2\r\nhi\r\n", "HMSG a 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", "MSG a 1 99999999999\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		whole := scanAll(NewNATS(), string(b), 0)
		split := scanAll(NewNATS(), string(b), 1)
		if (whole == nil) != (split == nil) {
			t.Fatalf("whole %v, split %v", whole, split)
		}
	})
}
