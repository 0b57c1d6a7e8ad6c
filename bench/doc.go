// Package bench compares the semconv processor with contrib's transformprocessor configured
// with equivalent OTTL statements (testdata/transform.yaml), on the same 512 FastStream spans.
//
// It is a Go module of its own so that transformprocessor and OTTL never become dependencies of
// the otelcol-msg module. Run it with `make bench-compare`, or
//
//	cd bench && go test -run '^$' -bench . -benchmem
package bench
