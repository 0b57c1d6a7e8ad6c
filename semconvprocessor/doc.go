//go:generate go tool mdatagen metadata.yaml

package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"
