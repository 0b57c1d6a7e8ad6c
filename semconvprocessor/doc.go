//go:generate go tool mdatagen metadata.yaml

// Package semconvprocessor implements the semconv processor, which migrates messaging spans and
// metrics emitted with old semantic conventions (FastStream, otelsarama, kotel, older SDKs) to
// semantic conventions 1.44.0. The rename table is generated (see internal/renames); README.md
// lists what else changes.
package semconvprocessor // import "github.com/otelcol-msg/otelcol-msg/semconvprocessor"
