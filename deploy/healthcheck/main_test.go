package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		wantErr bool
	}{
		{name: "available", status: http.StatusOK},
		{name: "unavailable", status: http.StatusServiceUnavailable, wantErr: true},
		{name: "not found", status: http.StatusNotFound, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{"status":"x"}`))
			}))
			defer srv.Close()

			err := probe(context.Background(), srv.URL+"/")
			if (err != nil) != tt.wantErr {
				t.Fatalf("probe() error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestProbeNobodyListening(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/"
	srv.Close()
	if err := probe(context.Background(), url); err == nil {
		t.Fatal("probe() of a closed port succeeded")
	}
}

// A collector that accepts the connection but never answers must fail the
// probe once the context ends, not hang the health check.
func TestProbeContextEnds(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := probe(ctx, srv.URL+"/"); err == nil {
		t.Fatal("probe() of a silent server succeeded")
	}
}

func TestProbeBadURL(t *testing.T) {
	if err := probe(context.Background(), "http://[::1"); err == nil {
		t.Fatal("probe() of a malformed URL succeeded")
	}
}
