package natssource

import "github.com/nats-io/nats.go"

// coreSubscription is the configured subject filter a core message came
// through (with its wildcards), the label of the receiver's own metrics.
func coreSubscription(m *nats.Msg) string {
	if m.Sub == nil {
		return m.Subject
	}
	return m.Sub.Subject
}
