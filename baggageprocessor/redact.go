package baggageprocessor // import "github.com/otelcol-msg/otelcol-msg/baggageprocessor"

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
)

// redactor replaces baggage values by their HMAC-SHA256 under a secret key,
// hex-encoded: equal values give equal hashes (spans stay joinable on them)
// while the value cannot be recovered, nor guessed from a list of likely
// values, without the key.
type redactor struct {
	key []byte
}

// newRedactor returns nil when no key is redacted. The key itself is never
// logged or put in an error.
func newRedactor(cfg RedactConfig) (*redactor, error) {
	if len(cfg.Keys) == 0 {
		return nil, nil
	}
	key := []byte(string(cfg.Key))
	if cfg.KeyEnv != "" {
		key = []byte(os.Getenv(cfg.KeyEnv))
		if len(key) == 0 {
			return nil, fmt.Errorf("redact.key_env: environment variable %q is unset or empty", cfg.KeyEnv)
		}
		if len(key) < minRedactKeyBytes {
			return nil, fmt.Errorf("redact.key_env: the key in %q must be at least %d bytes", cfg.KeyEnv, minRedactKeyBytes)
		}
	}
	return &redactor{key: key}, nil
}

// newMAC is called once per pooled request state: an HMAC is not safe for
// concurrent use, and Reset reuses its keyed state.
func (r *redactor) newMAC() hash.Hash { return hmac.New(sha256.New, r.key) }

// redact returns the redacted form of value, computing each distinct value
// once per request: a batch usually repeats its tenant on every link.
func (st *state) redact(r *redactor, value string) string {
	if h, ok := st.hashes[value]; ok {
		return h
	}
	if st.mac == nil {
		st.mac = r.newMAC()
	}
	st.mac.Reset()
	st.buf = append(st.buf[:0], value...)
	st.mac.Write(st.buf)
	st.buf = st.mac.Sum(st.buf[:0])
	h := hex.EncodeToString(st.buf)
	st.hashes[value] = h
	return h
}
