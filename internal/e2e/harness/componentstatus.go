package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// ComponentStatus is one component's entry in the health_check extension's
// verbose status, as served when the collector runs with
// --feature-gates=+extension.healthcheck.useComponentStatus.
type ComponentStatus struct {
	Healthy bool   `json:"healthy"`
	Status  string `json:"status"` // StatusOK, StatusRecoverableError, ...
	Error   string `json:"error"`
	// Components are the entries below this one: pipelines, then their
	// components ("receiver:msgtrace").
	Components map[string]*ComponentStatus `json:"components"`
}

// ComponentStatus returns the status that the gateway's health check reports
// for the component named id ("receiver:msgtrace"). A component in several
// pipelines reports the same status in each, so any of them will do.
func (g *Gateway) ComponentStatus(ctx context.Context, id string) (ComponentStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.HealthURL+"?verbose", http.NoBody)
	if err != nil {
		return ComponentStatus{}, fmt.Errorf("health status request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ComponentStatus{}, fmt.Errorf("health status: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return ComponentStatus{}, fmt.Errorf("health status: %w", err)
	}
	var root ComponentStatus
	if err := json.Unmarshal(body, &root); err != nil {
		return ComponentStatus{}, fmt.Errorf("health status (HTTP %d) is not the verbose component status: %w: %s", resp.StatusCode, err, body)
	}
	if st := root.find(id); st != nil {
		return *st, nil
	}
	return ComponentStatus{}, fmt.Errorf("health status names no %s: %s", id, body)
}

func (s *ComponentStatus) find(id string) *ComponentStatus {
	if c, ok := s.Components[id]; ok {
		return c
	}
	for _, c := range s.Components {
		if found := c.find(id); found != nil {
			return found
		}
	}
	return nil
}
