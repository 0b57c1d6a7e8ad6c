package sourcetest

import (
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// The local servers the integration tests use; .ci/run starts them.
const (
	RabbitMQAddr = "127.0.0.1:5672"
	NATSAddr     = "127.0.0.1:4222"
	RedisAddr    = "127.0.0.1:6379"
)

// Unavailable ends a test that lacks something from the machine (a broker, a
// CLI): it fails with CI=true, where everything must be there, and is
// skipped otherwise.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format+" (CI=true)", args...)
		return
	}
	t.Skipf(format, args...)
}

// RequireReachable ends the test (see Unavailable) unless something listens
// on addr; name says which broker that is.
func RequireReachable(t testing.TB, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		Unavailable(t, "%s is not reachable on %s: %v", name, addr, err)
		return
	}
	c.Close()
}

// RequireCommand returns the path of a command the test needs, or ends the
// test (see Unavailable).
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "%s not found: %v", name, err)
	}
	return path
}
