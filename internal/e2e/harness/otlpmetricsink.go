package harness

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// MetricsSink is an OTLP/HTTP metrics backend for tests, standing where a
// Prometheus OTLP receiver would: it accepts protobuf or JSON exports, gzip
// compressed or not, on any path, and keeps every export it accepted.
type MetricsSink struct {
	srv  *http.Server
	addr string
	done chan struct{}

	mu      sync.Mutex
	exports []pmetric.Metrics
}

// StartMetricsSink listens on a free 127.0.0.1 port.
func StartMetricsSink() (*MetricsSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("otlp metrics sink: listen: %w", err)
	}
	s := &MetricsSink{addr: ln.Addr().String(), done: make(chan struct{})}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.export)}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// URL is the address to give an otlp_http exporter's metrics_endpoint.
func (s *MetricsSink) URL() string { return "http://" + s.addr + "/v1/metrics" }

// Metrics returns a copy of every export accepted so far.
func (s *MetricsSink) Metrics() []pmetric.Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]pmetric.Metrics, len(s.exports))
	for i, m := range s.exports {
		out[i] = pmetric.NewMetrics()
		m.CopyTo(out[i])
	}
	return out
}

// Stop closes the listener and waits for the server to end.
func (s *MetricsSink) Stop() error {
	err := s.srv.Close()
	<-s.done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("otlp metrics sink: %w", err)
	}
	return nil
}

func (s *MetricsSink) export(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := pmetricotlp.NewExportRequest()
	isJSON := strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
	if isJSON {
		err = req.UnmarshalJSON(data)
	} else {
		err = req.UnmarshalProto(data)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.exports = append(s.exports, req.Metrics())
	s.mu.Unlock()

	resp := pmetricotlp.NewExportResponse()
	var out []byte
	if isJSON {
		out, err = resp.MarshalJSON()
		w.Header().Set("Content-Type", "application/json")
	} else {
		out, err = resp.MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(out)
}
