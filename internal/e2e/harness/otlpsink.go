package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	// The collector's OTLP exporter compresses with gzip by default.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

// EnvSinkEndpoint names the variable through which the outage and crash
// configs in testdata/ send spans to a test's Sink (host:port).
const EnvSinkEndpoint = "OTELCOL_MSG_SINK_ENDPOINT"

// Sink is an OTLP/gRPC trace backend for tests. Each export is handed to
// record before the gateway gets its success reply, so whatever the gateway
// counts as exported is already known to the test. It can be stopped (the
// port then refuses connections, as a backend that is down) and started
// again on the same address.
type Sink struct {
	ptraceotlp.UnimplementedGRPCServer

	addr   string
	record func(ptrace.Traces)

	mu      sync.Mutex
	srv     *grpc.Server // nil while down
	served  chan struct{}
	serveEr error
}

// StartSink listens on a free 127.0.0.1 port. record is called for every
// export, one call at a time.
func StartSink(record func(ptrace.Traces)) (*Sink, error) {
	s := &Sink{record: record}
	if err := s.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return s, nil
}

// Endpoint is the sink's address, host:port, for the exporter's endpoint.
func (s *Sink) Endpoint() string { return s.addr }

// Start serves again on the sink's address after Stop.
func (s *Sink) Start() error {
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return errors.New("otlp sink: already running")
	}
	return s.listen(s.addr)
}

func (s *Sink) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("otlp sink: listen on %s: %w", addr, err)
	}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, s)
	served := make(chan struct{})
	s.mu.Lock()
	s.addr, s.srv, s.served = ln.Addr().String(), srv, served
	s.mu.Unlock()
	go func() {
		err := srv.Serve(ln)
		s.mu.Lock()
		s.serveEr = err
		s.mu.Unlock()
		close(served)
	}()
	return nil
}

// Stop closes the listener and every connection; exports in flight fail.
// Once it returns, record is not called until Start.
func (s *Sink) Stop() error {
	s.mu.Lock()
	srv, served := s.srv, s.served
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	srv.Stop()
	<-served
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serveEr != nil && !errors.Is(s.serveEr, grpc.ErrServerStopped) {
		return fmt.Errorf("otlp sink: %w", s.serveEr)
	}
	return nil
}

// Export implements ptraceotlp.GRPCServer.
func (s *Sink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		// Stop has begun: this export must not count as accepted.
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unavailable, "otlp sink is down")
	}
	s.record(req.Traces())
	return ptraceotlp.NewExportResponse(), nil
}
