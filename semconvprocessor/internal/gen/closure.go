package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// block is one set of renames that a schema version applies at once.
type block struct {
	version string // "" for the deprecated model, applied after every schema version
	pairs   map[string]string
}

// resolved is where a name ends after every block: its final name, the version that first
// renamed it and the intermediate names it went through.
type resolved struct {
	to      string
	version string
	via     []string // "name (version)" of each later step
}

// closure resolves chains of renames block by block, in order. Within a block the renames are
// simultaneous. A later rename of a name wins over an earlier one, and a name that becomes a
// rename target again is current again, so it stops being renamed.
type closure map[string]resolved

func (c closure) apply(b block) error {
	for from, to := range b.pairs {
		if _, chained := b.pairs[to]; chained && to != from {
			return fmt.Errorf("version %s renames %s -> %s and %s in the same change", b.version, from, to, to)
		}
	}
	for k, r := range c {
		to, ok := b.pairs[r.to]
		if !ok {
			continue
		}
		if to == k {
			delete(c, k)
			continue
		}
		r.via = append(r.via, fmt.Sprintf("%s (%s)", r.to, label(b.version)))
		r.to = to
		c[k] = r
	}
	for _, from := range sortedKeys(b.pairs) {
		to := b.pairs[from]
		if from == to {
			continue
		}
		c[from] = resolved{to: to, version: b.version}
	}
	for _, to := range b.pairs {
		delete(c, to)
	}
	return nil
}

func label(version string) string {
	if version == "" {
		return "deprecated model"
	}
	return version
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sortedVersions returns the schema versions in ascending semver order.
func sortedVersions(versions map[string]*versionDef) ([]string, error) {
	out := sortedKeys(versions)
	parsed := map[string][3]int{}
	for _, v := range out {
		p, err := parseVersion(v)
		if err != nil {
			return nil, err
		}
		parsed[v] = p
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := parsed[out[i]], parsed[out[j]]
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	return out, nil
}

// parseVersion reads a major.minor.patch version.
func parseVersion(v string) ([3]int, error) {
	var p [3]int
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return p, fmt.Errorf("schema version %q is not major.minor.patch", v)
	}
	for i, s := range parts {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, fmt.Errorf("schema version %q: %w", v, err)
		}
		p[i] = n
	}
	return p, nil
}
