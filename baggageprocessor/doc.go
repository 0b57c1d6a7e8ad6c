//go:generate go tool mdatagen metadata.yaml

// Package baggageprocessor turns the W3C baggage carried by messages into
// span attributes under an explicit policy, and merges the baggage of
// messages consumed as a batch into the batch span while keeping each
// message's baggage on its link (FastStream's get_all() / get_all_batch()).
package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"
