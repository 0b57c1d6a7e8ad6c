package redissource

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGroupConfigValidate(t *testing.T) {
	base := func() *Config {
		cfg := NewDefaultConfig()
		cfg.Streams = []StreamConfig{{Name: "orders"}}
		return cfg
	}
	ok := base()
	ok.Group = GroupConfig{Name: "otelcol-msgtrace", ClaimIdle: defaultClaimIdle}
	require.NoError(t, ok.Validate())
	assert.Equal(t, defaultClaimIdle, NewDefaultConfig().Group.ClaimIdle)
	assert.Empty(t, NewDefaultConfig().Group.Name, "XREAD, no group, by default")

	bad := base()
	bad.Group = GroupConfig{Name: "two words", Consumer: "a b", ClaimIdle: time.Millisecond}
	err := bad.Validate()
	require.Error(t, err)
	for _, want := range []string{"group::name", "group::consumer", "group::claim_idle"} {
		assert.True(t, strings.Contains(err.Error(), want), "%q in %v", want, err)
	}

	orphan := base()
	orphan.Group = GroupConfig{Consumer: "a", ClaimIdle: defaultClaimIdle}
	assert.ErrorContains(t, orphan.Validate(), "group::consumer is set without group::name")
}

func TestConsumerNameDefault(t *testing.T) {
	g := GroupConfig{Name: "g"}
	assert.NotEmpty(t, g.consumerName())
	assert.NotContains(t, g.consumerName(), " ")
	g.Consumer = "replica-1"
	assert.Equal(t, "replica-1", g.consumerName())
}

func TestParseAutoClaim(t *testing.T) {
	next, entries, err := parseAutoClaim([]any{[]byte("0-0"), []any{
		[]any{[]byte("1-0"), []any{[]byte("f"), []byte("v")}},
		nil,
	}, []any{}})
	require.NoError(t, err)
	assert.Equal(t, "0-0", next)
	require.Len(t, entries, 1)
	assert.Equal(t, "1-0", entries[0].ID)
	assert.Equal(t, []string{"f", "v"}, entries[0].Fields)

	for _, bad := range []any{nil, []byte("x"), []any{int64(1), []any{}}, []any{[]byte("0-0"), []byte("x")}} {
		_, _, err := parseAutoClaim(bad)
		assert.Error(t, err, "%#v", bad)
	}
}
