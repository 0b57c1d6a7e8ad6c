// Package sourcetest holds what the broker sources' tests share: a recording
// pipeline, a component host that records status events, a TCP proxy whose
// connections a test can cut, the rule for local brokers (skip when one is
// not there, fail with CI=true) and the brokers' own ways of killing a
// client's connections.
//
// Only _test.go files import it.
package sourcetest // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
