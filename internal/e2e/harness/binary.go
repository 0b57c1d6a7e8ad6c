package harness

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BinaryEnv names the variable holding the path of a built otelcol-msg
// (`make test` sets it after `make build`).
const BinaryEnv = "OTELCOL_MSG_BINARY"

const modulePath = "github.com/otelcol-msg/otelcol-msg"

// Binary returns the otelcol-msg to test: $OTELCOL_MSG_BINARY when set,
// otherwise one compiled from cmd/otelcol-msg into outDir, so the end-to-end
// tests run (never skip) without `make build`.
func Binary(ctx context.Context, outDir string) (string, error) {
	if path := os.Getenv(BinaryEnv); path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", fmt.Errorf("%s=%q: %w", BinaryEnv, path, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("%s=%q: %w (run `make build`)", BinaryEnv, path, err)
		}
		return abs, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	root, err := ModuleRoot(wd)
	if err != nil {
		return "", err
	}
	return BuildBinary(ctx, root, outDir)
}

// BuildBinary compiles the committed ocb output of root/cmd/otelcol-msg, as
// ocb itself does (static, no cgo), and returns the binary's path. It builds a
// copy in outDir whose go.mod points at root and may be completed there
// (-mod=mod): the work tree's files are never touched, and a go.mod that lags
// behind a dependency just added to the root module does not stop the tests.
func BuildBinary(ctx context.Context, root, outDir string) (string, error) {
	dist := filepath.Join(root, "cmd", "otelcol-msg")
	src := filepath.Join(outDir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", fmt.Errorf("build otelcol-msg: %w", err)
	}
	entries, err := os.ReadDir(dist)
	if err != nil {
		return "", fmt.Errorf("build otelcol-msg: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			return "", fmt.Errorf("build otelcol-msg: %w", err)
		}
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			return "", fmt.Errorf("build otelcol-msg: %w", err)
		}
	}
	out := filepath.Join(outDir, "otelcol-msg")
	steps := [][]string{
		{"go", "mod", "edit", "-replace=" + modulePath + "@v0.0.0=" + root},
		{"go", "build", "-mod=mod", "-trimpath", "-o", out, "."},
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("build otelcol-msg (%s): %w\n%s(or run `make build` and set %s)",
				strings.Join(args, " "), err, stderr.String(), BinaryEnv)
		}
	}
	return out, nil
}

// ModuleRoot walks up from dir to the root of the otelcol-msg module.
func ModuleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if isModuleRoot(filepath.Join(d, "go.mod")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of module %s above %s", modulePath, dir)
		}
	}
}

func isModuleRoot(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == modulePath
		}
	}
	return false
}
