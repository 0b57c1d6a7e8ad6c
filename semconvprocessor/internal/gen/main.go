// Command gen writes the rename table of the semconv processor from copies of the semantic
// conventions files: the schema file (every attribute and metric rename since 1.4.0) and the
// messaging model (registry types, deprecated attributes, enum values and metrics).
//
//	go run ./internal/gen -semconv third_party/semconv -history third_party/semconv-history \
//	    -version 1.44.0 -out generated_table.go -doc mapping.md
//
// The messaging models of past releases (-history) give the attributes semconv removed without
// a deprecation entry.
//
// It runs through `go generate ./...` (see internal/renames/renames.go).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"strings"
)

const (
	operationTypeKey = "messaging.operation.type"
	// prefix limits the generated renames to what the processor touches: messaging attributes
	// and metrics. Chains through other names (messaging.protocol -> net.app.protocol.name ->
	// network.protocol.name) are still resolved over every rename of the schema.
	prefix = "messaging."
)

func main() {
	dir := flag.String("semconv", "", "directory with schemas/<version> and model/messaging/")
	history := flag.String("history", "", "directory with past messaging models, as <repository>/<tag>/<path>")
	version := flag.String("version", "", "semconv version to migrate to, e.g. 1.44.0")
	out := flag.String("out", "", "Go file to write")
	doc := flag.String("doc", "", "Markdown file to write the mapping tables to")
	flag.Parse()
	if *dir == "" || *history == "" || *version == "" || *out == "" || *doc == "" {
		flag.Usage()
		os.Exit(2)
	}
	src, md, err := generate(*dir, *history, *version)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatalf("gen: %v", err)
	}
	if err := os.WriteFile(*doc, md, 0o644); err != nil {
		log.Fatalf("gen: %v", err)
	}
}

// table is everything the generated file holds.
type table struct {
	version       string
	schemaURL     string
	attributes    []attrRow
	values        []valueRow
	operations    []string
	obsolete      []string
	removed       []removedRow
	metricRenames []metricRenameRow
	metrics       []metricRow
}

type attrRow struct {
	from, to, toType, version string
	spans, metrics            bool
	via                       []string
}

// signals names the signals of a, joined by sep.
func (a attrRow) signals(spans, metrics, sep string) string {
	var names []string
	if a.spans {
		names = append(names, spans)
	}
	if a.metrics {
		names = append(names, metrics)
	}
	return strings.Join(names, sep)
}

type valueRow struct{ attribute, from, to string }

// removedRow is an attribute semconv removed without a deprecation entry; last is the last
// release (of the committed history) that defines it.
type removedRow struct{ key, last string }

type metricRenameRow struct {
	from, to, version, operation string
	via                          []string
}

type metricRow struct {
	name, instrument, unit, brief, operation string
	operationType                            bool
}

// generate reads the semconv files under dir and the past messaging models under historyDir and
// returns the formatted Go source of the table and its Markdown documentation.
func generate(dir, historyDir, version string) (src, doc []byte, err error) {
	schema, err := readSchema(filepath.Join(dir, "schemas", version))
	if err != nil {
		return nil, nil, err
	}
	wantURL := "https://opentelemetry.io/schemas/" + version
	if schema.SchemaURL != wantURL {
		return nil, nil, fmt.Errorf("schema file says %s, want %s", schema.SchemaURL, wantURL)
	}
	md, err := readModel(filepath.Join(dir, "model", "messaging"))
	if err != nil {
		return nil, nil, err
	}
	t, err := build(schema, md)
	if err != nil {
		return nil, nil, err
	}
	history, err := readHistory(historyDir)
	if err != nil {
		return nil, nil, err
	}
	renamed := map[string]bool{}
	for _, a := range t.attributes {
		renamed[a.from] = true
	}
	t.removed = removedAttributes(history, md, renamed)
	t.version = version
	t.schemaURL = schema.SchemaURL
	if src, err = render(t); err != nil {
		return nil, nil, err
	}
	return src, renderDoc(t), nil
}

func build(schema *schemaFile, md *model) (*table, error) {
	versions, err := sortedVersions(schema.Versions)
	if err != nil {
		return nil, err
	}
	spanC, metricC, metricNames := closure{}, closure{}, closure{}
	for _, v := range versions {
		def := schema.Versions[v]
		if def == nil {
			continue
		}
		for _, sec := range []struct {
			s              *section
			spans, metrics bool
		}{{def.All, true, true}, {def.Spans, true, false}, {def.Metrics, false, true}} {
			if sec.s == nil {
				continue
			}
			for _, ch := range sec.s.Changes {
				if ra := ch.RenameAttributes; ra != nil {
					if len(ra.ApplyToMetrics) > 0 || len(ra.ApplyToSpans) > 0 {
						// Scoped to named non-messaging metrics or spans, which the processor
						// never touches; fail if that ever stops being true.
						for _, name := range append(ra.ApplyToMetrics, ra.ApplyToSpans...) {
							if strings.HasPrefix(name, "messaging.") {
								return nil, fmt.Errorf("version %s: attribute renames scoped to %s are not supported", v, name)
							}
						}
						continue
					}
					b := block{version: v, pairs: ra.AttributeMap}
					if sec.spans {
						if err := spanC.apply(b); err != nil {
							return nil, err
						}
					}
					if sec.metrics {
						if err := metricC.apply(b); err != nil {
							return nil, err
						}
					}
				}
				if len(ch.RenameMetrics) > 0 {
					if err := metricNames.apply(block{version: v, pairs: ch.RenameMetrics}); err != nil {
						return nil, err
					}
				}
			}
		}
	}

	// The deprecated model: renamed_to applies to every signal; a deprecated attribute the
	// schema renames for one signal only is deprecated for all, so the rename is copied.
	modelRenames := map[string]string{}
	for _, id := range sortedKeys(md.attributes) {
		a := md.attributes[id]
		if a.Deprecated == nil {
			continue
		}
		switch {
		case a.Deprecated.RenamedTo != "":
			modelRenames[id] = a.Deprecated.RenamedTo
		case spanC[id].to != "" && metricC[id].to == "":
			metricC[id] = spanC[id]
		case metricC[id].to != "" && spanC[id].to == "":
			spanC[id] = metricC[id]
		}
	}
	for _, c := range []closure{spanC, metricC} {
		for from, to := range modelRenames {
			if r, ok := c[from]; ok && r.to != to {
				return nil, fmt.Errorf("deprecated model renames %s to %s, the schema to %s", from, to, r.to)
			}
		}
		if err := c.apply(block{pairs: onlyNew(c, modelRenames)}); err != nil {
			return nil, err
		}
	}

	t := &table{}
	for _, from := range sortedKeys(union(spanC, metricC)) {
		if !strings.HasPrefix(from, prefix) {
			continue // the processor renames attributes of its own namespace only
		}
		s, inS := spanC[from]
		m, inM := metricC[from]
		switch {
		case inS && inM && s.to == m.to:
			version := s.version
			if version == "" {
				version = m.version
			}
			t.attributes = append(t.attributes, attrRow{from: from, to: s.to, version: version, spans: true, metrics: true, via: s.via})
		default:
			if inS {
				t.attributes = append(t.attributes, attrRow{from: from, to: s.to, version: s.version, spans: true, via: s.via})
			}
			if inM {
				t.attributes = append(t.attributes, attrRow{from: from, to: m.to, version: m.version, metrics: true, via: m.via})
			}
		}
	}
	for i := range t.attributes {
		if a, ok := md.attributes[t.attributes[i].to]; ok {
			t.attributes[i].toType = a.Type.Name
			if a.Type.Name == "enum" {
				t.attributes[i].toType = "string"
			}
		}
	}
	for _, id := range sortedKeys(md.attributes) {
		if a := md.attributes[id]; a.Deprecated != nil && spanC[id].to == "" && metricC[id].to == "" {
			t.obsolete = append(t.obsolete, id)
		}
	}

	words, current, err := md.operationWords()
	if err != nil {
		return nil, err
	}
	t.operations = current
	for _, w := range sortedKeys(words) {
		if words[w] != w {
			t.values = append(t.values, valueRow{attribute: operationTypeKey, from: w, to: words[w]})
		}
	}

	currentMetrics := map[string]metricRow{}
	for _, g := range md.metricGroups(false) {
		hasOpType, err := md.hasAttribute(g.ID, operationTypeKey)
		if err != nil {
			return nil, err
		}
		row := metricRow{
			name: g.MetricName, instrument: g.Instrument, unit: g.Unit, brief: oneLine(g.Brief),
			operation: impliedOperation(g.MetricName, words), operationType: hasOpType,
		}
		currentMetrics[row.name] = row
		t.metrics = append(t.metrics, row)
	}
	deprecatedMetrics := map[string]group{}
	modelMetricRenames := map[string]string{}
	for _, g := range md.metricGroups(true) {
		deprecatedMetrics[g.MetricName] = g
		if g.Deprecated.RenamedTo != "" {
			modelMetricRenames[g.MetricName] = g.Deprecated.RenamedTo
		}
	}
	for from, to := range modelMetricRenames {
		if r, ok := metricNames[from]; ok && r.to != to {
			return nil, fmt.Errorf("deprecated model renames metric %s to %s, the schema to %s", from, to, r.to)
		}
	}
	if err := metricNames.apply(block{pairs: onlyNew(metricNames, modelMetricRenames)}); err != nil {
		return nil, err
	}
	for _, from := range sortedKeys(metricNames) {
		r := metricNames[from]
		if !strings.HasPrefix(from, prefix) {
			continue // the processor renames messaging metrics only
		}
		target, ok := currentMetrics[r.to]
		if !ok {
			return nil, fmt.Errorf("metric %s is renamed to %s, which the model does not define", from, r.to)
		}
		if old, ok := deprecatedMetrics[from]; ok && old.Instrument != target.instrument {
			return nil, fmt.Errorf("metric %s (%s) is renamed to %s (%s): instruments differ", from, old.Instrument, r.to, target.instrument)
		}
		t.metricRenames = append(t.metricRenames, metricRenameRow{
			from: from, to: r.to, version: r.version, operation: impliedOperation(from, words), via: r.via,
		})
	}
	return t, nil
}

func onlyNew(c closure, renames map[string]string) map[string]string {
	out := map[string]string{}
	for from, to := range renames {
		if c[from].to != to {
			out[from] = to
		}
	}
	return out
}

func union(a, b closure) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func render(t *table) ([]byte, error) {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("// Code generated by semconvprocessor/internal/gen from semantic conventions v%s. DO NOT EDIT.\n\n", t.version)
	p("package renames\n\n")
	p("const generatedSchemaURL = %q\n\n", t.schemaURL)

	p("// generatedAttributes are the renames of messaging.* attributes in the schema file (sections\n")
	p("// all, spans and metrics) and in the deprecated messaging model, each resolved to its final name.\n")
	p("func generatedAttributes() []Attribute {\n\treturn []Attribute{\n")
	for _, a := range t.attributes {
		sig := a.signals("Spans", "Metrics", " | ")
		p("\t\t{From: %q, To: %q, ToType: %q, Version: %q, Signals: %s},%s\n", a.from, a.to, a.toType, a.version, sig, via(a.via))
	}
	p("\t}\n}\n\n")

	p("// generatedValues are the deprecated enum members of the messaging model.\n")
	p("func generatedValues() []Value {\n\treturn []Value{\n")
	for _, v := range t.values {
		p("\t\t{Attribute: %q, From: %q, To: %q},\n", v.attribute, v.from, v.to)
	}
	p("\t}\n}\n\n")

	p("// generatedOperationTypes are the current members of %s.\n", operationTypeKey)
	p("func generatedOperationTypes() []string {\n\treturn []string{%s}\n}\n\n", quoteAll(t.operations))

	p("// generatedObsolete are the deprecated messaging attributes with no replacement.\n")
	p("func generatedObsolete() []string {\n\treturn []string{%s}\n}\n\n", quoteAll(t.obsolete))

	p("// generatedRemoved are the messaging attributes of past releases that %s neither defines nor\n", t.version)
	p("// renames: semconv removed them without a deprecation entry.\n")
	p("func generatedRemoved() []Removed {\n\treturn []Removed{\n")
	for _, r := range t.removed {
		p("\t\t{Key: %q, LastRelease: %q},\n", r.key, r.last)
	}
	p("\t}\n}\n\n")

	p("// generatedMetricRenames are the messaging metric renames of the schema file and of the\n")
	p("// deprecated messaging model, each resolved to its final name.\n")
	p("func generatedMetricRenames() []MetricRename {\n\treturn []MetricRename{\n")
	for _, m := range t.metricRenames {
		p("\t\t{From: %q, To: %q, Version: %q, Operation: %q},%s\n", m.from, m.to, m.version, m.operation, via(m.via))
	}
	p("\t}\n}\n\n")

	p("// generatedMetrics are the current messaging metrics.\n")
	p("func generatedMetrics() []Metric {\n\treturn []Metric{\n")
	for _, m := range t.metrics {
		p("\t\t{Name: %q, Instrument: %q, Unit: %q, Brief: %q, Operation: %q, OperationType: %t},\n",
			m.name, m.instrument, m.unit, m.brief, m.operation, m.operationType)
	}
	p("\t}\n}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format generated source: %w", err)
	}
	return src, nil
}

// renderDoc writes the tables as Markdown, for the component's documentation.
func renderDoc(t *table) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("<!-- Code generated by semconvprocessor/internal/gen from semantic conventions v%s. DO NOT EDIT. -->\n\n", t.version)
	p("# Generated mapping (semantic conventions v%s)\n\n", t.version)
	p("Generated from `third_party/semconv/` (the schema file and the messaging model) by `make generate`.\n")
	p("Each old name maps straight to its %s name; \"via\" lists the intermediate names of a chain.\n\n", t.version)
	p("## Attributes\n\n")
	p("| old attribute | new attribute | new type | renamed in | signals | via |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, a := range t.attributes {
		sig := a.signals("spans", "metrics", ", ")
		p("| `%s` | `%s` | %s | %s | %s | %s |\n", a.from, a.to, orDash(a.toType), orModel(a.version), sig, strings.Join(a.via, ", "))
	}
	p("\n## Values of `%s`\n\n| old value | new value |\n| --- | --- |\n", operationTypeKey)
	for _, v := range t.values {
		p("| `%s` | `%s` |\n", v.from, v.to)
	}
	p("\nCurrent values: %s.\n", "`"+strings.Join(t.operations, "`, `")+"`")
	p("\n## Deprecated attributes without a replacement\n\n")
	for _, o := range t.obsolete {
		p("- `%s`\n", o)
	}
	p("\n## Removed attributes\n\n")
	p("Messaging attributes of past releases (`third_party/semconv-history/`) that %s neither defines, current or\n", t.version)
	p("deprecated, nor renames: semconv removed them without a deprecation entry. `removed_attributes: drop`\n")
	p("(the default) drops them, and the deprecated keys renamed into them; a key the processor renames in\n")
	p("code (the consume-side destination, see the README) is renamed instead.\n\n")
	p("| attribute | last release that defines it |\n| --- | --- |\n")
	for _, r := range t.removed {
		p("| `%s` | %s |\n", r.key, r.last)
	}
	p("\n## Metrics\n\n| old metric | new metric | renamed in | operation the old name implies | via |\n| --- | --- | --- | --- | --- |\n")
	for _, m := range t.metricRenames {
		p("| `%s` | `%s` | %s | %s | %s |\n", m.from, m.to, orModel(m.version), orDash(m.operation), strings.Join(m.via, ", "))
	}
	p("\n## Current messaging metrics\n\n| metric | instrument | unit | operation the name implies | has `%s` |\n| --- | --- | --- | --- | --- |\n", operationTypeKey)
	for _, m := range t.metrics {
		p("| `%s` | %s | `%s` | %s | %t |\n", m.name, m.instrument, m.unit, orDash(m.operation), m.operationType)
	}
	return b.Bytes()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orModel(version string) string {
	if version == "" {
		return "deprecated model"
	}
	return version
}

func via(steps []string) string {
	if len(steps) == 0 {
		return ""
	}
	return " // via " + strings.Join(steps, ", ")
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
