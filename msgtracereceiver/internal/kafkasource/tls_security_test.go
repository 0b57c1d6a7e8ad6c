package kafkasource

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"

	"github.com/otelcol-msg/otelcol-msg/msgtracereceiver/internal/message"
)

// Authentication and encryption against kfake's SASL and TLS listeners.
// Every test also checks that no password shows up in what the source logs,
// at any level.

const (
	tapUser     = "tap"
	tapPassword = "Pw-d0-not-log-7f3a"
)

// producerSASL is how the test's producer authenticates with mechanism.
func producerSASL(mechanism, user, pass string) sasl.Mechanism {
	switch mechanism {
	case MechanismScramSHA256:
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	case MechanismScramSHA512:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	default:
		return plain.Auth{User: user, Pass: pass}.AsMechanism()
	}
}

var mechanisms = []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512}

func TestSASLMechanisms(t *testing.T) {
	for _, mech := range mechanisms {
		t.Run(mech, func(t *testing.T) {
			verifyNoLeaks(t)
			c := newCluster(t, kfake.SeedTopics(1, "secure"), kfake.EnableSASL(), kfake.Superuser(mech, tapUser, tapPassword))
			addrs := c.ListenAddrs()
			produce(t, addrs, []kgo.Opt{kgo.SASL(producerSASL(mech, tapUser, tapPassword))}, &kgo.Record{Topic: "secure", Value: []byte("v")})

			cfg := testConfig(addrs, "secure")
			// kfake implements SaslAuthenticate (handshake v1) only.
			cfg.Auth.SASL = &SASLConfig{Mechanism: mech, Username: tapUser, Password: tapPassword, Version: 1}
			r := startSource(t, cfg)
			require.Eventually(t, func() bool { return len(r.sink.messages()) == 1 }, waitFor, tick)
			assert.Equal(t, componentstatus.StatusOK, r.host.last().Status())
			assertNotLogged(t, r.logs, tapPassword)
		})
	}
}

// A wrong password never connects: the source keeps retrying, reports a
// recoverable error with the reason, logs a warning naming the brokers,
// and never logs either password.
func TestSASLWrongPassword(t *testing.T) {
	for _, mech := range mechanisms {
		t.Run(mech, func(t *testing.T) {
			verifyNoLeaks(t)
			c := newCluster(t, kfake.SeedTopics(1, "secure"), kfake.EnableSASL(), kfake.Superuser(mech, tapUser, tapPassword))
			addrs := c.ListenAddrs()
			produce(t, addrs, []kgo.Opt{kgo.SASL(producerSASL(mech, tapUser, tapPassword))}, &kgo.Record{Topic: "secure", Value: []byte("v")})

			const wrong = "Wrong-pw-9c1e"
			cfg := testConfig(addrs, "secure")
			cfg.Auth.SASL = &SASLConfig{Mechanism: mech, Username: tapUser, Password: wrong, Version: 1}
			r := startSource(t, cfg)
			require.Eventually(t, func() bool {
				e := r.host.last()
				return e != nil && e.Status() == componentstatus.StatusRecoverableError
			}, waitFor, tick)
			require.Eventually(t, func() bool { return r.logs.FilterMessage("kafka cluster unreachable, retrying").Len() > 0 }, waitFor, tick)
			w := warnings(r.logs)
			assert.Contains(t, w, addrs[0], "the warning names the broker")
			// A broker that refuses the credentials closes the connection
			// (kfake always; Kafka with handshake v0); the warning must still
			// point at the credentials rather than at the network.
			assert.Contains(t, w, "SASL", "the warning names the failing step")
			assert.Contains(t, w, mech)
			assert.Contains(t, w, tapUser)
			assert.Error(t, r.host.last().Err())
			assert.Empty(t, r.sink.messages(), "nothing is read without authentication")
			assertNotLogged(t, r.logs, wrong, tapPassword)
		})
	}
}

func TestTLS(t *testing.T) {
	verifyNoLeaks(t)
	ca := newTestCA(t, "test CA")
	c := newCluster(t, kfake.SeedTopics(1, "tls"), kfake.TLS(ca.serverConfig(t)))
	addrs := c.ListenAddrs()
	produce(t, addrs, []kgo.Opt{kgo.DialTLSConfig(&tls.Config{RootCAs: ca.pool(), MinVersion: tls.VersionTLS12})},
		&kgo.Record{Topic: "tls", Value: []byte("v")})

	cfg := testConfig(addrs, "tls")
	cfg.TLS = &configtls.ClientConfig{Config: configtls.Config{CAFile: ca.file(t)}}
	r := startSource(t, cfg)
	require.Eventually(t, func() bool { return len(r.sink.messages()) == 1 }, waitFor, tick)
	assert.Equal(t, "kafka", r.sink.messages()[0].System)
}

// SASL_SSL, the usual production setup: SCRAM over TLS.
func TestSASLOverTLS(t *testing.T) {
	verifyNoLeaks(t)
	ca := newTestCA(t, "test CA")
	c := newCluster(t, kfake.SeedTopics(1, "secure"), kfake.TLS(ca.serverConfig(t)),
		kfake.EnableSASL(), kfake.Superuser(MechanismScramSHA512, tapUser, tapPassword))
	addrs := c.ListenAddrs()
	produce(t, addrs, []kgo.Opt{
		kgo.DialTLSConfig(&tls.Config{RootCAs: ca.pool(), MinVersion: tls.VersionTLS12}),
		kgo.SASL(producerSASL(MechanismScramSHA512, tapUser, tapPassword)),
	}, &kgo.Record{Topic: "secure", Value: []byte("v")})

	cfg := testConfig(addrs, "secure")
	cfg.TLS = &configtls.ClientConfig{Config: configtls.Config{CAFile: ca.file(t)}}
	cfg.Auth.SASL = &SASLConfig{Mechanism: MechanismScramSHA512, Username: tapUser, Password: configopaque.String(tapPassword), Version: 1}
	r := startSource(t, cfg)
	require.Eventually(t, func() bool { return len(r.sink.messages()) == 1 }, waitFor, tick)
	assertNotLogged(t, r.logs, tapPassword)
}

// A certificate the configured CA did not sign, or one issued for another
// name, is refused: the source reports and logs the x509 reason and keeps
// retrying.
func TestTLSVerificationFails(t *testing.T) {
	tests := []struct {
		name   string
		client func(t *testing.T, serverCA *testCA) *configtls.ClientConfig
		reason string
	}{
		{
			name: "unknown CA",
			client: func(t *testing.T, _ *testCA) *configtls.ClientConfig {
				return &configtls.ClientConfig{Config: configtls.Config{CAFile: newTestCA(t, "other CA").file(t)}}
			},
			reason: "certificate signed by unknown authority",
		},
		{
			name: "system roots only",
			client: func(*testing.T, *testCA) *configtls.ClientConfig {
				return &configtls.ClientConfig{}
			},
			reason: "x509: certificate",
		},
		{
			name: "wrong server name",
			client: func(t *testing.T, ca *testCA) *configtls.ClientConfig {
				return &configtls.ClientConfig{Config: configtls.Config{CAFile: ca.file(t)}, ServerName: "kafka.example.com"}
			},
			reason: "not kafka.example.com",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verifyNoLeaks(t)
			ca := newTestCA(t, "server CA")
			c := newCluster(t, kfake.SeedTopics(1, "tls"), kfake.TLS(ca.serverConfig(t)))
			addrs := c.ListenAddrs()
			cfg := testConfig(addrs, "tls")
			cfg.TLS = tt.client(t, ca)
			r := startSource(t, cfg)
			require.Eventually(t, func() bool {
				e := r.host.last()
				return e != nil && e.Status() == componentstatus.StatusRecoverableError
			}, waitFor, tick)
			assert.ErrorContains(t, r.host.last().Err(), tt.reason)
			require.Eventually(t, func() bool { return r.logs.FilterMessage("kafka cluster unreachable, retrying").Len() > 0 }, waitFor, tick)
			assert.Contains(t, warnings(r.logs), tt.reason)
			assert.Empty(t, r.sink.messages())
		})
	}
}

// TLS material that cannot be loaded is a configuration error: Start fails
// at once, naming the file, instead of retrying forever.
func TestTLSBadFilesFailStart(t *testing.T) {
	bad := t.TempDir() + "/not-a-ca.pem"
	tests := []struct {
		name string
		tls  configtls.ClientConfig
		err  string
	}{
		{name: "missing CA file", tls: configtls.ClientConfig{Config: configtls.Config{CAFile: t.TempDir() + "/missing.pem"}}, err: "failed to load CA CertPool File: failed to load cert"},
		{name: "CA file without a certificate", tls: configtls.ClientConfig{Config: configtls.Config{CAFile: bad}}, err: "failed to parse cert"},
		{name: "key without certificate", tls: configtls.ClientConfig{Config: configtls.Config{KeyFile: bad}}, err: "provide both certificate and key"},
	}
	require.NoError(t, os.WriteFile(bad, []byte("not PEM"), 0o600))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig([]string{"127.0.0.1:1"}, "tls")
			cfg.TLS = &tt.tls
			src, err := New(cfg, message.Settings{Logger: zap.NewNop(), Telemetry: &sink{}, Deliver: (&sink{}).deliver})
			require.NoError(t, err)
			err = src.Start(context.Background(), &statusHost{})
			require.ErrorContains(t, err, tt.err)
			assert.NoError(t, src.Shutdown(context.Background()))
		})
	}
}

// explainConnectError turns the bare EOF of a refused login into an error
// that names SASL, the mechanism and the user, and leaves other errors and
// connections without SASL alone.
func TestExplainConnectError(t *testing.T) {
	verifyNoLeaks(t)
	c := newCluster(t, kfake.SeedTopics(1, "secure"), kfake.EnableSASL(), kfake.Superuser(MechanismScramSHA256, tapUser, tapPassword))
	cfg := testConfig(c.ListenAddrs(), "secure")
	cfg.Auth.SASL = &SASLConfig{Mechanism: MechanismScramSHA256, Username: tapUser, Password: "wrong", Version: 1}
	sc, err := NewSaramaConfig(context.Background(), cfg)
	require.NoError(t, err)
	sc.Metadata.Retry.Max = 0
	client, err := sarama.NewClient(cfg.Brokers, sc)
	if client != nil {
		require.NoError(t, client.Close())
	}
	require.Error(t, err)
	got := explainConnectError(sc, err)
	assert.ErrorIs(t, got, err)
	assert.ErrorContains(t, got, `SASL SCRAM-SHA-256 authentication as "tap" refused or cut off`)
	assert.NotContains(t, got.Error(), "wrong")

	other := errors.New("dial tcp: connection refused")
	assert.Equal(t, other, explainConnectError(sc, other))
	assert.NoError(t, explainConnectError(sc, nil))
	plain, err := NewSaramaConfig(context.Background(), testConfig(c.ListenAddrs(), "secure"))
	require.NoError(t, err)
	assert.Equal(t, io.EOF, explainConnectError(plain, io.EOF), "without SASL an EOF is just an EOF")
}

// The password is a configopaque.String: configuration dumps (the
// collector's print-config, zpages) show it redacted.
func TestSASLPasswordRedactedInConfigDumps(t *testing.T) {
	cfg := testConfig([]string{"kafka:9092"}, "orders")
	cfg.Auth.SASL = &SASLConfig{Mechanism: MechanismScramSHA512, Username: tapUser, Password: tapPassword, Version: 1}
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	dump := fmt.Sprint(conf.ToStringMap())
	assert.NotContains(t, dump, tapPassword)
	assert.Contains(t, dump, "[REDACTED]")
	assert.NotContains(t, fmt.Sprintf("%v %+v", cfg.Auth.SASL.Password, *cfg.Auth.SASL), tapPassword, "formatting the block redacts it too")
}
