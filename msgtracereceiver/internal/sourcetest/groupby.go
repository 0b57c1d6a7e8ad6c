package sourcetest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// CheckGroupByDestination checks a source's split of one fetch into
// deliveries per destination: the destinations in order of first
// appearance, the messages in their order, nothing for nothing.
func CheckGroupByDestination(t *testing.T, groupBy func([]message.Message) [][]message.Message) {
	t.Helper()
	msgs := []message.Message{{Destination: "a", ID: "1"}, {Destination: "b", ID: "2"}, {Destination: "a", ID: "3"}}
	assert.Equal(t, [][]message.Message{{msgs[0], msgs[2]}, {msgs[1]}}, groupBy(msgs))
	assert.Nil(t, groupBy(nil))
}
