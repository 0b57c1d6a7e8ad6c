package kafkasource

import (
	"regexp"
	"slices"
	"strings"
)

// topicMatcher resolves the `topics` setting against the cluster's topics:
// names are taken when they exist, regular expressions match every topic
// but Kafka's internal ones (those starting with "__").
type topicMatcher struct {
	names    []string
	patterns []*regexp.Regexp
}

// subscription returns the `topics` entry that taps topic: its name when
// it is named, else the first regular expression that matches it. It
// labels the receiver's own metrics, whose series then stay as many as the
// configured entries however many topics a regex matches.
func (m *topicMatcher) subscription(topic string) string {
	if slices.Contains(m.names, topic) {
		return topic
	}
	for _, re := range m.patterns {
		if re.MatchString(topic) {
			return re.String()
		}
	}
	return topic
}

func newTopicMatcher(topics []string) (*topicMatcher, error) {
	m := &topicMatcher{}
	for _, t := range topics {
		if !isPattern(t) {
			m.names = append(m.names, t)
			continue
		}
		re, err := regexp.Compile(t)
		if err != nil {
			return nil, err
		}
		m.patterns = append(m.patterns, re)
	}
	return m, nil
}

// match returns the sorted, unique topics to consume among existing, and
// the configured names that do not exist (yet).
func (m *topicMatcher) match(existing []string) (topics, missing []string) {
	have := make(map[string]struct{}, len(existing))
	for _, t := range existing {
		have[t] = struct{}{}
	}
	for _, n := range m.names {
		if _, ok := have[n]; ok {
			topics = append(topics, n)
		} else {
			missing = append(missing, n)
		}
	}
	for _, t := range existing {
		if strings.HasPrefix(t, "__") {
			continue
		}
		for _, re := range m.patterns {
			if re.MatchString(t) {
				topics = append(topics, t)
				break
			}
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics), missing
}
