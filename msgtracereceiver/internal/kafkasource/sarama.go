package kafkasource

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// NewSaramaConfig turns the block into a sarama configuration. TLS files are
// read here, so Start reports a broken certificate at once.
func NewSaramaConfig(ctx context.Context, cfg *Config) (*sarama.Config, error) {
	sc := sarama.NewConfig()
	sc.ClientID = cfg.ClientID
	if cfg.ProtocolVersion != "" {
		v, err := sarama.ParseKafkaVersion(cfg.ProtocolVersion)
		if err != nil {
			return nil, fmt.Errorf("protocol_version: %w", err)
		}
		sc.Version = v
	}
	// A tap must never create the topics it watches.
	sc.Metadata.AllowAutoTopicCreation = false
	// A dial hangs Shutdown for at most this long (sarama dials are not
	// context-aware).
	sc.Net.DialTimeout = 10 * time.Second

	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.Initial = sarama.OffsetNewest
	if cfg.InitialOffset == OffsetEarliest {
		sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	}
	// Auto-commit only commits offsets marked after Deliver returned nil,
	// so it never commits a message whose spans were not accepted.
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = cfg.CommitInterval
	sc.Consumer.Group.Session.Timeout = cfg.SessionTimeout
	sc.Consumer.Group.Heartbeat.Interval = cfg.HeartbeatInterval
	// Room for a whole batch per partition, so one Deliver call can drain it.
	sc.ChannelBufferSize = max(sc.ChannelBufferSize, cfg.MaxBatchSize)

	if cfg.TLS != nil {
		tlsCfg, err := cfg.TLS.LoadTLSConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		if tlsCfg != nil {
			sc.Net.TLS.Enable = true
			sc.Net.TLS.Config = tlsCfg
		}
	}
	if s := cfg.Auth.SASL; s != nil {
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Handshake = true
		sc.Net.SASL.User = s.Username
		sc.Net.SASL.Password = string(s.Password)
		sc.Net.SASL.Mechanism = sarama.SASLMechanism(s.Mechanism)
		sc.Net.SASL.Version = int16(s.Version)
		switch s.Mechanism {
		case MechanismScramSHA256:
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.HashGeneratorFcn(sha256.New)} }
		case MechanismScramSHA512:
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.HashGeneratorFcn(sha512.New)} }
		}
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka client configuration: %w", err)
	}
	return sc, nil
}

// explainConnectError names SASL as the likely cause when a connection with
// SASL enabled fails the way a refused login does. Kafka answers a wrong
// password with SASL_AUTHENTICATION_FAILED under handshake v1, but simply
// closes the connection under v0 (kfake always does), which sarama reports
// as a bare EOF that reads like a network fault.
func explainConnectError(sc *sarama.Config, err error) error {
	if err == nil || !sc.Net.SASL.Enable {
		return err
	}
	if errors.Is(err, sarama.ErrSASLAuthenticationFailed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("SASL %s authentication as %q refused or cut off (check auth::sasl, and tls for a TLS listener): %w",
			sc.Net.SASL.Mechanism, sc.Net.SASL.User, err)
	}
	return err
}

// scramClient adapts github.com/xdg-go/scram to sarama.SCRAMClient.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, password, authzID string) error {
	cl, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return fmt.Errorf("scram: %w", err)
	}
	c.conv = cl.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) {
	resp, err := c.conv.Step(challenge)
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	return resp, nil
}

func (c *scramClient) Done() bool { return c.conv.Done() }
