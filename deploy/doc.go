// Package deploy holds the gateway stack of otelcol-msg: the compose file,
// the collector configs it mounts, and the Tempo, Prometheus, RabbitMQ and
// Grafana files beside them. It has no Go API; its tests check, without a
// Docker engine, that every config validates with the real binary, that the
// compose file, the Dockerfile and the dashboard only reference files, ports
// and series that exist, and that the image's binaries are static.
package deploy
