package harness

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// The environment variables the testdata/ configs read (with defaults, so
// `otelcol-msg validate` accepts the files alone). The collector's own env
// provider expands them: the configs stay plain YAML, not templates.
const (
	EnvKafkaBrokers     = "OTELCOL_MSG_KAFKA_BROKERS"
	EnvOTLPGRPCEndpoint = "OTELCOL_MSG_OTLP_GRPC_ENDPOINT"
	EnvHealthEndpoint   = "OTELCOL_MSG_HEALTH_ENDPOINT"
	EnvOutput           = "OTELCOL_MSG_OUTPUT"
)

// GatewayConfig says how to start otelcol-msg as a gateway for a test or the demo.
type GatewayConfig struct {
	// Binary is the path of otelcol-msg.
	Binary string
	// ConfigPath is a collector config that reads the Env* variables above.
	ConfigPath string
	// Brokers are the Kafka bootstrap addresses msgtrace taps.
	Brokers []string
	// Dir holds the exporter's output file and the collector's log.
	Dir string
	// OutputName is the file exporter's file name inside Dir; default "traces.json".
	OutputName string
	// Args are added after --config, e.g. "--set=receivers::msgtrace::kafka::group_id=other".
	Args []string
	// Env is added to the child's environment ("KEY=value").
	Env []string
}

// Gateway is a running otelcol-msg with the endpoints it was given.
type Gateway struct {
	*Process
	// OTLPGRPCEndpoint is the otlp receiver's gRPC address (host:port).
	OTLPGRPCEndpoint string
	// HealthURL is the health_check extension's URL.
	HealthURL string
	// OutputPath is the file exporter's output (OTLP JSON, one request a line).
	OutputPath string
}

// StartGateway picks free 127.0.0.1 ports, starts the binary with cfg's config
// and waits until its health check answers or ctx ends.
func StartGateway(ctx context.Context, cfg GatewayConfig) (*Gateway, error) {
	ports, err := FreePorts(2)
	if err != nil {
		return nil, err
	}
	otlpEndpoint := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	healthEndpoint := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	name := cfg.OutputName
	if name == "" {
		name = "traces.json"
	}
	output := filepath.Join(cfg.Dir, name)
	logPath := strings.TrimSuffix(output, filepath.Ext(output)) + ".log"

	env := append([]string{
		EnvKafkaBrokers + "=" + strings.Join(cfg.Brokers, ","),
		EnvOTLPGRPCEndpoint + "=" + otlpEndpoint,
		EnvHealthEndpoint + "=" + healthEndpoint,
		EnvOutput + "=" + output,
	}, cfg.Env...)
	proc, err := StartProcess(ProcessConfig{
		Binary:  cfg.Binary,
		Args:    append([]string{"--config", cfg.ConfigPath}, cfg.Args...),
		Env:     env,
		LogPath: logPath,
	})
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		Process:          proc,
		OTLPGRPCEndpoint: otlpEndpoint,
		HealthURL:        "http://" + healthEndpoint + "/",
		OutputPath:       output,
	}
	if err := proc.WaitHealthy(ctx, g.HealthURL); err != nil {
		proc.Kill()
		return nil, err
	}
	return g, nil
}

// FreePorts returns n distinct TCP ports free on 127.0.0.1 at the time of the
// call. All listeners stay open until every port is picked, so the n ports
// differ; another process may still take one before the child binds it, in
// which case the child exits and WaitHealthy reports its log.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
