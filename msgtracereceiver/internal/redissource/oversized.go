package redissource

import (
	"context"
	"errors"
	"fmt"

	"github.com/gomodule/redigo/redis"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/wirelimit"
)

// faultOversized counts a stream entry that alone is beyond max_bulk_bytes
// or max_reply_elements: it yields a span without its fields, and the tap
// reads on after it.
const faultOversized = "oversized"

// shapeScript describes the stream entries a read would return next, on
// the server, without their values: per entry its ID, the number of field
// names and values (-1: the entry was deleted), the longest of them, their
// total bytes and the length of the __data__ field (-1: none). Mode
// "range" lists the entries after ARGV[2]; "pending" those pending on
// consumer ARGV[4] of group ARGV[2], in ID order.
var shapeScript = redis.NewScript(1, `
local entries
if ARGV[1] == 'pending' then
  entries = {}
  local p = redis.call('XPENDING', KEYS[1], ARGV[2], '-', '+', tonumber(ARGV[3]), ARGV[4])
  for i, pe in ipairs(p) do
    local r = redis.call('XRANGE', KEYS[1], pe[1], pe[1])
    entries[i] = r[1] or {pe[1], false}
  end
else
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', tonumber(ARGV[3]))
end
local out = {}
for _, e in ipairs(entries) do
  local items, longest, total, data = -1, 0, 0, -1
  local f = e[2]
  if f then
    items = #f
    for j = 1, #f do
      local n = string.len(f[j])
      total = total + n
      if n > longest then longest = n end
      if j % 2 == 1 and data < 0 and f[j] == '__data__' and f[j + 1] then data = string.len(f[j + 1]) end
    end
  end
  out[#out + 1] = e[1]
  out[#out + 1] = items
  out[#out + 1] = longest
  out[#out + 1] = total
  out[#out + 1] = data
end
return out
`)

// shapeFields is how many values shapeScript returns per entry.
const shapeFields = 5

// entryShape is what shapeScript tells of one entry.
type entryShape struct {
	ID      string
	Items   int64 // field names and values; -1: deleted
	Longest int64 // bytes of the longest field name or value
	Total   int64 // bytes of all field names and values
	Data    int64 // bytes of the __data__ value; -1: none
}

// parseShapes reads shapeScript's reply: a flat array of shapeFields
// values per entry.
func parseShapes(reply any) ([]entryShape, error) {
	vs, ok := reply.([]any)
	if !ok {
		return nil, fmt.Errorf("reply is %s, want an array", kindOf(reply))
	}
	if len(vs)%shapeFields != 0 {
		return nil, fmt.Errorf("reply has %d values, want %d per entry", len(vs), shapeFields)
	}
	out := make([]entryShape, 0, len(vs)/shapeFields)
	for i := 0; i < len(vs); i += shapeFields {
		id, err := redis.String(vs[i], nil)
		if err != nil || id == "" {
			return nil, fmt.Errorf("entry %d: ID is %s", i/shapeFields, kindOf(vs[i]))
		}
		var n [shapeFields - 1]int64
		for k := range n {
			v, ok := vs[i+1+k].(int64)
			if !ok || v < -1 {
				return nil, fmt.Errorf("entry %s: value %d is %s, want an integer of at least -1", id, k+1, kindOf(vs[i+1+k]))
			}
			n[k] = v
		}
		out = append(out, entryShape{ID: id, Items: n[0], Longest: n[1], Total: n[2], Data: n[3]})
	}
	return out, nil
}

// oversized tells why e cannot be read within the caps even alone, or nil.
// One entry read with COUNT 1 costs 6 + its fields of the reply's elements
// (XREADGROUP: the reply, stream, entries, entry and fields arrays).
func (s *source) oversized(e *entryShape) error {
	switch {
	case e.Longest > s.cfg.MaxBulkBytes:
		return fmt.Errorf("stream entry %s has a field of %d bytes, above max_bulk_bytes %d", e.ID, e.Longest, s.cfg.MaxBulkBytes)
	case e.Items+6 > s.cfg.MaxReplyElements:
		return fmt.Errorf("stream entry %s has %d field names and values, above max_reply_elements %d", e.ID, e.Items, s.cfg.MaxReplyElements)
	}
	return nil
}

// overCap tells that a stream read failed on a length beyond the caps,
// which an entry of the stream may explain; other framing errors may not.
func overCap(err error) bool {
	var le *wirelimit.LimitError
	return errors.As(err, &le) && le.Length >= 0
}

// limitState carries a stream read that ended beyond the caps to the next
// connection, which reads the streams carefully (see readCarefully).
type limitState struct {
	// err is the read's error; nil when the last read did not end so.
	err error
}

// flush counts the recorded limit error, which the careful reads did not
// explain: entries that fit only one at a time, or scripting refused.
func (l *limitState) flush(ctx context.Context, s *source) {
	if l.err != nil {
		s.countLimit(context.WithoutCancel(ctx), l.err)
		l.err = nil
	}
}

// ended records how a connection ended: a stream read beyond the caps
// makes the next connection careful (and counts an earlier one the careful
// reads did not explain); any other limit error is counted at once.
func (s *source) ended(ctx context.Context, l *limitState, err error, streamRead bool) {
	switch {
	case streamRead && overCap(err):
		l.flush(ctx, s)
		l.err = err
	case wirelimit.IsLimit(err):
		s.countLimit(ctx, err)
	}
	// Another error leaves careful reads still due to the next connection.
}

// streamReadError marks an error of a command that returns stream entries.
type streamReadError struct{ err error }

func (e *streamReadError) Error() string { return e.err.Error() }
func (e *streamReadError) Unwrap() error { return e.err }

func isStreamRead(err error) bool {
	var se *streamReadError
	return errors.As(err, &se)
}

// shapeCount is how many entries one shapeScript call describes: up to
// max_batch_size, within max_reply_elements. The careful reads take the
// entries beyond it as fitting, and describe them at the next failure.
func (s *source) shapeCount() int {
	return int(min(int64(s.cfg.MaxBatchSize), (s.cfg.MaxReplyElements-1)/shapeFields))
}

// shapes runs shapeScript; an error means the server refused it (scripting
// disabled, denied by ACL or renamed) or the connection failed.
func (s *source) shapes(c redis.Conn, stream string, args ...any) ([]entryShape, error) {
	reply, err := shapeScript.Do(c, append([]any{stream}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("describe entries of %s: %w", stream, err)
	}
	out, err := parseShapes(reply)
	if err != nil {
		return nil, fmt.Errorf("describe entries of %s: malformed reply: %w", stream, err)
	}
	return out, nil
}

// refused logs that the careful reads cannot skip an oversized entry: the
// tap stays at pos, as it did before it could.
func (s *source) refused(stream, pos string, err error) {
	s.log.Error("Redis Streams tap cannot describe the entries after its position, so an entry beyond the caps there cannot be skipped; raise max_bulk_bytes or max_reply_elements, or allow EVAL for the tap's user",
		zap.String("stream", stream), zap.String("after", pos), zap.Error(err),
		zap.Int64("max_bulk_bytes", s.cfg.MaxBulkBytes), zap.Int64("max_reply_elements", s.cfg.MaxReplyElements))
}

// readCarefully follows a stream read that ended beyond the caps: for each
// stream it reads up to max_batch_size entries after last one at a time,
// so that entries that fit only alone still pass, and turns each entry
// that fits not even alone into a span without its fields and an
// oversized fault. It reports whether it found such an entry, which
// explains the failed read. An entry that fails this read is described
// again by the next connection's careful reads.
func (s *source) readCarefully(ctx context.Context, c redis.Conn, last map[string]string) (bool, error) {
	found := false
	for _, st := range s.cfg.Streams {
		pos := last[st.Name]
		shapes, err := s.shapes(c, st.Name, "range", pos, s.shapeCount())
		if err != nil {
			if !errors.As(err, new(redis.Error)) {
				return found, err
			}
			s.refused(st.Name, pos, err)
			shapes = nil // still read one entry at a time: what fits alone passes
		}
		for i := 0; i < s.cfg.MaxBatchSize; i++ {
			var e entry
			if i < len(shapes) {
				if why := s.oversized(&shapes[i]); why != nil {
					found = true
					e = entry{ID: shapes[i].ID, oversized: &oversize{shape: shapes[i], err: why}}
				}
			}
			if e.oversized == nil {
				reply, err := c.Do("XRANGE", st.Name, "("+last[st.Name], "+", "COUNT", 1)
				if err != nil {
					return found, &streamReadError{fmt.Errorf("xrange %s: %w", st.Name, err)}
				}
				list, ok := reply.([]any)
				if !ok {
					return found, fmt.Errorf("xrange %s: malformed reply: %s", st.Name, kindOf(reply))
				}
				if len(list) == 0 {
					break
				}
				if e, err = parseEntry(list[0]); err != nil {
					return found, fmt.Errorf("xrange %s: malformed reply: %w", st.Name, err)
				}
				if i < len(shapes) && e.ID != shapes[i].ID {
					shapes = nil // trimmed meanwhile: the shapes no longer line up
				}
			}
			if err := s.deliverStream(ctx, &streamRead{Stream: st.Name, Entries: []entry{e}}); err != nil {
				return found, err
			}
			last[st.Name] = e.ID
		}
	}
	return found, nil
}

// drainCarefully is readCarefully for a consumer group: a read beyond the
// caps left its entries pending on this consumer, and this reads them one
// at a time in ID order, acknowledging each after its span; an entry that
// fits not even alone yields a span without its fields and an oversized
// fault, and is acknowledged the same way.
func (s *source) drainCarefully(ctx context.Context, c redis.Conn, consumer string) (bool, error) {
	found := false
	for _, st := range s.cfg.Streams {
		shapes, err := s.shapes(c, st.Name, "pending", s.cfg.Group.Name, s.shapeCount(), consumer)
		if err != nil {
			if !errors.As(err, new(redis.Error)) {
				return found, err
			}
			s.refused(st.Name, "0 (pending entries of consumer "+consumer+")", err)
			shapes = nil
		}
		for i := 0; i < s.cfg.MaxBatchSize; i++ {
			if i < len(shapes) {
				if why := s.oversized(&shapes[i]); why != nil {
					found = true
					e := entry{ID: shapes[i].ID, oversized: &oversize{shape: shapes[i], err: why}}
					if err := s.deliverAndAck(ctx, c, &streamRead{Stream: st.Name, Entries: []entry{e}}); err != nil {
						return found, err
					}
					continue
				}
			}
			// The first entry pending on this consumer: the ones before are acknowledged.
			reply, err := c.Do("XREADGROUP", "GROUP", s.cfg.Group.Name, consumer, "COUNT", 1, "STREAMS", st.Name, "0")
			if err != nil {
				return found, &streamReadError{fmt.Errorf("xreadgroup %s: %w", st.Name, err)}
			}
			res, err := parseXRead(reply)
			if err != nil {
				return found, fmt.Errorf("xreadgroup %s: malformed reply: %w", st.Name, err)
			}
			if len(res) == 0 || len(res[0].Entries) == 0 {
				break
			}
			if i < len(shapes) && res[0].Entries[0].ID != shapes[i].ID {
				shapes = nil // claimed or acknowledged meanwhile: the shapes no longer line up
			}
			if err := s.deliverAndAck(ctx, c, &res[0]); err != nil {
				return found, err
			}
		}
	}
	return found, nil
}

// oversize marks an entry read only as its shape.
type oversize struct {
	shape entryShape
	err   error
}
