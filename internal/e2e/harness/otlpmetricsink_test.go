package harness

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

func TestMetricsSinkAcceptsProtoGzipAndJSON(t *testing.T) {
	sink, err := StartMetricsSink()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sink.Stop()) })

	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("traces_service_graph_request_total")
	m.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(7)
	req := pmetricotlp.NewExportRequestFromMetrics(md)

	post := func(body []byte, contentType, encoding string) int {
		r, err := http.NewRequest(http.MethodPost, sink.URL(), bytes.NewReader(body))
		require.NoError(t, err)
		r.Header.Set("Content-Type", contentType)
		if encoding != "" {
			r.Header.Set("Content-Encoding", encoding)
		}
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	pb, err := req.MarshalProto()
	require.NoError(t, err)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, err = zw.Write(pb)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	js, err := req.MarshalJSON()
	require.NoError(t, err)

	assert.Equal(t, http.StatusOK, post(pb, "application/x-protobuf", ""))
	assert.Equal(t, http.StatusOK, post(zipped.Bytes(), "application/x-protobuf", "gzip"))
	assert.Equal(t, http.StatusOK, post(js, "application/json", ""))
	assert.Equal(t, http.StatusBadRequest, post([]byte("not otlp"), "application/x-protobuf", ""))

	got := sink.Metrics()
	require.Len(t, got, 3, "the malformed export is refused, not kept")
	for _, g := range got {
		dp := g.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
		assert.Equal(t, int64(7), dp.IntValue())
	}
}
