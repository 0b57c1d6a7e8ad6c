package baggageprocessor

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// RFC 4231 test case 1: HMAC-SHA256 with key 0x0b x 20 over "Hi There".
const (
	rfc4231Key  = "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b"
	rfc4231Data = "Hi There"
	rfc4231MAC  = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
)

func redactConfig(key configopaque.String, keys ...string) *Config {
	cfg := defaultConfig()
	cfg.Redact = RedactConfig{Keys: keys, Key: key}
	return cfg
}

// redactedBatch runs a fresh processor (one collector run) over a batch span
// and returns the span.
func redactedBatch(t *testing.T, cfg *Config) ptrace.Span {
	t.Helper()
	p := mustProcessor(t, cfg)
	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutStr("baggage.user.email", rfc4231Data)
	receiverLinks(t, span, []string{"user.id=alice,tenant.id=acme", "user.id=bob"})
	process(t, p, td)
	return span
}

func attr(t *testing.T, span ptrace.Span, key string) string {
	t.Helper()
	v, ok := span.Attributes().Get(key)
	require.True(t, ok, key)
	return v.Str()
}

func TestRedactIsHMACSHA256(t *testing.T) {
	span := redactedBatch(t, redactConfig(rfc4231Key, "user.email"))
	assert.Equal(t, rfc4231MAC, attr(t, span, "baggage.user.email"))
}

func TestRedactStableAcrossRuns(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	first := redactedBatch(t, redactConfig(key, `^user\.`))
	second := redactedBatch(t, redactConfig(key, `^user\.`))
	other := redactedBatch(t, redactConfig("another key, at least 16 bytes", `^user\.`))

	for _, k := range []string{"baggage.user.email", "baggage.user.id"} {
		v := attr(t, first, k)
		assert.Len(t, v, 64, "hex of a SHA-256")
		assert.Equal(t, v, attr(t, second, k), "same key, same hash")
		assert.NotEqual(t, v, attr(t, other, k), "another key, another hash")
	}
	assert.Equal(t, "acme", attr(t, first, "baggage.tenant.id"), "keys not listed are left alone")

	// The merged (last) value is bob's hash; each link keeps its own hash.
	alice := first.Links().At(0).Attributes()
	bob := first.Links().At(1).Attributes()
	a, _ := alice.Get("baggage.user.id")
	b, _ := bob.Get("baggage.user.id")
	assert.NotEqual(t, a.Str(), b.Str())
	assert.Equal(t, b.Str(), attr(t, first, "baggage.user.id"))
	for _, s := range []string{a.Str(), b.Str()} {
		assert.NotContains(t, []string{"alice", "bob"}, s)
	}
}

func TestRedactWithoutLinkBaggage(t *testing.T) {
	cfg := redactConfig("0123456789abcdef0123456789abcdef", "user.id")
	kept := redactedBatch(t, cfg)
	cfg.KeepLinkBaggage = false
	dropped := redactedBatch(t, cfg)
	assert.Equal(t, attr(t, kept, "baggage.user.id"), attr(t, dropped, "baggage.user.id"))
}

func TestRedactKeyFromEnv(t *testing.T) {
	t.Setenv("BAGGAGE_TEST_HMAC_KEY", rfc4231Key)
	cfg := defaultConfig()
	cfg.Redact = RedactConfig{Keys: []string{"user.email"}, KeyEnv: "BAGGAGE_TEST_HMAC_KEY"}
	span := redactedBatch(t, cfg)
	assert.Equal(t, rfc4231MAC, attr(t, span, "baggage.user.email"))
}

func TestRedactValueLimitAppliesToTheOriginal(t *testing.T) {
	cfg := redactConfig(rfc4231Key, "user.email")
	cfg.MaxValueBytes = len(rfc4231Data)
	span := redactedBatch(t, cfg)
	assert.Equal(t, rfc4231MAC, attr(t, span, "baggage.user.email"), "a 64-byte hash of an 8-byte value is kept")

	cfg.MaxValueBytes = len(rfc4231Data) - 1
	span = redactedBatch(t, cfg)
	_, ok := span.Attributes().Get("baggage.user.email")
	assert.False(t, ok)
}

func TestRedactRawAndMetadataValues(t *testing.T) {
	p := mustProcessor(t, redactConfig(rfc4231Key, "user.email", "user.id"))
	td := ptrace.NewTraces()
	span := newSpan(td)
	span.Attributes().PutStr("baggage", "user.email="+strings.ReplaceAll(rfc4231Data, " ", "+"))
	ctx := client.NewContext(context.Background(), client.Info{
		Metadata: client.NewMetadata(map[string][]string{"baggage": {"user.id=" + url.QueryEscape(rfc4231Data)}}),
	})
	processCtx(t, ctx, p, td)
	assert.Equal(t, rfc4231MAC, attr(t, span, "baggage.user.email"))
	assert.Equal(t, rfc4231MAC, attr(t, span, "baggage.user.id"))
}
