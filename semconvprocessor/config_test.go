package semconvprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-msg/otelcol-msg/semconvprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id       component.ID
		expected component.Config
		errMsg   string
	}{
		{id: component.NewID(metadata.Type), expected: &Config{Mode: ModeReplace, RemovedAttributes: RemovedDrop}},
		{id: component.NewIDWithName(metadata.Type, "replace"), expected: &Config{Mode: ModeReplace, RemovedAttributes: RemovedDrop}},
		{id: component.NewIDWithName(metadata.Type, "duplicate"), expected: &Config{Mode: ModeDuplicate, RemovedAttributes: RemovedDrop}},
		{id: component.NewIDWithName(metadata.Type, "keep_removed"), expected: &Config{Mode: ModeDuplicate, RemovedAttributes: RemovedKeep}},
		{id: component.NewIDWithName(metadata.Type, "invalid_mode"), errMsg: `mode: must be "replace" or "duplicate", got "dup"`},
		{id: component.NewIDWithName(metadata.Type, "invalid_both"), errMsg: "mode: must be \"replace\" or \"duplicate\", got \"dup\"\nremoved_attributes: must be \"drop\" or \"keep\", got \"delete\""},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			if tt.errMsg != "" {
				assert.EqualError(t, confmap.Validate(cfg), tt.errMsg)
				return
			}
			assert.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestCreateDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig()
	assert.Equal(t, &Config{Mode: ModeReplace, RemovedAttributes: RemovedDrop}, cfg)
	assert.NoError(t, cfg.(*Config).Validate())
}
