package baggageprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-msg/otelcol-msg/baggageprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	defaults := createDefaultConfig().(*Config)
	tests := []struct {
		name    string
		want    *Config
		wantErr []string // every message must appear in the error
	}{
		{name: "", want: defaults},
		{
			name: "faststream",
			want: func() *Config {
				c := *defaults
				c.OnConflict = ConflictFirst
				c.KeepLinkBaggage = false
				c.KeepBatchMarker = true
				return &c
			}(),
		},
		{
			name: "strict",
			want: &Config{
				Prefix: "bg.",
				Sources: SourcesConfig{
					RawAttribute:     "w3c.baggage",
					KeepRawAttribute: true,
					MetadataKey:      "",
				},
				OnConflict:      ConflictLast,
				KeepLinkBaggage: true,
				Include:         []string{"tenant.id", "user.id", `^feature\.`},
				Exclude:         []string{`^feature\.internal\.`},
				Redact: RedactConfig{
					Keys: []string{"user.id"},
					Key:  "0123456789abcdef0123456789abcdef",
				},
				MaxEntries:        16,
				MaxValueBytes:     256,
				MaxTotalBytes:     1024,
				PromoteToResource: []string{"tenant.id"},
			},
		},
		{
			name: "redact_env",
			want: func() *Config {
				c := *defaults
				c.Redact = RedactConfig{Keys: []string{`^user\.`}, KeyEnv: "BAGGAGE_HMAC_KEY"}
				return &c
			}(),
		},
		{name: "empty_prefix", wantErr: []string{"prefix must not be empty"}},
		{name: "bad_conflict", wantErr: []string{`on_conflict: "newest" is not one of "last", "first"`}},
		{name: "negative_limits", wantErr: []string{
			"max_entries must be 0 (no limit) or positive, got -1",
			"max_value_bytes must be 0 (no limit) or positive, got -2",
			"max_total_bytes must be 0 (no limit) or positive, got -3",
		}},
		{name: "bad_regex", wantErr: []string{`exclude: pattern "^user.(id"`}},
		{name: "included_and_excluded", wantErr: []string{`include: key "user.id" can never be kept: it is excluded`}},
		{name: "included_but_excluded_by_regex", wantErr: []string{`include: key "user.email" can never be kept: it is excluded`}},
		{name: "redact_without_key", wantErr: []string{"redact.keys is set but there is no HMAC key"}},
		{name: "redact_two_keys", wantErr: []string{"redact.key and redact.key_env are both set"}},
		{name: "redact_short_key", wantErr: []string{"redact.key must be at least 16 bytes"}},
		{name: "redact_excluded", wantErr: []string{`redact.keys: key "user.id" can never be redacted: it is excluded`}},
		{name: "promote_not_included", wantErr: []string{
			`promote_to_resource: key "tenant.id" can never be promoted: it is not included`,
			`promote_to_resource: "^x" must be an exact baggage key`,
		}},
		{name: "marker_included", wantErr: []string{`include: key "with_batch" can never be kept: keep_batch_marker is false`}},
		{name: "raw_under_prefix", wantErr: []string{`sources.raw_attribute "baggage.raw" starts with prefix "baggage."`}},
		{name: "keep_raw_without_raw", wantErr: []string{"sources.keep_raw_attribute is true but sources.raw_attribute is empty"}},
	}
	for _, tt := range tests {
		id := component.NewIDWithName(metadata.Type, tt.name)
		t.Run(id.String(), func(t *testing.T) {
			sub, err := cm.Sub(id.String())
			require.NoError(t, err)
			cfg := createDefaultConfig()
			require.NoError(t, sub.Unmarshal(cfg))

			err = confmap.Validate(cfg)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, msg := range tt.wantErr {
					assert.ErrorContains(t, err, msg)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestCreateFailsWithoutEnvKey(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Redact = RedactConfig{Keys: []string{"user.id"}, KeyEnv: "BAGGAGE_TEST_UNSET_KEY"}
	require.NoError(t, confmap.Validate(cfg))

	t.Setenv("BAGGAGE_TEST_UNSET_KEY", "")
	_, err := newTestProcessor(t, cfg)
	assert.ErrorContains(t, err, `environment variable "BAGGAGE_TEST_UNSET_KEY" is unset or empty`)

	t.Setenv("BAGGAGE_TEST_UNSET_KEY", "short")
	_, err = newTestProcessor(t, cfg)
	assert.ErrorContains(t, err, "must be at least 16 bytes")
	assert.NotContains(t, err.Error(), "short", "the key must never appear in an error")
}
