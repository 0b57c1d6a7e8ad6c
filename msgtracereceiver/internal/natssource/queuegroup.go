package natssource

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
)

// subscribeCore subscribes to a core subject, through the taps' queue group
// when queue_group is set: NATS then gives each message to one member of the
// group, so replicas of the tap split the subject's messages. A queue group
// only shares messages among its own members: every application
// subscription, in a group of its own or in none, still gets all of them.
func (s *source) subscribeCore(nc *nats.Conn, subject string) (*nats.Subscription, error) {
	if s.cfg.QueueGroup == "" {
		return nc.Subscribe(subject, s.observeCore)
	}
	return nc.QueueSubscribe(subject, s.cfg.QueueGroup, s.observeCore)
}

// validateQueueGroup checks queue_group: a NATS queue name has no
// whitespace, and no wildcard (it is not a subject).
func validateQueueGroup(name string) error {
	if name == "" {
		return nil
	}
	if strings.ContainsAny(name, " \t\r\n*>") {
		return fmt.Errorf("queue_group %q must not contain whitespace, '*' or '>'", name)
	}
	return nil
}
