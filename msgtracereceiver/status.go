package msgtracereceiver // import "github.com/otelcol-msg/otelcol-msg/msgtracereceiver"

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// sourceStatus keeps the last status each source reported and reports the
// worst of them as the receiver's one component status: a source that is
// fine must not hide one that is down (a Kafka rebalance reporting OK while
// the RabbitMQ tap cannot connect). The error of the reported event names
// every source in that worst state.
type sourceStatus struct {
	host component.Host

	mu   sync.Mutex
	last map[string]*componentstatus.Event
	// reported is what went to the host last, to report changes only.
	reported componentstatus.Status
	message  string
}

func newSourceStatus(host component.Host) *sourceStatus {
	return &sourceStatus{host: host, last: map[string]*componentstatus.Event{}}
}

// hostFor returns the host given to source name: the real host, whose
// status reports go through s.
func (s *sourceStatus) hostFor(name string) component.Host {
	return &sourceHost{Host: s.host, status: s, name: name}
}

// sourceHost is the host of one source.
type sourceHost struct {
	component.Host
	status *sourceStatus
	name   string
}

var _ componentstatus.Reporter = (*sourceHost)(nil)

// Report implements componentstatus.Reporter.
func (h *sourceHost) Report(e *componentstatus.Event) { h.status.report(h.name, e) }

// severity orders statuses from good to bad; the worst is reported.
func severity(st componentstatus.Status) int {
	switch st {
	case componentstatus.StatusOK:
		return 1
	case componentstatus.StatusRecoverableError:
		return 2
	case componentstatus.StatusPermanentError:
		return 3
	case componentstatus.StatusFatalError:
		return 4
	default: // Starting, Stopping, Stopped: the collector reports those itself
		return 0
	}
}

func (s *sourceStatus) report(name string, e *componentstatus.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last[name] = e
	worst := componentstatus.StatusNone
	for _, ev := range s.last {
		if severity(ev.Status()) > severity(worst) {
			worst = ev.Status()
		}
	}
	if severity(worst) == 0 {
		return
	}
	var errs []error
	names := make([]string, 0, len(s.last))
	for n := range s.last {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if ev := s.last[n]; ev.Status() == worst && ev.Err() != nil {
			errs = append(errs, fmt.Errorf("%s source: %w", n, ev.Err()))
		}
	}
	err := errors.Join(errs...)
	var msg string
	if err != nil {
		msg = err.Error()
	}
	if worst == s.reported && msg == s.message {
		return
	}
	s.reported, s.message = worst, msg
	var out *componentstatus.Event
	switch worst {
	case componentstatus.StatusRecoverableError:
		out = componentstatus.NewRecoverableErrorEvent(err)
	case componentstatus.StatusPermanentError:
		out = componentstatus.NewPermanentErrorEvent(err)
	case componentstatus.StatusFatalError:
		out = componentstatus.NewFatalErrorEvent(err)
	default:
		out = componentstatus.NewEvent(worst)
	}
	componentstatus.ReportStatus(s.host, out)
}
