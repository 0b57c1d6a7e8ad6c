package harness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verboseStatus is shaped like health_check's GET /?verbose with the
// extension.healthcheck.useComponentStatus feature gate.
const verboseStatus = `{
  "healthy": true, "status": "StatusRecoverableError", "error": "kafka: down",
  "components": {
    "extensions": {"healthy": true, "status": "StatusOK",
      "components": {"extension:health_check": {"healthy": true, "status": "StatusOK"}}},
    "pipeline:traces": {"healthy": true, "status": "StatusRecoverableError", "error": "kafka: down",
      "components": {
        "exporter:otlp_grpc": {"healthy": true, "status": "StatusOK"},
        "receiver:msgtrace": {"healthy": true, "status": "StatusRecoverableError", "error": "kafka: down"}}}}}`

func TestComponentStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.Query().Has("verbose") {
			_, _ = w.Write([]byte(`{"healthy": true, "status": "StatusRecoverableError"}`))
			return
		}
		_, _ = w.Write([]byte(verboseStatus))
	}))
	defer srv.Close()
	gw := &Gateway{HealthURL: srv.URL + "/"}
	ctx := context.Background()

	st, err := gw.ComponentStatus(ctx, "receiver:msgtrace")
	require.NoError(t, err)
	assert.Equal(t, "StatusRecoverableError", st.Status)
	assert.Equal(t, "kafka: down", st.Error)
	assert.True(t, st.Healthy)

	_, err = gw.ComponentStatus(ctx, "receiver:otlp")
	assert.ErrorContains(t, err, "names no receiver:otlp")

	legacy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`Server available`))
	}))
	defer legacy.Close()
	_, err = (&Gateway{HealthURL: legacy.URL + "/"}).ComponentStatus(ctx, "receiver:msgtrace")
	assert.ErrorContains(t, err, "not the verbose component status")
}
