package kafkasource

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTopicMatcher(t *testing.T) {
	m, err := newTopicMatcher([]string{"orders", "missing", `^app\..*`, `^orders$`})
	require.NoError(t, err)
	topics, missing := m.match([]string{"app.b", "orders", "app.a", "other", "__consumer_offsets", "xapp.c"})
	assert.Equal(t, []string{"app.a", "app.b", "orders"}, topics, "sorted, unique, internal topics skipped")
	assert.Equal(t, []string{"missing"}, missing)

	topics, missing = m.match(nil)
	assert.Empty(t, topics)
	assert.Equal(t, []string{"orders", "missing"}, missing)
}

func TestTopicMatcherNamedInternalTopic(t *testing.T) {
	m, err := newTopicMatcher([]string{"__audit", "^.*"})
	require.NoError(t, err)
	topics, _ := m.match([]string{"__audit", "__consumer_offsets", "a"})
	assert.Equal(t, []string{"__audit", "a"}, topics, "an internal topic is tapped only when named")
}

func TestTopicMatcherSubscription(t *testing.T) {
	m, err := newTopicMatcher([]string{"orders", `^app\..*`, `^a.*`})
	require.NoError(t, err)
	assert.Equal(t, "orders", m.subscription("orders"))
	assert.Equal(t, `^app\..*`, m.subscription("app.x"), "the first matching regex")
	assert.Equal(t, `^a.*`, m.subscription("abc"))
}
