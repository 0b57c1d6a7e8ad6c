package redissource

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configtls"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/sourcetest"
)

// observe sends the source's log to the returned observer as well.
func observe() (func(*source), *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return func(s *source) {
		s.log = s.log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return zapcore.NewTee(c, core) }))
	}, logs
}

// waitLog waits for a log entry whose message is msg and whose error, if
// errPart is set, contains it.
func waitLog(t *testing.T, logs *observer.ObservedLogs, msg, errPart string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, e := range logs.FilterMessage(msg).All() {
			if errPart == "" || strings.Contains(fmt.Sprint(e.ContextMap()["error"]), errPart) {
				return true
			}
		}
		return false
	}, sourcetest.WaitLimit, 10*time.Millisecond, "no log %q with an error containing %q", msg, errPart)
}

// A quiet Pub/Sub connection stays up: PING replies arrive before each
// read's deadline.
func TestPubSubQuietConnectionStaysUp(t *testing.T) {
	requireServer(t)
	c := producer(t)
	channel := sourcetest.Unique("quiet")
	cfg := NewDefaultConfig()
	cfg.Channels = []string{channel}
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec, func(s *source) {
		s.healthCheck = 20 * time.Millisecond
		s.ioTimeout = 200 * time.Millisecond
	})
	defer sourcetest.Shutdown(t, src)
	publish := func(id string) { require.NoError(t, c.Publish(channel, binary("message_id", id)(""))) }

	rec.WaitTapping(t, "before", publish)
	time.Sleep(time.Second) // four times a read's deadline, without a message
	ever, _ := rec.Status.Reported(componentstatus.StatusRecoverableError)
	assert.False(t, ever, "the connection was given up while quiet")
	rec.WaitTapping(t, "after", publish)
}

// silentPeer is a Redis that confirms SUBSCRIBE and then answers nothing,
// as a peer that went away without closing the connection does. It counts
// the PINGs it is sent.
type silentPeer struct {
	l     net.Listener
	pings atomic.Int32
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func startSilentPeer(t *testing.T) *silentPeer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &silentPeer{l: l}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			p.wg.Add(1)
			go p.serve(c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *silentPeer) serve(c net.Conn) {
	defer p.wg.Done()
	// A command is an array of bulk strings, which redigo reads as a reply.
	rc := redis.NewConn(c, 0, 0)
	subscribed := 0
	for {
		cmd, err := redis.Strings(rc.Receive())
		if err != nil || len(cmd) == 0 {
			return
		}
		switch strings.ToUpper(cmd[0]) {
		case "CLIENT":
			_, _ = c.Write([]byte("+OK\r\n"))
		case "SUBSCRIBE":
			for _, ch := range cmd[1:] {
				subscribed++
				_, _ = fmt.Fprintf(c, "*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:%d\r\n", len(ch), ch, subscribed)
			}
		case "PING":
			p.pings.Add(1)
		}
	}
}

// A peer that stops answering is noticed by the health check, reported
// and reconnected to.
func TestPubSubSilentPeerIsNoticed(t *testing.T) {
	peer := startSilentPeer(t)
	cfg := NewDefaultConfig()
	cfg.Endpoint = peer.l.Addr().String()
	cfg.Channels = []string{"orders"}
	cfg.Reconnect.InitialInterval = 10 * time.Millisecond
	cfg.Reconnect.MaxInterval = 20 * time.Millisecond
	rec := &sourcetest.Recorder{}
	tune, logs := observe()
	src, _ := startSource(t, cfg, rec, tune, func(s *source) {
		s.healthCheck = 20 * time.Millisecond
		s.ioTimeout = 50 * time.Millisecond
	})
	waitLog(t, logs, "Redis Pub/Sub tap subscribed", "")
	waitLog(t, logs, "Redis Pub/Sub tap interrupted; reconnecting", "health check: no reply within 70ms")
	assert.Positive(t, peer.pings.Load(), "the tap sent PING")
	ever, _ := rec.Status.Reported(componentstatus.StatusRecoverableError)
	assert.True(t, ever)
	require.Eventually(t, func() bool { return logs.FilterMessage("Redis Pub/Sub tap subscribed").Len() >= 2 },
		sourcetest.WaitLimit, 10*time.Millisecond, "the tap subscribes again")
	sourcetest.Shutdown(t, src)
}

// start_id $ on a stream that does not exist yet reads it from its first
// entry once it is created; a key of another type is reported and retried.
func TestStreamStartPositions(t *testing.T) {
	requireServer(t)
	c := producer(t)
	later := sourcetest.Unique("later")
	notStream := sourcetest.Unique("string")
	t.Cleanup(func() { c.Del(later, notStream) })

	t.Run("created later", func(t *testing.T) {
		cfg := NewDefaultConfig()
		cfg.Streams = []StreamConfig{{Name: later}}
		cfg.Block = 100 * time.Millisecond
		rec := &sourcetest.Recorder{}
		tune, logs := observe()
		src, _ := startSource(t, cfg, rec, tune)
		defer sourcetest.Shutdown(t, src)
		waitLog(t, logs, "Redis Streams tap reading", "")
		id, err := c.XAdd(later, "__data__", binary("message_id", "first")(""))
		require.NoError(t, err)
		rec.WaitIDs(t, "first")
		assert.Equal(t, "redis/0/stream/"+later+"/"+id, rec.ByID()["first"][0].Identity)
	})
	t.Run("not a stream", func(t *testing.T) {
		_, err := c.Do("SET", notStream, "x")
		require.NoError(t, err)
		cfg := NewDefaultConfig()
		cfg.Streams = []StreamConfig{{Name: notStream}}
		cfg.Reconnect.InitialInterval = 10 * time.Millisecond
		rec := &sourcetest.Recorder{}
		tune, logs := observe()
		src, _ := startSource(t, cfg, rec, tune)
		waitLog(t, logs, "Redis Streams tap interrupted; reconnecting", "xinfo stream "+notStream+": WRONGTYPE")
		_, last := rec.Status.Reported(componentstatus.StatusRecoverableError)
		assert.True(t, last)
		sourcetest.Shutdown(t, src)
	})
}

// username, password and db reach both connections; a wrong password is
// reported and retried, and never logged.
func TestAuthAndDatabase(t *testing.T) {
	requireServer(t)
	c := producer(t)
	user := sourcetest.Unique("msgtrace-tap")
	const password = "tap-password-4f1c"
	_, err := c.Do("ACL", "SETUSER", user, "reset", "on", ">"+password, "~*", "&*", "+@all")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = c.Do("ACL", "DELUSER", user) })

	const db = 3
	stream := sourcetest.Unique("db3")
	inDB, err := redis.Dial("tcp", serverAddr, redis.DialDatabase(db))
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = inDB.Do("DEL", stream)
		inDB.Close()
	})
	channel := sourcetest.Unique("acl")

	cfg := NewDefaultConfig()
	cfg.Username = user
	cfg.Password = password
	cfg.DB = db
	cfg.Channels = []string{channel}
	cfg.Streams = []StreamConfig{{Name: stream, StartID: StartAll}}
	cfg.Block = 100 * time.Millisecond

	t.Run("right password", func(t *testing.T) {
		rec := &sourcetest.Recorder{}
		src, _ := startSource(t, cfg, rec)
		defer sourcetest.Shutdown(t, src)
		rec.WaitTapping(t, "pubsub", func(id string) { require.NoError(t, c.Publish(channel, binary("message_id", id)(""))) })
		entryID, err := redis.String(inDB.Do("XADD", stream, "*", "__data__", binary("message_id", "in-db3")("")))
		require.NoError(t, err)
		rec.WaitIDs(t, "in-db3")
		assert.Equal(t, "redis/3/stream/"+stream+"/"+entryID, rec.ByID()["in-db3"][0].Identity)
	})
	t.Run("wrong password", func(t *testing.T) {
		wrong := *cfg
		wrong.Password = "not-" + password
		wrong.Reconnect.InitialInterval = 10 * time.Millisecond
		rec := &sourcetest.Recorder{}
		tune, logs := observe()
		src, _ := startSource(t, &wrong, rec, tune)
		waitLog(t, logs, "Redis Pub/Sub tap interrupted; reconnecting", "WRONGPASS")
		waitLog(t, logs, "Redis Streams tap interrupted; reconnecting", "WRONGPASS")
		sourcetest.Shutdown(t, src)
		_, last := rec.Status.Reported(componentstatus.StatusRecoverableError)
		assert.True(t, last)
		for _, e := range logs.All() {
			assert.NotContains(t, fmt.Sprint(e.Message, e.ContextMap()), password)
		}
	})
}

// The tls block makes both connections TLS, verified against its CA.
func TestTLS(t *testing.T) {
	server := sourcetest.RequireCommand(t, "redis-server")
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, server, "--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", certFile,
		"--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", dir)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	tlsCfg := &configtls.ClientConfig{Config: configtls.Config{CAFile: certFile}}
	loaded, err := tlsCfg.LoadTLSConfig(context.Background())
	require.NoError(t, err)
	var app redis.Conn
	require.Eventually(t, func() bool {
		app, err = redis.Dial("tcp", addr, redis.DialUseTLS(true), redis.DialTLSConfig(loaded))
		return err == nil
	}, sourcetest.WaitLimit, 20*time.Millisecond, "the TLS server never answered: %v", err)
	t.Cleanup(func() { app.Close() })

	cfg := NewDefaultConfig()
	cfg.Endpoint = addr
	cfg.TLS = tlsCfg
	cfg.Channels = []string{"orders"}
	cfg.Streams = []StreamConfig{{Name: "ledger", StartID: StartAll}}
	cfg.Block = 100 * time.Millisecond
	rec := &sourcetest.Recorder{}
	src, _ := startSource(t, cfg, rec)
	defer sourcetest.Shutdown(t, src)
	rec.WaitTapping(t, "pubsub", func(id string) {
		_, err := app.Do("PUBLISH", "orders", binary("message_id", id)(""))
		require.NoError(t, err)
	})
	_, err = app.Do("XADD", "ledger", "*", "__data__", binary("message_id", "over-tls")(""))
	require.NoError(t, err)
	rec.WaitIDs(t, "over-tls")

	t.Run("unknown CA", func(t *testing.T) {
		other := *cfg
		other.TLS = &configtls.ClientConfig{}
		other.Reconnect.InitialInterval = 10 * time.Millisecond
		rec := &sourcetest.Recorder{}
		tune, logs := observe()
		src, _ := startSource(t, &other, rec, tune)
		waitLog(t, logs, "Redis Streams tap interrupted; reconnecting", "certificate")
		sourcetest.Shutdown(t, src)
		assert.Empty(t, rec.Messages())
	})
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeSelfSigned writes a certificate for 127.0.0.1 that is its own CA.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "msgtrace test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}
