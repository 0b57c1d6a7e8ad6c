package sourcetest

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Rabbitmqctl runs the broker's CLI, which the firehose and connection tests
// need; a missing CLI ends the test (see Unavailable).
func Rabbitmqctl(t testing.TB, args ...string) string {
	t.Helper()
	path := RequireCommand(t, "rabbitmqctl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	require.NoError(t, err, "rabbitmqctl %v: %s", args, out)
	return string(out)
}

// firehoseOnce spares later tests of a package another CLI start (about a
// second each): the firehose stays on until the broker restarts.
var firehoseOnce sync.Once

// EnableFirehose turns the firehose on for the default vhost.
func EnableFirehose(t testing.TB) {
	t.Helper()
	firehoseOnce.Do(func() { Rabbitmqctl(t, "trace_on", "-p", "/") })
}

// CloseRabbitMQConnections makes the broker close every connection whose
// client properties contain match (a connection name), as an operator or a
// broker restart would. It waits until at least one is listed.
func CloseRabbitMQConnections(t testing.TB, match string) {
	t.Helper()
	var pids []string
	require.Eventually(t, func() bool {
		// One line per connection: "<pid>\t[{client properties}]".
		out := Rabbitmqctl(t, "list_connections", "pid", "client_properties", "-q", "--no-table-headers")
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.Contains(line, match) {
				pids = append(pids, f[0])
			}
		}
		return len(pids) > 0
	}, WaitLimit, 200*time.Millisecond, "no connection %s is listed", match)
	for _, pid := range pids {
		Rabbitmqctl(t, "close_connection", pid, "msgtrace test: connection killed")
	}
}
