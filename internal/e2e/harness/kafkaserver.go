package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
)

// kafkaServerPackage is the command BuildKafkaServer compiles.
const kafkaServerPackage = "./internal/e2e/cmd/kfakeserver"

// KafkaServerConfig says how to run cmd/kfakeserver.
type KafkaServerConfig struct {
	// Binary is the path BuildKafkaServer returned.
	Binary string
	// Port on 127.0.0.1; a restart that must be found at the same address
	// passes the port of the previous run.
	Port int
	// Topics are created unless DataDir already holds a cluster.
	Topics []Topic
	// DataDir, when set, keeps topics, records and committed offsets across
	// a Stop and the next start on the same directory (a broker restart).
	DataDir string
	// LogPath receives the server's output.
	LogPath string
}

// KafkaServer is a kfake broker running as a process of its own: it outlives
// a gateway killed by a test, and can go away while the gateway runs.
type KafkaServer struct {
	*Process
	addr string
}

// BuildKafkaServer compiles cmd/kfakeserver of the module at root into outDir.
func BuildKafkaServer(ctx context.Context, root, outDir string) (string, error) {
	out := filepath.Join(outDir, "kfakeserver")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, kafkaServerPackage)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build kfakeserver: %w\n%s", err, stderr.String())
	}
	return out, nil
}

// StartKafkaServer starts the server and waits until it listens, it exits,
// or ctx ends.
func StartKafkaServer(ctx context.Context, cfg KafkaServerConfig) (*KafkaServer, error) {
	args := []string{"-port", strconv.Itoa(cfg.Port)}
	for _, t := range cfg.Topics {
		args = append(args, "-topic", fmt.Sprintf("%s:%d", t.Name, t.Partitions))
	}
	if cfg.DataDir != "" {
		args = append(args, "-data-dir", cfg.DataDir)
	}
	proc, err := StartProcess(ProcessConfig{Binary: cfg.Binary, Args: args, LogPath: cfg.LogPath})
	if err != nil {
		return nil, err
	}
	if err := proc.WaitLog(ctx, "kfakeserver listening on"); err != nil {
		proc.Kill()
		return nil, fmt.Errorf("kfakeserver: %w", err)
	}
	return &KafkaServer{Process: proc, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))}, nil
}

// Addr is the broker's address, "127.0.0.1:port".
func (s *KafkaServer) Addr() string { return s.addr }
