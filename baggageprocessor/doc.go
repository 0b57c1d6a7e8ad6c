//go:generate go tool mdatagen metadata.yaml

package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"
