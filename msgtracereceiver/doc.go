//go:generate go tool mdatagen metadata.yaml

package msgtracereceiver // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver"
