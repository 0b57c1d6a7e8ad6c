// Package renames holds the semantic-convention renames the semconv processor applies, as data
// generated from the semconv schema file and the messaging model (see ../gen), and an Index for
// looking them up on the hot path.
package renames // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"

//go:generate go run ../gen -semconv ../../third_party/semconv -history ../../third_party/semconv-history -version 1.44.0 -out generated_table.go -doc ../../mapping.md

// Signal is a set of telemetry signals a rename applies to.
type Signal uint8

const (
	// Spans marks a rename that applies to span attributes.
	Spans Signal = 1 << iota
	// Metrics marks a rename that applies to metric data point attributes.
	Metrics
)

// Attribute renames an attribute key. From is mapped straight to its final 1.44 name: chains of
// renames (a -> b in one version, b -> c in a later one) are resolved by the generator. An Index
// built to drop removed attributes holds them, and the renames into them, with To "": drop From.
type Attribute struct {
	From string
	To   string
	// ToType is the registry type of To ("string", "int", "boolean", ...) when To is a messaging
	// registry attribute, else "". A value of another type is converted on rename.
	ToType string
	// Version is the semconv version that renamed From.
	Version string
	Signals Signal
}

// Removed is a messaging attribute of a past release that semconv removed without a deprecation
// entry (messaging.destination.kind, messaging.url).
type Removed struct {
	Key string
	// LastRelease is the last semconv release that defines Key.
	LastRelease string
}

// Value renames a deprecated enum member of an attribute (messaging.operation.type publish -> send).
type Value struct {
	Attribute string
	From      string
	To        string
}

// MetricRename renames a deprecated metric.
type MetricRename struct {
	From string
	To   string
	// Version is the semconv version that renamed From ("" when only the deprecated model says so).
	Version string
	// Operation is the messaging.operation.type the old name implies (messaging.publish.duration:
	// send), "" when it implies none.
	Operation string
}

// Metric describes a current (1.44) messaging metric.
type Metric struct {
	Name       string
	Instrument string // histogram, counter, updowncounter or gauge
	Unit       string
	Brief      string
	// Operation is the messaging.operation.type the name implies (messaging.process.duration:
	// process), "" when it implies none.
	Operation string
	// OperationType says whether the metric defines the messaging.operation.type attribute.
	OperationType bool
}

// Index is the table compiled for lookups on the hot path. It is read-only after New.
type Index struct {
	span          keyTable
	metric        keyTable
	opValues      map[string]string
	operations    []operationWord
	metricRenames map[string]MetricRename
	metrics       map[string]Metric
}

// New compiles the generated table, plus the extra attribute renames of the caller (renames the
// schema file cannot express), into an Index. Extra renames win over the generated ones. With
// dropRemoved, the removed attributes (Removed) and the deprecated keys renamed into one of them
// are looked up as drops (To ""), unless an extra rename renames them.
func New(extra []Attribute, dropRemoved bool) *Index {
	idx := &Index{
		span:          newKeyTable(),
		metric:        newKeyTable(),
		opValues:      map[string]string{},
		metricRenames: map[string]MetricRename{},
		metrics:       map[string]Metric{},
	}
	generated := generatedAttributes()
	var drops []Attribute
	if dropRemoved {
		removed := map[string]bool{}
		for _, r := range generatedRemoved() {
			removed[r.Key] = true
			drops = append(drops, Attribute{From: r.Key, Signals: Spans | Metrics})
		}
		for i := range generated {
			if removed[generated[i].To] {
				generated[i].To, generated[i].ToType = "", ""
			}
		}
	}
	for _, list := range [][]Attribute{drops, generated, extra} {
		for i := range list {
			a := &list[i]
			if a.Signals&Spans != 0 {
				idx.span.add(a)
			}
			if a.Signals&Metrics != 0 {
				idx.metric.add(a)
			}
		}
	}
	for _, op := range generatedOperationTypes() {
		idx.operations = append(idx.operations, operationWord{word: op, op: op})
	}
	for _, v := range generatedValues() {
		if v.Attribute == OperationTypeKey {
			idx.operations = append(idx.operations, operationWord{word: v.From, op: v.To})
			idx.opValues[v.From] = v.To
		}
	}
	for _, m := range generatedMetricRenames() {
		idx.metricRenames[m.From] = m
	}
	for _, m := range generatedMetrics() {
		idx.metrics[m.Name] = m
	}
	return idx
}

// OperationTypeKey is the attribute whose deprecated values the table renames.
const OperationTypeKey = "messaging.operation.type"

// Attribute returns the rename of key for the given signal (Spans or Metrics). The result is
// shared: do not modify it.
func (idx *Index) Attribute(sig Signal, key string) (*Attribute, bool) {
	if sig == Metrics {
		return idx.metric.get(key)
	}
	return idx.span.get(key)
}

// OperationValue returns the current value of a deprecated messaging.operation.type value
// (publish: send, deliver: process).
func (idx *Index) OperationValue(value string) (string, bool) {
	v, ok := idx.opValues[value]
	return v, ok
}

// Operation maps an operation word (a messaging.operation.type value, current or deprecated,
// or the action word of an old span name) to its current messaging.operation.type.
func (idx *Index) Operation(word string) (string, bool) {
	// A handful of short words: a linear search beats hashing.
	for _, w := range idx.operations {
		if w.word == word {
			return w.op, true
		}
	}
	return "", false
}

type operationWord struct{ word, op string }

// MetricRename returns the rename of a deprecated metric.
func (idx *Index) MetricRename(name string) (MetricRename, bool) {
	m, ok := idx.metricRenames[name]
	return m, ok
}

// Metric returns a current messaging metric.
func (idx *Index) Metric(name string) (Metric, bool) {
	m, ok := idx.metrics[name]
	return m, ok
}

// Obsolete returns the deprecated messaging attributes that have no replacement in semconv.
func Obsolete() []string { return generatedObsolete() }

// RemovedAttributes returns the messaging attributes semconv removed without a deprecation entry.
func RemovedAttributes() []Removed { return generatedRemoved() }

// SchemaURL is the schema the table migrates to.
func SchemaURL() string { return generatedSchemaURL }

// keyTable finds a key of a small table with one array read and at most one string compare: its
// slots are indexed by key length (below 64) and last byte (mod 64). A slot holds 0 (no key), the
// index+1 of the only key with that length and last byte, or shared (several: use the map).
// Current keys rarely share both with a deprecated one, so most are rejected without hashing.
type keyTable struct {
	slots [64 * 64]uint8
	keys  []*Attribute
	all   map[string]*Attribute
}

const shared = 255

func newKeyTable() keyTable { return keyTable{all: map[string]*Attribute{}} }

func slotOf(key string) (int, bool) {
	n := len(key)
	if n == 0 || n >= 64 {
		return 0, false
	}
	return n*64 + int(key[n-1]&63), true
}

func (t *keyTable) add(a *Attribute) {
	t.all[a.From] = a
	i, ok := slotOf(a.From)
	if !ok {
		return
	}
	switch t.slots[i] {
	case 0:
		if len(t.keys) < shared-1 {
			t.keys = append(t.keys, a)
			t.slots[i] = uint8(len(t.keys))
			return
		}
		t.slots[i] = shared
	case shared:
	default:
		if t.keys[t.slots[i]-1].From != a.From {
			t.slots[i] = shared
		} else {
			t.keys[t.slots[i]-1] = a
		}
	}
}

func (t *keyTable) get(key string) (*Attribute, bool) {
	i, ok := slotOf(key)
	if !ok {
		a, found := t.all[key]
		return a, found
	}
	switch s := t.slots[i]; s {
	case 0:
		return nil, false
	case shared:
		a, found := t.all[key]
		return a, found
	default:
		if a := t.keys[s-1]; a.From == key {
			return a, true
		}
		return nil, false
	}
}
