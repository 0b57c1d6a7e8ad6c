package sourcetest

import (
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/require"
)

// Redis is the application side of a Redis test. Each command borrows a
// connection of a small pool: probes run in goroutines of testify's.
type Redis struct {
	pool *redis.Pool
}

// RedisClient returns the application side of a Redis test, closed at its end.
func RedisClient(t testing.TB, addr string) *Redis {
	t.Helper()
	p := &redis.Pool{
		Dial: func() (redis.Conn, error) {
			return redis.Dial("tcp", addr, redis.DialConnectTimeout(5*time.Second),
				redis.DialReadTimeout(5*time.Second), redis.DialWriteTimeout(5*time.Second))
		},
		MaxIdle: 2,
	}
	t.Cleanup(func() { p.Close() })
	return &Redis{pool: p}
}

// Do runs one command.
func (r *Redis) Do(cmd string, args ...any) (any, error) {
	c := r.pool.Get()
	defer c.Close()
	return c.Do(cmd, args...)
}

// Publish publishes payload on channel.
func (r *Redis) Publish(channel, payload string) error {
	_, err := r.Do("PUBLISH", channel, payload)
	return err
}

// XAdd adds an entry of fieldsAndValues (names and values in turn) to
// stream and returns its ID.
func (r *Redis) XAdd(stream string, fieldsAndValues ...string) (string, error) {
	return redis.String(r.Do("XADD", redis.Args{stream, "*"}.AddFlat(fieldsAndValues)...))
}

// Del removes keys, for a test's cleanup.
func (r *Redis) Del(keys ...string) {
	_, _ = r.Do("DEL", redis.Args{}.AddFlat(keys)...)
}

// KillRedisClients closes, from the server side, every connection named
// name (CLIENT SETNAME), as CLIENT KILL by an operator or a failover would.
// It waits until at least one is listed.
func KillRedisClients(t testing.TB, c *Redis, name string) {
	t.Helper()
	var killed int
	require.Eventually(t, func() bool {
		list, err := redis.String(c.Do("CLIENT", "LIST"))
		require.NoError(t, err)
		for _, line := range strings.Split(list, "\n") {
			if !strings.Contains(line, " name="+name+" ") {
				continue
			}
			for _, f := range strings.Fields(line) {
				if id, ok := strings.CutPrefix(f, "id="); ok {
					_, err := c.Do("CLIENT", "KILL", "ID", id)
					require.NoError(t, err)
					killed++
				}
			}
		}
		return killed > 0
	}, WaitLimit, 100*time.Millisecond, "no connection named %s", name)
}
