package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
)

// ConflictRule says which value a baggage key keeps when several links of a
// span carry it.
type ConflictRule string

const (
	// ConflictLast lets the later link win: FastStream's Baggage.get_all()
	// for a consumed batch.
	ConflictLast ConflictRule = "last"
	// ConflictFirst keeps the value of the first link that carries the key.
	ConflictFirst ConflictRule = "first"
)

// batchMarker is the entry FastStream adds to every message of a batch
// publish (with_batch=True). It says nothing about the business context.
const batchMarker = "with_batch"

// minRedactKeyBytes is the shortest HMAC key accepted: anything shorter makes
// the hashes of low-entropy values (user IDs, tenants) easy to reverse.
const minRedactKeyBytes = 16

// Config is the configuration of the baggage processor.
type Config struct {
	// Prefix names the attributes that hold baggage entries, on spans and on
	// links: "<prefix><key>". They are read and written under this prefix.
	Prefix string `mapstructure:"prefix"`
	// Sources are the places baggage is read from besides the prefixed attributes.
	Sources SourcesConfig `mapstructure:"sources"`
	// OnConflict picks the value a key keeps when several links carry it.
	OnConflict ConflictRule `mapstructure:"on_conflict"`
	// KeepLinkBaggage keeps each link's own baggage on the link (FastStream's
	// get_all_batch()) after it was merged into the span.
	KeepLinkBaggage bool `mapstructure:"keep_link_baggage"`
	// KeepBatchMarker keeps FastStream's with_batch entry.
	KeepBatchMarker bool `mapstructure:"keep_batch_marker"`
	// Include lists the keys that survive (all when empty); Exclude the keys
	// removed. A pattern starting with '^' is a regular expression, any
	// other an exact key.
	Include []string `mapstructure:"include"`
	Exclude []string `mapstructure:"exclude"`
	// Redact replaces the values of some keys by a keyed hash.
	Redact RedactConfig `mapstructure:"redact"`
	// MaxEntries, MaxValueBytes and MaxTotalBytes bound the baggage kept on
	// one span or one link; 0 means no bound.
	MaxEntries    int `mapstructure:"max_entries"`
	MaxValueBytes int `mapstructure:"max_value_bytes"`
	MaxTotalBytes int `mapstructure:"max_total_bytes"`
	// PromoteToResource lists keys moved from the spans to their resource
	// when every span of that resource carries the same value.
	PromoteToResource []string `mapstructure:"promote_to_resource"`
	// prevent unkeyed literal initialization
	_ struct{}
}

// SourcesConfig names where baggage is read from.
type SourcesConfig struct {
	// RawAttribute is a span or link attribute holding a W3C baggage string
	// (as some SDKs record it); empty disables the source.
	RawAttribute string `mapstructure:"raw_attribute"`
	// KeepRawAttribute rewrites the raw attribute, W3C-encoded, with the
	// entries kept from it by the policy, instead of removing it.
	KeepRawAttribute bool `mapstructure:"keep_raw_attribute"`
	// MetadataKey is the request metadata entry (an HTTP header or gRPC
	// metadata key) read when the receiver sets include_metadata: true;
	// empty disables the source.
	MetadataKey string `mapstructure:"metadata_key"`
	// prevent unkeyed literal initialization
	_ struct{}
}

// RedactConfig replaces the values of some keys by their HMAC-SHA256.
type RedactConfig struct {
	// Keys are the baggage keys whose values are redacted (exact or '^' regex).
	Keys []string `mapstructure:"keys"`
	// Key is the HMAC key. Prefer ${env:NAME} or ${file:...} to a literal.
	Key configopaque.String `mapstructure:"key"`
	// KeyEnv names an environment variable holding the HMAC key, read when
	// the processor is created.
	KeyEnv string `mapstructure:"key_env"`
	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration and reports every problem at once.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Prefix == "" {
		errs = append(errs, errors.New("prefix must not be empty: every attribute would be taken for baggage"))
	}
	switch cfg.OnConflict {
	case ConflictLast, ConflictFirst:
	default:
		errs = append(errs, fmt.Errorf("on_conflict: %q is not one of %q, %q", cfg.OnConflict, ConflictLast, ConflictFirst))
	}
	for _, limit := range []struct {
		name  string
		value int
	}{{"max_entries", cfg.MaxEntries}, {"max_value_bytes", cfg.MaxValueBytes}, {"max_total_bytes", cfg.MaxTotalBytes}} {
		if limit.value < 0 {
			errs = append(errs, fmt.Errorf("%s must be 0 (no limit) or positive, got %d", limit.name, limit.value))
		}
	}
	errs = append(errs, cfg.Sources.validate(cfg.Prefix)...)

	include, err := newKeyMatcher(cfg.Include)
	if err != nil {
		errs = append(errs, fmt.Errorf("include: %w", err))
	}
	exclude, err := newKeyMatcher(cfg.Exclude)
	if err != nil {
		errs = append(errs, fmt.Errorf("exclude: %w", err))
	}
	if _, err = newKeyMatcher(cfg.Redact.Keys); err != nil {
		errs = append(errs, fmt.Errorf("redact.keys: %w", err))
	}
	errs = append(errs, cfg.Redact.validate()...)

	// A key named exactly that the include/exclude lists can never let
	// through is a contradiction, not a policy: say so instead of silently
	// doing nothing.
	unreachable := func(key string) string {
		switch {
		case exclude.matches(key):
			return "it is excluded"
		case !include.empty() && !include.matches(key):
			return "it is not included"
		case key == batchMarker && !cfg.KeepBatchMarker:
			return "keep_batch_marker is false"
		}
		return ""
	}
	for _, key := range include.exact {
		if why := unreachable(key); why != "" {
			errs = append(errs, fmt.Errorf("include: key %q can never be kept: %s", key, why))
		}
	}
	for _, key := range cfg.Redact.Keys {
		if isPattern(key) {
			continue
		}
		if why := unreachable(key); why != "" {
			errs = append(errs, fmt.Errorf("redact.keys: key %q can never be redacted: %s", key, why))
		}
	}
	for _, key := range cfg.PromoteToResource {
		if key == "" || isPattern(key) {
			errs = append(errs, fmt.Errorf("promote_to_resource: %q must be an exact baggage key", key))
			continue
		}
		if why := unreachable(key); why != "" {
			errs = append(errs, fmt.Errorf("promote_to_resource: key %q can never be promoted: %s", key, why))
		}
	}
	return errors.Join(errs...)
}

func (s SourcesConfig) validate(prefix string) []error {
	var errs []error
	if s.KeepRawAttribute && s.RawAttribute == "" {
		errs = append(errs, errors.New("sources.keep_raw_attribute is true but sources.raw_attribute is empty"))
	}
	if prefix != "" && strings.HasPrefix(s.RawAttribute, prefix) {
		errs = append(errs, fmt.Errorf("sources.raw_attribute %q starts with prefix %q: it would be read as a baggage entry", s.RawAttribute, prefix))
	}
	return errs
}

func (r RedactConfig) validate() []error {
	var errs []error
	hasKey, hasEnv := r.Key != "", r.KeyEnv != ""
	switch {
	case len(r.Keys) > 0 && !hasKey && !hasEnv:
		errs = append(errs, errors.New("redact.keys is set but there is no HMAC key: set redact.key or redact.key_env"))
	case hasKey && hasEnv:
		errs = append(errs, errors.New("redact.key and redact.key_env are both set: use one"))
	case hasKey && len(r.Key) < minRedactKeyBytes:
		// Never print the key, not even its length.
		errs = append(errs, fmt.Errorf("redact.key must be at least %d bytes", minRedactKeyBytes))
	}
	return errs
}

// keyMatcher matches baggage keys against exact names and regular expressions.
type keyMatcher struct {
	exact   []string
	set     map[string]struct{}
	regexps []*regexp.Regexp
}

// isPattern reports whether a configured key is a regular expression: like
// the receiver's topic lists, a leading '^' marks one.
func isPattern(s string) bool { return strings.HasPrefix(s, "^") }

func newKeyMatcher(patterns []string) (keyMatcher, error) {
	m := keyMatcher{set: make(map[string]struct{})}
	var errs []error
	for _, p := range patterns {
		if !isPattern(p) {
			if p == "" {
				errs = append(errs, errors.New("empty key"))
				continue
			}
			m.exact = append(m.exact, p)
			m.set[p] = struct{}{}
			continue
		}
		re, err := regexp.Compile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("pattern %q: %w", p, err))
			continue
		}
		m.regexps = append(m.regexps, re)
	}
	return m, errors.Join(errs...)
}

func (m *keyMatcher) empty() bool { return len(m.set) == 0 && len(m.regexps) == 0 }

// hasRegexps reports whether matching may cost a regular expression run.
func (m *keyMatcher) hasRegexps() bool { return len(m.regexps) > 0 }

func (m *keyMatcher) matches(key string) bool {
	if _, ok := m.set[key]; ok {
		return true
	}
	for _, re := range m.regexps {
		if re.MatchString(key) {
			return true
		}
	}
	return false
}
