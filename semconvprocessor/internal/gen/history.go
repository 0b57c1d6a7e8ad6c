package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// historyFile is a messaging model file of a past release. Before semconv 1.23 an attribute id
// is relative to its group's prefix (prefix messaging.kafka, id message_key).
type historyFile struct {
	Groups []struct {
		Prefix     string `yaml:"prefix"`
		Attributes []struct {
			ID string `yaml:"id"`
		} `yaml:"attributes"`
	} `yaml:"groups"`
}

// readHistory reads the past messaging model files under dir, laid out as
// <repository>/<release tag>/<path in the repository>, and returns every messaging attribute they
// define with the last of those releases that defines it (a v-prefixed tag).
func readHistory(dir string) (map[string]string, error) {
	out := map[string]string{}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) < 3 {
			return fmt.Errorf("history file %s: want <repository>/<tag>/<path>", rel)
		}
		tag := parts[1]
		if _, err := parseVersion(strings.TrimPrefix(tag, "v")); err != nil {
			return fmt.Errorf("history file %s: %w", rel, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var hf historyFile
		if err := yaml.Unmarshal(b, &hf); err != nil {
			return fmt.Errorf("decode history file %s: %w", rel, err)
		}
		files++
		for _, g := range hf.Groups {
			for _, a := range g.Attributes {
				if a.ID == "" {
					continue // a ref to an attribute defined elsewhere
				}
				id := a.ID
				if g.Prefix != "" {
					id = g.Prefix + "." + a.ID
				}
				if !strings.HasPrefix(id, prefix) {
					continue
				}
				if last, ok := out[id]; !ok || versionLess(last, tag) {
					out[id] = tag
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if files == 0 {
		return nil, fmt.Errorf("no history files under %s", dir)
	}
	return out, nil
}

// removedAttributes are the messaging attributes of past releases that 1.44 neither defines
// (current or deprecated) nor renames: semconv dropped them without a deprecation entry.
func removedAttributes(history map[string]string, md *model, renamed map[string]bool) []removedRow {
	var out []removedRow
	for _, id := range sortedKeys(history) {
		if _, defined := md.attributes[id]; defined || renamed[id] {
			continue
		}
		out = append(out, removedRow{key: id, last: history[id]})
	}
	return out
}

func versionLess(a, b string) bool {
	pa, _ := parseVersion(strings.TrimPrefix(a, "v"))
	pb, _ := parseVersion(strings.TrimPrefix(b, "v"))
	for k := range pa {
		if pa[k] != pb[k] {
			return pa[k] < pb[k]
		}
	}
	return false
}
