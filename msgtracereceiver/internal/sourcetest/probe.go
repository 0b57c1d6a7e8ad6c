package sourcetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Probe publishes messages with the IDs prefix-1, prefix-2, ... until seen
// reports that the tap saw one of them. A source connects in the
// background, and brokers keep nothing for a tap that is not (yet, or again)
// subscribed, so a test probes before it publishes what it checks.
func Probe(t testing.TB, prefix string, publish func(id string), seen func() bool) {
	t.Helper()
	var n int
	require.Eventually(t, func() bool {
		n++
		publish(fmt.Sprintf("%s-%d", prefix, n))
		return seen()
	}, WaitLimit, 100*time.Millisecond, "the tap never saw a %s message", prefix)
}
