package sourcetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/stretchr/testify/require"
)

// RedisClient is the application side of a Redis test, closed at its end.
func RedisClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: addr,
		// A plain local server has no maintenance notifications to subscribe to.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// KillRedisClients closes, from the server side, every connection named
// name (CLIENT SETNAME), as CLIENT KILL by an operator or a failover would.
// It waits until at least one is listed.
func KillRedisClients(t testing.TB, c *redis.Client, name string) {
	t.Helper()
	ctx := context.Background()
	var killed int
	require.Eventually(t, func() bool {
		list, err := c.ClientList(ctx).Result()
		require.NoError(t, err)
		for _, line := range strings.Split(list, "\n") {
			if !strings.Contains(line, " name="+name+" ") {
				continue
			}
			for _, f := range strings.Fields(line) {
				if id, ok := strings.CutPrefix(f, "id="); ok {
					require.NoError(t, c.Do(ctx, "CLIENT", "KILL", "ID", id).Err())
					killed++
				}
			}
		}
		return killed > 0
	}, WaitLimit, 100*time.Millisecond, "no connection named %s", name)
}
