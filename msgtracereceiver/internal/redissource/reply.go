package redissource

import (
	"errors"
	"fmt"

	"github.com/gomodule/redigo/redis"
)

// streamRead is what one XREAD returned for one stream.
type streamRead struct {
	Stream  string
	Entries []entry
}

// entry is one stream entry.
type entry struct {
	ID string
	// Fields are the entry's field names and values in turn, as added.
	Fields []string
	// fault tells that some fields were not name/value pairs of strings;
	// Fields holds the pairs that were.
	fault error
	// oversized, when set, tells that the entry was not read: it does not
	// fit the caps even alone, and only its shape is known.
	oversized *oversize
}

// parseXRead reads an XREAD reply (RESP2): nil when BLOCK ended without
// entries, else [[stream, [[id, [field, value, ...]], ...]], ...]. A reply
// without a stream name or an entry ID, which positions depend on, is an
// error; fields of another shape are a fault of their entry only.
func parseXRead(reply any) ([]streamRead, error) {
	if reply == nil {
		return nil, nil
	}
	streams, ok := reply.([]any)
	if !ok {
		return nil, fmt.Errorf("reply is %s, want an array of streams", kindOf(reply))
	}
	out := make([]streamRead, 0, len(streams))
	for i, v := range streams {
		pair, ok := v.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("stream %d is %s, want [name, entries]", i, kindOf(v))
		}
		name, err := redis.String(pair[0], nil)
		if err != nil {
			return nil, fmt.Errorf("stream %d: name is %s", i, kindOf(pair[0]))
		}
		entries, ok := pair[1].([]any)
		if !ok && pair[1] != nil {
			return nil, fmt.Errorf("stream %q: entries are %s, want an array", name, kindOf(pair[1]))
		}
		st := streamRead{Stream: name, Entries: make([]entry, 0, len(entries))}
		for j, ev := range entries {
			e, err := parseEntry(ev)
			if err != nil {
				return nil, fmt.Errorf("stream %q: entry %d: %w", name, j, err)
			}
			st.Entries = append(st.Entries, e)
		}
		out = append(out, st)
	}
	return out, nil
}

func parseEntry(v any) (entry, error) {
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 {
		return entry{}, fmt.Errorf("%s, want [id, fields]", kindOf(v))
	}
	id, err := redis.String(pair[0], nil)
	if err != nil {
		return entry{}, fmt.Errorf("ID is %s", kindOf(pair[0]))
	}
	e := entry{ID: id}
	if pair[1] == nil {
		return e, nil // an entry without fields
	}
	fields, ok := pair[1].([]any)
	if !ok {
		e.fault = fmt.Errorf("fields are %s, want an array", kindOf(pair[1]))
		return e, nil
	}
	e.Fields = make([]string, 0, len(fields)&^1)
	for k := 0; k+1 < len(fields); k += 2 {
		name, nerr := redis.String(fields[k], nil)
		value, verr := redis.String(fields[k+1], nil)
		if nerr != nil || verr != nil {
			if e.fault == nil {
				e.fault = fmt.Errorf("field %d is %s = %s, want two strings", k/2, kindOf(fields[k]), kindOf(fields[k+1]))
			}
			continue
		}
		e.Fields = append(e.Fields, name, value)
	}
	if len(fields)%2 != 0 && e.fault == nil {
		e.fault = fmt.Errorf("%d field names and values, want pairs", len(fields))
	}
	return e, nil
}

// lastGeneratedID reads last-generated-id from an XINFO STREAM reply, a
// flat array of names and values (RESP2).
func lastGeneratedID(reply any) (string, error) {
	kv, ok := reply.([]any)
	if !ok {
		return "", fmt.Errorf("reply is %s, want an array", kindOf(reply))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if name, err := redis.String(kv[i], nil); err == nil && name == "last-generated-id" {
			id, err := redis.String(kv[i+1], nil)
			if err != nil {
				return "", fmt.Errorf("last-generated-id is %s", kindOf(kv[i+1]))
			}
			return id, nil
		}
	}
	return "", errors.New("reply has no last-generated-id")
}

// kindOf names a reply value's RESP type for an error message; it never
// quotes the value, which may be message data.
func kindOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case []any:
		return fmt.Sprintf("an array of %d", len(v))
	case []byte:
		return "a bulk string"
	case string:
		return "a status string"
	case int64:
		return "an integer"
	case redis.Error:
		return "an error reply"
	default:
		return fmt.Sprintf("a %T", v)
	}
}
