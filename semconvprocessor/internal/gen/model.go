package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// schemaFile is the semconv schema file format 1.1.0, the parts that carry renames.
type schemaFile struct {
	FileFormat string                 `yaml:"file_format"`
	SchemaURL  string                 `yaml:"schema_url"`
	Versions   map[string]*versionDef `yaml:"versions"`
}

type versionDef struct {
	All        *section `yaml:"all"`
	Spans      *section `yaml:"spans"`
	SpanEvents *section `yaml:"span_events"`
	Metrics    *section `yaml:"metrics"`
	Logs       *section `yaml:"logs"`
	Resources  *section `yaml:"resources"`
}

type section struct {
	Changes []change `yaml:"changes"`
}

type change struct {
	RenameAttributes *renameAttributes `yaml:"rename_attributes"`
	RenameMetrics    map[string]string `yaml:"rename_metrics"`
}

type renameAttributes struct {
	AttributeMap   map[string]string `yaml:"attribute_map"`
	ApplyToMetrics []string          `yaml:"apply_to_metrics"`
	ApplyToSpans   []string          `yaml:"apply_to_spans"`
}

// readSchema decodes the schema file strictly: an unknown key means a format this generator
// does not understand, and silently skipping it would drop renames.
func readSchema(path string) (*schemaFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s schemaFile
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode schema file %s: %w", path, err)
	}
	if s.FileFormat == "" || s.SchemaURL == "" || len(s.Versions) == 0 {
		return nil, fmt.Errorf("schema file %s: missing file_format, schema_url or versions", path)
	}
	return &s, nil
}

// modelFile is a semconv model YAML file (registry, metrics, deprecated), loosely decoded: the
// generator needs only ids, types, deprecations, metric names, instruments, units and refs.
type modelFile struct {
	Groups []group `yaml:"groups"`
}

type group struct {
	ID         string      `yaml:"id"`
	Type       string      `yaml:"type"`
	MetricName string      `yaml:"metric_name"`
	Instrument string      `yaml:"instrument"`
	Unit       string      `yaml:"unit"`
	Brief      string      `yaml:"brief"`
	Extends    string      `yaml:"extends"`
	Deprecated *deprecated `yaml:"deprecated"`
	Attributes []attribute `yaml:"attributes"`
}

type attribute struct {
	ID         string      `yaml:"id"`
	Ref        string      `yaml:"ref"`
	Type       attrType    `yaml:"type"`
	Deprecated *deprecated `yaml:"deprecated"`
}

type deprecated struct {
	Reason    string `yaml:"reason"`
	RenamedTo string `yaml:"renamed_to"`
	Note      string `yaml:"note"`
}

// attrType is either a scalar type name or an enum with members.
type attrType struct {
	Name    string
	Members []member
}

type member struct {
	ID         string      `yaml:"id"`
	Value      any         `yaml:"value"`
	Deprecated *deprecated `yaml:"deprecated"`
}

func (t *attrType) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		t.Name = n.Value
		return nil
	}
	var e struct {
		Members []member `yaml:"members"`
	}
	if err := n.Decode(&e); err != nil {
		return err
	}
	t.Name = "enum"
	t.Members = e.Members
	return nil
}

// model is every model file of the messaging area, indexed.
type model struct {
	groups     map[string]group
	attributes map[string]attribute
}

func readModel(dir string) (*model, error) {
	var files []string
	for _, pattern := range []string{"*.yaml", "deprecated/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no model files under %s", dir)
	}
	sort.Strings(files)
	md := &model{groups: map[string]group{}, attributes: map[string]attribute{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var mf modelFile
		if err := yaml.Unmarshal(b, &mf); err != nil {
			return nil, fmt.Errorf("decode model file %s: %w", f, err)
		}
		for _, g := range mf.Groups {
			if _, dup := md.groups[g.ID]; dup {
				return nil, fmt.Errorf("model file %s: group %q defined twice", f, g.ID)
			}
			md.groups[g.ID] = g
			for _, a := range g.Attributes {
				if a.ID == "" {
					continue
				}
				if _, dup := md.attributes[a.ID]; dup {
					return nil, fmt.Errorf("model file %s: attribute %q defined twice", f, a.ID)
				}
				md.attributes[a.ID] = a
			}
		}
	}
	return md, nil
}

// metricGroups returns the metric groups, current or deprecated, sorted by metric name.
func (md *model) metricGroups(deprecatedOnes bool) []group {
	var out []group
	for _, g := range md.groups {
		if g.Type != "metric" || (g.Deprecated != nil) != deprecatedOnes {
			continue
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MetricName < out[j].MetricName })
	return out
}

// hasAttribute reports whether group id, or a group it extends, refers to attribute ref.
func (md *model) hasAttribute(id, ref string) (bool, error) {
	for seen := map[string]bool{}; id != ""; {
		if seen[id] {
			return false, fmt.Errorf("extends cycle at group %q", id)
		}
		seen[id] = true
		g, ok := md.groups[id]
		if !ok {
			return false, fmt.Errorf("group %q not in the model", id)
		}
		for _, a := range g.Attributes {
			if a.Ref == ref || a.ID == ref {
				return true, nil
			}
		}
		id = g.Extends
	}
	return false, nil
}

// operationWords maps every member of messaging.operation.type, current or deprecated, to its
// current value, and lists the current values.
func (md *model) operationWords() (map[string]string, []string, error) {
	a, ok := md.attributes[operationTypeKey]
	if !ok || a.Type.Name != "enum" {
		return nil, nil, errors.New(operationTypeKey + " is not an enum in the model")
	}
	words := map[string]string{}
	var current []string
	for _, m := range a.Type.Members {
		v, ok := m.Value.(string)
		if !ok {
			return nil, nil, fmt.Errorf("%s member %q has a non-string value", operationTypeKey, m.ID)
		}
		if m.Deprecated == nil {
			words[v] = v
			current = append(current, v)
		}
	}
	for _, m := range a.Type.Members {
		if m.Deprecated == nil {
			continue
		}
		to := m.Deprecated.RenamedTo
		if words[to] != to {
			return nil, nil, fmt.Errorf("%s member %q renamed to %q, which is not a current member", operationTypeKey, m.ID, to)
		}
		words[m.Value.(string)] = to
	}
	sort.Strings(current)
	return words, current, nil
}

// impliedOperation is the operation a metric name of the form messaging.<word>.<...> implies.
func impliedOperation(metric string, words map[string]string) string {
	rest, ok := strings.CutPrefix(metric, "messaging.")
	if !ok {
		return ""
	}
	word, _, _ := strings.Cut(rest, ".")
	return words[word]
}
