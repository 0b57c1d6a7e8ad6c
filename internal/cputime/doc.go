// Package cputime reads the CPU time of the process, for the benchmarks that
// report cpu-ns per message: on a machine shared with other work, the CPU a
// benchmark used is steadier than the wall time it took.
package cputime // import "github.com/otelcol-msg/otelcol-msg/internal/cputime"
