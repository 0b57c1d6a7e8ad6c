// Command healthcheck probes the collector's health_check extension from
// inside the otelcol-msg image. The image is built on scratch, with no shell,
// curl or wget, so Docker's HEALTHCHECK and compose's healthcheck run this
// static binary instead:
//
//	/healthcheck [-url http://127.0.0.1:13133/] [-timeout 3s]
//
// It exits 0 when the endpoint answers 2xx within the timeout, 1 otherwise.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:13133/", "URL of the health_check extension")
	timeout := flag.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := probe(ctx, *url); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// probe asks url once and reports whether it answered 2xx.
func probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	// No proxy: the probe always targets the collector in the same container.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	// The extension answers with a short JSON status; read a bounded part so
	// a misdirected probe cannot make us buffer much.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("get %s: %s %s", url, resp.Status, body)
	}
	return nil
}
