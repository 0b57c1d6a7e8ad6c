package clienttls

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configtls"
)

func TestLoad(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		cfg       *configtls.ClientConfig
		schemeTLS bool
		wantTLS   bool
	}{
		{name: "no block", wantTLS: false},
		{name: "no block, TLS scheme", schemeTLS: true, wantTLS: true},
		{name: "empty block: verified TLS", cfg: &configtls.ClientConfig{}, wantTLS: true},
		{name: "insecure: plaintext", cfg: &configtls.ClientConfig{Insecure: true}, wantTLS: false},
		{name: "skip verify: TLS", cfg: &configtls.ClientConfig{InsecureSkipVerify: true}, wantTLS: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.wantTLS, Enabled(tc.cfg, tc.schemeTLS))
			c, err := Load(ctx, tc.cfg, tc.schemeTLS)
			require.NoError(t, err)
			assert.Equal(t, tc.wantTLS, c != nil)
		})
	}
	c, err := Load(ctx, &configtls.ClientConfig{InsecureSkipVerify: true, ServerName: "b"}, false)
	require.NoError(t, err)
	assert.True(t, c.InsecureSkipVerify)
	assert.Equal(t, "b", c.ServerName)
	_, err = Load(ctx, &configtls.ClientConfig{Config: configtls.Config{CAFile: "/does/not/exist.pem"}}, false)
	assert.ErrorContains(t, err, "tls: ")
}

func TestValidate(t *testing.T) {
	assert.NoError(t, Validate(nil, "amqps://"))
	assert.NoError(t, Validate(&configtls.ClientConfig{Config: configtls.Config{CAFile: "ca.pem"}}, "tls://"))
	assert.NoError(t, Validate(&configtls.ClientConfig{Insecure: true}, ""))
	err := Validate(&configtls.ClientConfig{Insecure: true, Config: configtls.Config{CAFile: "ca.pem", CAPem: "x"}}, "amqps://")
	assert.ErrorContains(t, err, "but ca_file, ca_pem only apply to TLS")
	assert.ErrorContains(t, err, "the amqps:// endpoint asks for TLS")
}
