package natssource

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ackAdvisoryPrefix is the subject prefix of the server's ack samples,
// $JS.EVENT.METRIC.CONSUMER.ACK.<stream>.<consumer>, published in the
// consumer's account when its sample_freq samples an ack.
const ackAdvisoryPrefix = advisorySubjectPrefix + "CONSUMER.ACK."

// advisorySubjectPrefix is what the subjects of the server's JetStream
// metrics start with: the client's errors on them are the watcher's.
const advisorySubjectPrefix = "$JS.EVENT.METRIC."

// advisoryPendingMsgs and advisoryPendingBytes bound what the client
// buffers of one consumer's ack advisories (about 250 bytes each) while the
// handler is behind; beyond, it drops them, and those messages are dated by
// the ack floor instead.
const (
	advisoryPendingMsgs  = 4096
	advisoryPendingBytes = 1 << 20
)

// ackAdvisoryType is the schema of those advisories (nats-server's
// JSConsumerAckMetric).
const ackAdvisoryType = "io.nats.jetstream.metric.v1.consumer_ack"

// ackAdvisory is what the watcher uses of an ack sample.
type ackAdvisory struct {
	Type     string `json:"type"`
	Stream   string `json:"stream"`
	Consumer string `json:"consumer"`
	// StreamSeq is the acknowledged message's stream sequence.
	StreamSeq uint64 `json:"stream_seq"`
	// Timestamp is when the server processed the ack, by its clock; it
	// dates the settle. (ack_time is the time from delivery to ack, and
	// the delivery time is not in the advisory.)
	Timestamp time.Time `json:"timestamp"`
}

// maxAdvisorySkew is how far ahead of the collector's clock an advisory's
// timestamp may be. Anyone in the account can publish on the subject, and
// a time beyond what a server's clock skew explains would date the settle
// in the future (or, after 2262, wrap).
const maxAdvisorySkew = time.Minute

// parseAckAdvisory reads one ack advisory off the wire, received at now.
func parseAckAdvisory(data []byte, now time.Time) (ackAdvisory, error) {
	var a ackAdvisory
	if err := json.Unmarshal(data, &a); err != nil {
		return ackAdvisory{}, fmt.Errorf("ack advisory: %w", err)
	}
	switch {
	case a.Type != ackAdvisoryType:
		return ackAdvisory{}, fmt.Errorf("ack advisory of type %q", a.Type)
	case a.Stream == "" || a.Consumer == "":
		return ackAdvisory{}, errors.New("ack advisory without a stream or consumer")
	case a.StreamSeq == 0:
		return ackAdvisory{}, errors.New("ack advisory without a stream sequence")
	case a.Timestamp.Unix() <= 0: // the zero time too
		return ackAdvisory{}, errors.New("ack advisory without a timestamp")
	case a.Timestamp.After(now.Add(maxAdvisorySkew)):
		return ackAdvisory{}, fmt.Errorf("ack advisory dated %v, ahead of the collector's clock", a.Timestamp)
	}
	return a, nil
}

// samplesAcks reports whether a consumer's sample_freq makes the server
// publish ack advisories: "N" or "N%" with N > 0, parsed as the server does.
func samplesAcks(freq string) bool {
	n, err := strconv.Atoi(strings.TrimSuffix(freq, "%"))
	return err == nil && n > 0
}
