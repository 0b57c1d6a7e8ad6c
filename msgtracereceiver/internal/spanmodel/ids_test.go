package spanmodel

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The derived IDs are part of the receiver's behaviour across versions: a
// message read again after an upgrade must rebuild the same spans, so a
// change to how they are hashed must fail here, not pass silently.
func TestIDsStable(t *testing.T) {
	const (
		group = "otelcol-msgtrace"
		id    = "MkU3OEVBNTcwNTJENDM2Qg/orders/3/42"
	)
	for _, tc := range []struct {
		name, got, want string
	}{
		{"send trace", SendTraceID(id).String(), "14f15141bf77754bf0fb9c0e10a72265"},
		{"send span", SendSpanID(id).String(), "51d0bb2ac27f7e39"},
		{"receive trace", ReceiveTraceID(group, id).String(), "96438dd9fc9ae05e221bad0d8d4bf374"},
		{"receive span", ReceiveSpanID(group, id).String(), "753cebdcf6d866bd"},
		{"batch trace", BatchTraceID(group, id, id+"9").String(), "68642211e8236175cda24fddb7ddbd08"},
		{"batch span", BatchSpanID(group, id, id+"9").String(), "78e2e021fd5a56fe"},
		// Longer than the stack buffer sum64 starts with.
		{"long identity", ReceiveSpanID("g", strings.Repeat("\x00", 300)).String(), "54aa6a9ef22d038b"},
	} {
		assert.Equal(t, tc.want, tc.got, tc.name)
	}
}

func BenchmarkReceiveSpanID(b *testing.B) {
	for b.Loop() {
		ReceiveSpanID("otelcol-msgtrace", "MkU3OEVBNTcwNTJENDM2Qg/orders/3/1234567")
	}
}
