// Command demo is `make demo`: an in-process Kafka (kfake), FastStream-shaped
// traffic, the real otelcol-msg binary tapping it, and the trace tree the
// gateway exported, printed at the end. With --brokers (`make demo-all`) it
// also taps the RabbitMQ, NATS and Redis servers that answer on 127.0.0.1
// and sends traffic through them.
//
//	go run ./internal/cmd/demo --binary cmd/otelcol-msg/otelcol-msg [--brokers auto]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-msg/otelcol-msg/internal/e2e/harness"
)

type options struct {
	binary  string
	config  string
	dir     string
	timeout time.Duration
	// brokers is --brokers: none, auto, or a list of local brokers.
	brokers string
}

func main() {
	var opts options
	flag.StringVar(&opts.binary, "binary", "cmd/otelcol-msg/otelcol-msg", "the built otelcol-msg (make build)")
	flag.StringVar(&opts.config, "config", "testdata/demo.yaml", "the gateway's collector config")
	flag.StringVar(&opts.dir, "dir", "", "where the gateway's log and exported spans go (default: a new temporary directory, kept)")
	flag.DurationVar(&opts.timeout, "timeout", 90*time.Second, "give up when the gateway has not exported every expected span by then")
	flag.StringVar(&opts.brokers, "brokers", brokersNone, fmt.Sprintf(
		"local brokers to tap besides Kafka: %s, %s (each of %s that answers on 127.0.0.1), or a comma-separated list; "+
			"each adds demo-<name>.yaml from the config's directory", brokersNone, brokersAuto, strings.Join(brokerNames(), ", ")))
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, opts); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, opts options) (err error) {
	started := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()

	if opts.dir == "" {
		if opts.dir, err = os.MkdirTemp("", "otelcol-msg-demo-"); err != nil {
			return fmt.Errorf("work directory: %w", err)
		}
	}
	binary, err := filepath.Abs(opts.binary)
	if err != nil {
		return err
	}
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("otelcol-msg binary: %w (run `make build` first)", err)
	}
	chosen, err := selectBrokers(opts.brokers, localBrokers(runID()))
	if err != nil {
		return err
	}

	on := "Kafka"
	if len(chosen) > 0 {
		on = "Kafka and the local brokers"
	}
	fmt.Fprintf(out, "otelcol-msg demo: a FastStream-style application on %s, tapped by the otelcol-msg gateway\n", on)
	kafka, err := harness.StartKafka(demoTopics()...)
	if err != nil {
		return err
	}
	defer kafka.Close()
	fmt.Fprintf(out, "▸ Kafka (in-process kfake) on %s, topics %s\n", strings.Join(kafka.Brokers(), ","), topicNames())
	brokers := startLocalBrokers(ctx, out, chosen)
	defer func() { // after the gateway stopped (deferred below): its taps use these objects
		for _, b := range brokers {
			b.close()
		}
	}()
	configs, args, env := overlays(opts.config, brokers)

	gw, err := harness.StartGateway(ctx, harness.GatewayConfig{
		Binary:     binary,
		ConfigPath: opts.config,
		Brokers:    kafka.Brokers(),
		Dir:        opts.dir,
		Args:       args,
		Env:        env,
	})
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := gw.Stop(15 * time.Second); stopErr != nil && err == nil {
			err = stopErr
		}
	}()
	fmt.Fprintf(out, "▸ otelcol-msg running (pid %d, config %s, OTLP gRPC on %s)\n", gw.Pid(), strings.Join(configs, " + "), gw.OTLPGRPCEndpoint)
	fmt.Fprintf(out, "    its log: %s\n", gw.LogPath())
	if err := waitTaps(ctx, out, brokers); err != nil {
		return fmt.Errorf("%w; gateway log: %s", err, gw.LogPath())
	}

	fmt.Fprintln(out, "▸ traffic")
	app := newApp(kafka, "faststream-demo")
	exp, err := runTraffic(ctx, out, kafka, app, func(ctx context.Context) error {
		return gw.WaitLog(ctx, "kafka consumers: group watched")
	})
	if err != nil {
		return err
	}
	for _, b := range brokers {
		if err := b.traffic(ctx, out, app, &exp); err != nil {
			return err
		}
	}
	exp.appSpans = app.traces().SpanCount()
	if err := exportOTLP(ctx, gw.OTLPGRPCEndpoint, app.traces()); err != nil {
		return err
	}
	fmt.Fprintf(out, "  faststream app: exported its %d spans over OTLP gRPC to the gateway\n", exp.appSpans)

	fmt.Fprintf(out, "▸ waiting for the gateway's file exporter (%s)\n", gw.OutputPath)
	tf := harness.NewTraceFile(gw.OutputPath)
	waitErr := tf.Wait(ctx, func(td ptrace.Traces) bool { return len(exp.missing(td)) == 0 })
	if err := gw.Stop(15 * time.Second); err != nil {
		return err
	}
	if _, err := tf.Poll(); err != nil {
		return err
	}

	td := tf.Traces()
	fmt.Fprintln(out, "\n━━ trace tree, as exported by otelcol-msg ━━")
	printTree(out, td)
	fmt.Fprintf(out, "\nsummary: %s; the demo ran %s\n", summary(td), time.Since(started).Round(100*time.Millisecond))
	if waitErr != nil {
		return fmt.Errorf("%w; still missing: %s; gateway log: %s", waitErr, strings.Join(exp.missing(td), ", "), gw.LogPath())
	}
	return nil
}

// exportOTLP sends the application's spans as an OTel SDK's OTLP exporter does.
func exportOTLP(ctx context.Context, endpoint string, td ptrace.Traces) error {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("OTLP client for %s: %w", endpoint, err)
	}
	defer conn.Close()
	resp, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	if err != nil {
		return fmt.Errorf("OTLP export to %s: %w", endpoint, err)
	}
	if ps := resp.PartialSuccess(); ps.RejectedSpans() > 0 {
		return fmt.Errorf("OTLP export: the gateway rejected %d spans: %s", ps.RejectedSpans(), ps.ErrorMessage())
	}
	return nil
}

func topicNames() string {
	var names []string
	for _, t := range demoTopics() {
		names = append(names, fmt.Sprintf("%s(%d)", t.Name, t.Partitions))
	}
	return strings.Join(names, " ")
}
