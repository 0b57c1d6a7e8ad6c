package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLine(t *testing.T) {
	name, m, ok := parseLine("BenchmarkFastStreamSpans/semconv-2   \t    1496\t    670352 ns/op\t         4.229 allocs/span\t      1309 ns/span\t  265496 B/op\t    2165 allocs/op")
	require.True(t, ok)
	assert.Equal(t, "BenchmarkFastStreamSpans/semconv", name)
	assert.Equal(t, map[string]float64{"ns/op": 670352, "allocs/span": 4.229, "ns/span": 1309, "B/op": 265496, "allocs/op": 2165}, m)

	for _, line := range []string{"PASS", "goos: linux", "ok  \tgithub.com/otelcol-msg/otelcol-msg/bench\t11.306s", "BenchmarkX-2 --- FAIL"} {
		_, _, ok := parseLine(line)
		assert.False(t, ok, line)
	}
}

func TestCompare(t *testing.T) {
	a, b := &samples{}, &samples{}
	for _, v := range []float64{310, 900, 305} {
		a.add(map[string]float64{"ns/span": v, "allocs/span": 0})
	}
	for _, v := range []float64{4402, 4300, 9000} {
		b.add(map[string]float64{"ns/span": v, "allocs/span": 31.5})
	}
	assert.Equal(t, "14.2x faster (ns/span 310 vs 4402), allocs/span 0.0 vs 31.5", compare(a, b))
}
