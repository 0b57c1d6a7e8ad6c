// Package renames holds the semantic-convention renames the semconv processor applies, as data
// generated from the semconv schema file and the messaging model (see ../gen), and an Index for
// looking them up on the hot path.
package renames // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/renames"

//go:generate go run ../gen -semconv ../../third_party/semconv -version 1.44.0 -out generated_table.go

// Signal is a set of telemetry signals a rename applies to.
type Signal uint8

const (
	// Spans marks a rename that applies to span attributes.
	Spans Signal = 1 << iota
	// Metrics marks a rename that applies to metric data point attributes.
	Metrics
)

// Attribute renames an attribute key. From is mapped straight to its final 1.44 name: chains of
// renames (a -> b in one version, b -> c in a later one) are resolved by the generator.
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

// Index is the table compiled into maps. It is read-only after New.
type Index struct {
	span          map[string]Attribute
	metric        map[string]Attribute
	values        map[Value]string
	operations    map[string]string
	metricRenames map[string]MetricRename
	metrics       map[string]Metric
}

// New compiles the generated table, plus the extra attribute renames of the caller (renames the
// schema file cannot express), into an Index. Extra renames win over the generated ones.
func New(extra []Attribute) *Index {
	idx := &Index{
		span:          map[string]Attribute{},
		metric:        map[string]Attribute{},
		values:        map[Value]string{},
		operations:    map[string]string{},
		metricRenames: map[string]MetricRename{},
		metrics:       map[string]Metric{},
	}
	for _, list := range [][]Attribute{generatedAttributes(), extra} {
		for _, a := range list {
			if a.Signals&Spans != 0 {
				idx.span[a.From] = a
			}
			if a.Signals&Metrics != 0 {
				idx.metric[a.From] = a
			}
		}
	}
	for _, op := range generatedOperationTypes() {
		idx.operations[op] = op
	}
	for _, v := range generatedValues() {
		idx.values[Value{Attribute: v.Attribute, From: v.From}] = v.To
		if v.Attribute == OperationTypeKey {
			idx.operations[v.From] = v.To
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

// Attribute returns the rename of key for the given signal (Spans or Metrics).
func (idx *Index) Attribute(sig Signal, key string) (Attribute, bool) {
	if sig == Metrics {
		a, ok := idx.metric[key]
		return a, ok
	}
	a, ok := idx.span[key]
	return a, ok
}

// Value returns the current value of a deprecated enum member of attr.
func (idx *Index) Value(attr, value string) (string, bool) {
	v, ok := idx.values[Value{Attribute: attr, From: value}]
	return v, ok
}

// Operation maps an operation word (a messaging.operation.type value, current or deprecated,
// or the action word of an old span name) to its current messaging.operation.type.
func (idx *Index) Operation(word string) (string, bool) {
	op, ok := idx.operations[word]
	return op, ok
}

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

// SchemaURL and Version are the schema the table migrates to.
func SchemaURL() string { return generatedSchemaURL }
