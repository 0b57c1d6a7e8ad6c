package consumers

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// GroupMatcher decides which consumer groups are watched: the names and
// `^regex` patterns of consumers.groups, or every group when none is given,
// always excluding the tap's own.
type GroupMatcher struct {
	names    map[string]struct{}
	patterns []*regexp.Regexp
	own      string
}

// NewGroupMatcher compiles groups; own is the tap's own group (or queue,
// consumer), never watched.
func NewGroupMatcher(groups []string, own string) (*GroupMatcher, error) {
	m := &GroupMatcher{names: make(map[string]struct{}, len(groups)), own: own}
	var errs []error
	for i, g := range groups {
		switch {
		case g == "":
			errs = append(errs, fmt.Errorf("groups[%d] is empty", i))
		case strings.HasPrefix(g, "^"):
			re, err := regexp.Compile(g)
			if err != nil {
				errs = append(errs, fmt.Errorf("groups[%d] %q: %w", i, g, err))
				continue
			}
			m.patterns = append(m.patterns, re)
		default:
			m.names[g] = struct{}{}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// Match reports whether group is watched.
func (m *GroupMatcher) Match(group string) bool {
	if group == m.own || group == "" {
		return false
	}
	if len(m.names) == 0 && len(m.patterns) == 0 {
		return true
	}
	if _, ok := m.names[group]; ok {
		return true
	}
	for _, re := range m.patterns {
		if re.MatchString(group) {
			return true
		}
	}
	return false
}

// Names returns the groups named exactly (no pattern), for brokers where a
// watcher asks for named groups rather than listing them all.
func (m *GroupMatcher) Names() []string {
	out := make([]string, 0, len(m.names))
	for n := range m.names {
		out = append(out, n)
	}
	return out
}

// OnlyNames reports whether every watched group is named exactly, so a
// watcher need not list the broker's groups.
func (m *GroupMatcher) OnlyNames() bool {
	return len(m.names) > 0 && len(m.patterns) == 0
}
