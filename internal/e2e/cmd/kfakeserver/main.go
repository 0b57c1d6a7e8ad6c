// Command kfakeserver runs a one-broker kfake cluster (github.com/twmb/franz-go/pkg/kfake)
// as a process of its own, so that a Kafka outlives, or dies independently
// of, the gateway and the test driving them: the crash and outage tests of
// internal/e2e start it through harness.StartKafkaServer.
//
//	kfakeserver -port 9092 -topic orders:3 -topic audit:1 [-data-dir DIR]
//
// It prints "kfakeserver listening on <addr>" once the broker accepts
// connections, and closes the cluster on SIGTERM or SIGINT; with -data-dir
// the close persists topics, records and committed offsets, and the next
// start on the same directory reloads them (a broker restart). It exits on
// its own when its parent process dies, so a killed test leaves no broker
// behind.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// topicsFlag collects -topic name:partitions.
type topicsFlag map[string]int32

func (t topicsFlag) String() string { return fmt.Sprint(map[string]int32(t)) }

func (t topicsFlag) Set(v string) error {
	name, parts, ok := strings.Cut(v, ":")
	if !ok || name == "" {
		return fmt.Errorf("topic %q: want name:partitions", v)
	}
	n, err := strconv.ParseInt(parts, 10, 32)
	if err != nil || n < 1 {
		return fmt.Errorf("topic %q: partitions must be a positive number", v)
	}
	t[name] = int32(n)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kfakeserver:", err)
		os.Exit(1)
	}
}

func run() error {
	topics := topicsFlag{}
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: any free port)")
	clusterID := flag.String("cluster-id", "otelcol-msg-e2e", "cluster ID reported in metadata; part of every message identity")
	dataDir := flag.String("data-dir", "", "persist the cluster here on close and reload it on start (empty: memory only)")
	minSession := flag.Duration("group-min-session-timeout", time.Second,
		"smallest consumer group session timeout accepted (Kafka's default is 6s; short timeouts let a crashed member leave its group quickly)")
	flag.Var(topics, "topic", "topic to create as name:partitions (repeatable; kept as loaded when -data-dir holds a cluster)")
	flag.Parse()

	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(*port),
		kfake.ClusterID(*clusterID),
		kfake.GroupMinSessionTimeout(*minSession),
	}
	for name, parts := range topics {
		opts = append(opts, kfake.SeedTopics(parts, name))
	}
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start kfake: %w", err)
	}
	fmt.Printf("kfakeserver listening on %s\n", strings.Join(cluster.ListenAddrs(), ","))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = waitParent(ctx)
	cluster.Close()
	fmt.Println("kfakeserver closed")
	return err
}

// waitParent returns nil when ctx ends (a signal), and an error when the
// process that started this one has gone (it was re-parented).
func waitParent(ctx context.Context) error {
	parent := os.Getppid()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if os.Getppid() != parent {
				return errors.New("parent process exited")
			}
		}
	}
}
