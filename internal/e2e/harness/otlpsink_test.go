package harness

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

func TestSinkStopAndStart(t *testing.T) {
	var (
		mu    sync.Mutex
		names []string
	)
	sink, err := StartSink(func(td ptrace.Traces) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range Spans(td) {
			names = append(names, r.Span.Name())
		}
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, sink.Stop()) }()
	endpoint := sink.Endpoint()

	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	export := func(name string) error {
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName(name)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// gzip, as the collector's OTLP exporter sends by default.
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td), grpc.UseCompressor(gzip.Name))
		return err
	}

	require.NoError(t, export("a"))
	require.NoError(t, sink.Stop())
	err = export("lost")
	require.Error(t, err, "a stopped sink accepts nothing")
	assert.Equal(t, codes.Unavailable, status.Code(err))

	require.NoError(t, sink.Start())
	assert.Equal(t, endpoint, sink.Endpoint(), "started again on the same address")
	assert.Error(t, sink.Start(), "already running")
	require.Eventually(t, func() bool { return export("b") == nil }, 30*time.Second, 100*time.Millisecond,
		"the client reconnects to the restarted sink")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"a", "b"}, names)
}
