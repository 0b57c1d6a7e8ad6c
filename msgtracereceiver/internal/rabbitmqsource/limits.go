package rabbitmqsource

import (
	"context"
	"errors"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"
)

// frameSize is the largest AMQP frame the tap accepts (RabbitMQ's own
// default frame_max), asked for explicitly: amqp091-go rejects a frame
// above the negotiated size (4 KiB before connection.tune) before reading
// it, and reads what a frame's fields declare in 64 KiB chunks from within
// the frame, so a lying server cannot make it allocate more.
const frameSize = 128 << 10

// faultProtocol counts a connection the client closed on a frame beyond
// frame_max or one it could not parse; the source reconnects with backoff.
const faultProtocol = "protocol"

// countProtocol counts and logs a session that ended on a protocol fault.
func (s *source) countProtocol(ctx context.Context, err error) {
	// amqp091 reports them as a connection exception with a frame or
	// syntax error code (not always the very ErrFrameTooLarge value).
	var ae *amqp.Error
	if !errors.As(err, &ae) || (ae.Code != amqp.FrameError && ae.Code != amqp.SyntaxError) {
		return
	}
	s.set.Telemetry.Fault(ctx, System, faultProtocol)
	s.log.Error("RabbitMQ server sent a frame beyond frame_max or unparsable; reconnecting", zap.Error(err), zap.Int("frame_max", frameSize))
}
