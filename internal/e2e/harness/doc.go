// Package harness drives the built otelcol-msg binary from the outside, the
// way an operator runs it: an in-process Kafka (kfake) on 127.0.0.1, the
// gateway as a child process started with a collector config from testdata/,
// and the file exporter's JSON lines read back as pdata.
//
// It is shared by the end-to-end tests (internal/e2e) and `make demo`
// (internal/cmd/demo). It knows nothing of the receiver's internals: only the
// binary, a YAML config, Kafka and the exported JSON connect them.
package harness
