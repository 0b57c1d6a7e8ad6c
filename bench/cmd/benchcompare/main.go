// Command benchcompare runs the benchmarks of the bench module, prints their lines, and ends with
// the comparison of the semconv processor with transformprocessor on the FastStream batch and on
// the batch drawn from every golden input:
//
//	semconv vs transform: 16.6x faster (ns/span 800 vs 13276), allocs/span 3.8 vs 137.0
//	semconv vs transform on every golden input: 21.3x faster (ns/span 655 vs 13967), allocs/span 2.4 vs 126.1
//
// Each benchmark runs -count times; the comparison uses the median of the runs, which a busy
// machine disturbs less than the mean. Run it from the bench directory (make bench-compare).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

const (
	semconvBench         = "BenchmarkFastStreamSpans/semconv"
	transformBench       = "BenchmarkFastStreamSpans/transform"
	transformLeanBench   = "BenchmarkFastStreamSpans/transform_faststream_only"
	goldenSemconvBench   = "BenchmarkGoldenSpans/semconv"
	goldenTransformBench = "BenchmarkGoldenSpans/transform"
)

func main() {
	goCmd := flag.String("go", "go", "go command")
	count := flag.Int("count", 5, "runs of each benchmark")
	benchtime := flag.String("benchtime", "1s", "go test -benchtime")
	flag.Parse()
	if err := run(*goCmd, *count, *benchtime, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(1)
	}
}

func run(goCmd string, count int, benchtime string, out io.Writer) error {
	// Only the processor comparison: the module's other benchmarks
	// (contrib's kafkareceiver) have their own commands.
	cmd := exec.Command(goCmd, "test", "-run", "^$", "-bench", "^Benchmark(FastStreamSpans|GoldenSpans|CurrentSpans)$", "-benchmem",
		"-count", strconv.Itoa(count), "-benchtime", benchtime, ".")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start go test: %w", err)
	}
	results := map[string]*samples{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(out, line)
		if name, metrics, ok := parseLine(line); ok {
			if results[name] == nil {
				results[name] = &samples{}
			}
			results[name].add(metrics)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("go test: %w", err)
	}
	semconv, transform := results[semconvBench], results[transformBench]
	if semconv == nil || transform == nil {
		return errors.New("no " + semconvBench + " or " + transformBench + " result")
	}
	if lean := results[transformLeanBench]; lean != nil {
		fmt.Fprintf(out, "(transform with only the statements the FastStream batch needs: %s)\n", compare(semconv, lean))
	}
	fmt.Fprintf(out, "semconv vs transform: %s\n", compare(semconv, transform))
	if gs, gt := results[goldenSemconvBench], results[goldenTransformBench]; gs != nil && gt != nil {
		fmt.Fprintf(out, "semconv vs transform on every golden input: %s\n", compare(gs, gt))
	} else {
		return errors.New("no " + goldenSemconvBench + " or " + goldenTransformBench + " result")
	}
	return nil
}

func compare(a, b *samples) string {
	aNs, bNs := a.median("ns/span"), b.median("ns/span")
	return fmt.Sprintf("%.1fx faster (ns/span %.0f vs %.0f), allocs/span %.1f vs %.1f",
		bNs/aNs, aNs, bNs, a.median("allocs/span"), b.median("allocs/span"))
}

// parseLine reads "BenchmarkX/y-2  N  v1 unit1  v2 unit2 ..." into its name (without the
// GOMAXPROCS suffix) and its metrics by unit.
func parseLine(line string) (string, map[string]float64, bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
		return "", nil, false
	}
	name := fields[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	metrics := map[string]float64{}
	for i := 2; i+1 < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return "", nil, false
		}
		metrics[fields[i+1]] = v
	}
	return name, metrics, true
}

// samples holds the values of each metric over the runs of one benchmark.
type samples map[string][]float64

func (s *samples) add(metrics map[string]float64) {
	for unit, v := range metrics {
		(*s)[unit] = append((*s)[unit], v)
	}
}

func (s *samples) median(unit string) float64 {
	v := append([]float64(nil), (*s)[unit]...)
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
