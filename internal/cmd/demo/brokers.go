package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Values of --brokers besides a list of broker names.
const (
	brokersNone = "none"
	brokersAuto = "auto"
)

// localBroker is a broker on this machine that the demo taps besides the
// in-process Kafka: it makes the broker's objects, adds its tap to the
// gateway's config and sends FastStream-shaped traffic through it.
type localBroker interface {
	// name is the broker's messaging.system, its name in --brokers and in
	// its config overlay, testdata/demo-<name>.yaml.
	name() string
	// title is how the output names it.
	title() string
	// addr is the host:port where it listens.
	addr() string
	// setup connects and makes the demo's objects, before the gateway
	// starts so that its tap finds them; it returns a line describing them.
	setup(ctx context.Context) (string, error)
	// env names those objects for the config overlay ("KEY=value").
	env() []string
	// waitTap returns once the gateway's tap will see what is published,
	// as the broker itself tells (a consumer on a queue or a stream, a
	// subscriber on a channel).
	waitTap(ctx context.Context) error
	// traffic publishes the demo's messages, prints what it sent and adds
	// what the gateway must export to exp.
	traffic(ctx context.Context, out io.Writer, a *app, exp *expectation) error
	// close removes what setup made and disconnects.
	close()
}

// localBrokers returns every broker the demo knows, with object names that
// carry run, so that demos running at the same time stay apart.
func localBrokers(run string) []localBroker {
	return []localBroker{newRabbitMQ(run), newNATS(run), newRedis(run)}
}

// brokerNames lists the names --brokers accepts.
func brokerNames() []string {
	var names []string
	for _, b := range localBrokers("") {
		names = append(names, b.name())
	}
	return names
}

// selectBrokers parses --brokers: "none", "auto" (every known broker, those
// that do not answer are skipped) or a comma-separated list of names.
func selectBrokers(spec string, all []localBroker) ([]localBroker, error) {
	switch spec {
	case "", brokersNone:
		return nil, nil
	case brokersAuto:
		return all, nil
	}
	var out []localBroker
	for _, name := range strings.Split(spec, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(b localBroker) bool { return b.name() == name })
		if i < 0 {
			return nil, fmt.Errorf("--brokers: unknown broker %q (want %s, %s, or a list of %s)",
				name, brokersNone, brokersAuto, strings.Join(brokerNames(), ", "))
		}
		if !slices.Contains(out, all[i]) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// reachable tells whether something accepts TCP connections on addr.
func reachable(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// startLocalBrokers sets up each chosen broker that answers, printing one
// line for each, also for one that is skipped. It returns the brokers in
// use; the caller closes them.
func startLocalBrokers(ctx context.Context, out io.Writer, chosen []localBroker) []localBroker {
	var up []localBroker
	for _, b := range chosen {
		if err := reachable(b.addr()); err != nil {
			fmt.Fprintf(out, "▸ %s on %s: not answering (%v); skipped\n", b.title(), b.addr(), err)
			continue
		}
		desc, err := b.setup(ctx)
		if err != nil {
			b.close()
			fmt.Fprintf(out, "▸ %s on %s: %v; skipped\n", b.title(), b.addr(), err)
			continue
		}
		fmt.Fprintf(out, "▸ %s on %s: %s\n", b.title(), b.addr(), desc)
		up = append(up, b)
	}
	return up
}

// overlayPath is the config a broker adds to the gateway's: a file beside
// the main config, merged onto it by the collector (a second --config).
func overlayPath(config string, b localBroker) string {
	return filepath.Join(filepath.Dir(config), "demo-"+b.name()+".yaml")
}

// overlays returns the configs the gateway runs with (config, then each
// broker's overlay), and the arguments and environment that add the
// overlays to the gateway's command line.
func overlays(config string, brokers []localBroker) (configs, args, env []string) {
	configs = []string{config}
	for _, b := range brokers {
		overlay := overlayPath(config, b)
		configs = append(configs, overlay)
		args = append(args, "--config", overlay)
		env = append(env, b.env()...)
	}
	return configs, args, env
}

// runID is a short random name part for the demo's broker objects.
func runID() string { return strings.ToLower(rand.Text()[:4]) }

// waitUntil calls ready every interval until it reports true. An error
// from ready (what it looks for is not there yet) does not end the wait: it
// is quoted when ctx ends first.
func waitUntil(ctx context.Context, interval time.Duration, what string, ready func(context.Context) (bool, error)) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var lastErr error
	for {
		ok, err := ready(ctx)
		if ok {
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), lastErr)
			}
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// waitTaps returns once the gateway taps every broker in use.
func waitTaps(ctx context.Context, out io.Writer, brokers []localBroker) error {
	if len(brokers) == 0 {
		return nil
	}
	var titles []string
	for _, b := range brokers {
		if err := b.waitTap(ctx); err != nil {
			return err
		}
		titles = append(titles, b.title())
	}
	fmt.Fprintf(out, "▸ the gateway taps %s\n", strings.Join(titles, ", "))
	return nil
}
