package deploy_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, COPY, RUN, ...
	args string
	line int
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out     []instruction
		pending strings.Builder
		start   int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue // comments may sit between continuation lines too
		}
		if pending.Len() == 0 {
			start = n
		}
		if body, cont := strings.CutSuffix(line, `\`); cont {
			pending.WriteString(body + " ")
			continue
		}
		pending.WriteString(line)
		cmd, args, _ := strings.Cut(pending.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		pending.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if pending.Len() > 0 {
		t.Fatal("Dockerfile ends in a continuation line")
	}
	return out
}

// dockerStage is one FROM ... AS name block of the Dockerfile.
type dockerStage struct {
	name, base string
	args       map[string]string // ARG defaults, global ones included
	body       []instruction
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

func expandArgs(s string, args map[string]string) string {
	return argRef.ReplaceAllStringFunc(s, func(ref string) string {
		return args[argRef.FindStringSubmatch(ref)[1]]
	})
}

func dockerStages(t *testing.T) []dockerStage {
	t.Helper()
	global := map[string]string{}
	var stages []dockerStage
	for _, in := range readDockerfile(t) {
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			st := dockerStage{base: expandArgs(f[0], global), args: map[string]string{}}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		case in.cmd == "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			if len(stages) == 0 {
				global[name] = def
			} else {
				stages[len(stages)-1].args[name] = def
			}
			if len(stages) > 0 {
				stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
			}
		case len(stages) == 0:
			t.Fatalf("Dockerfile line %d: %s before FROM", in.line, in.cmd)
		default:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	if len(stages) == 0 {
		t.Fatal("Dockerfile has no FROM")
	}
	return stages
}

// copyArgs splits COPY's arguments into flags, sources and destination.
func copyArgs(t *testing.T, in instruction) (flags map[string]string, srcs []string, dest string) {
	t.Helper()
	f := strings.Fields(in.args)
	flags = map[string]string{}
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
		flags[k] = v
		f = f[1:]
	}
	if len(f) < 2 {
		t.Fatalf("Dockerfile line %d: COPY %s", in.line, in.args)
	}
	return flags, f[:len(f)-1], f[len(f)-1]
}

func dockerfileCopyTargets(t *testing.T) []string {
	t.Helper()
	stages := dockerStages(t)
	var out []string
	for _, in := range stages[len(stages)-1].body {
		if in.cmd == "COPY" {
			_, _, dest := copyArgs(t, in)
			out = append(out, dest)
		}
	}
	return out
}

func execForm(t *testing.T, in instruction, s string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("Dockerfile line %d: %s %s: want exec (JSON) form: %v", in.line, in.cmd, s, err)
	}
	return v
}

// dockerignored reports whether the Dockerfile's ignore file excludes p
// (a slash path relative to the build context) or one of its parents.
func dockerignored(t *testing.T, p string) bool {
	t.Helper()
	b, err := os.ReadFile(dockerfilePath + ".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	ignored := false
	for _, line := range strings.Split(string(b), "\n") {
		pat := strings.TrimSpace(line)
		if pat == "" || strings.HasPrefix(pat, "#") {
			continue
		}
		negate := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(pat, "!")
		for q := p; q != "." && q != "/"; q = path.Dir(q) {
			match, _ := path.Match(pat, q)
			if rest, ok := strings.CutPrefix(pat, "**/"); ok && !match {
				match, _ = path.Match(rest, path.Base(q))
				if !match {
					for s := q; strings.Contains(s, "/"); {
						_, s, _ = strings.Cut(s, "/")
						if m, _ := path.Match(rest, s); m {
							match = true
							break
						}
					}
				}
			}
			if match {
				ignored = !negate
				break
			}
		}
	}
	return ignored
}

func TestDockerfile(t *testing.T) {
	stages := dockerStages(t)
	build, final := stages[0], stages[len(stages)-1]

	t.Run("one base image, final stage scratch", func(t *testing.T) {
		if final.base != "scratch" {
			t.Errorf("final stage FROM %s, want scratch", final.base)
		}
		var pulled []string
		for _, st := range stages {
			if st.base != "scratch" && !slices.ContainsFunc(stages, func(o dockerStage) bool { return o.name == st.base }) {
				pulled = append(pulled, st.base)
			}
		}
		if len(pulled) != 1 || !strings.HasPrefix(pulled[0], "golang:") {
			t.Fatalf("base images pulled: %v, want one golang image", pulled)
		}
		// The Go image must be at least the go directive of go.mod.
		want := goDirective(t, filepath.Join(distDir, "go.mod"))
		if got := strings.TrimPrefix(pulled[0], "golang:"); compareVersions(got, want) < 0 {
			t.Errorf("build image Go %s is older than go.mod's go %s", got, want)
		}
	})

	t.Run("static build, as ocb builds", func(t *testing.T) {
		env := ""
		var builds []string
		for _, in := range build.body {
			switch in.cmd {
			case "ENV":
				env += " " + in.args
			case "RUN":
				for _, part := range strings.Split(in.args, "&&") {
					if strings.Contains(part, "go build") {
						builds = append(builds, strings.TrimSpace(part))
					}
				}
			}
		}
		if !regexp.MustCompile(`(^|\s)CGO_ENABLED=0(\s|$)`).MatchString(env) {
			t.Errorf("build stage ENV%s: want CGO_ENABLED=0", env)
		}
		if len(builds) != 2 {
			t.Fatalf("go build commands: %q, want the collector and /healthcheck", builds)
		}
		for _, b := range builds {
			for _, a := range ocbBuildArgs {
				if a == "OUT" {
					continue
				}
				if !strings.Contains(strings.ReplaceAll(b, `"`, ""), a) {
					t.Errorf("%q lacks %s (ocb's flags)", b, a)
				}
			}
		}
		if !strings.Contains(builds[1], "./deploy/healthcheck") {
			t.Errorf("%q does not build ./deploy/healthcheck", builds[1])
		}
		cfg := readYAML(t, builderConfig)
		if cgo, _ := dig(cfg, "dist", "cgo_enabled"); cgo != false {
			t.Errorf("builder-config.yaml dist::cgo_enabled = %v, want false like the image", cgo)
		}
	})

	t.Run("copies exist", func(t *testing.T) {
		produced := map[string]bool{}
		for _, in := range build.body {
			if in.cmd == "RUN" {
				for _, m := range regexp.MustCompile(`-o\s+(\S+)`).FindAllStringSubmatch(in.args, -1) {
					produced[m[1]] = true
				}
			}
		}
		for _, st := range stages {
			for _, in := range st.body {
				if in.cmd != "COPY" {
					continue
				}
				flags, srcs, _ := copyArgs(t, in)
				for _, src := range srcs {
					if from, ok := flags["from"]; ok {
						if from != build.name {
							t.Errorf("line %d: COPY --from=%s, not a stage", in.line, from)
						}
						if strings.HasPrefix(src, "/out/") && !produced[src] {
							t.Errorf("line %d: %s is not built by stage %s", in.line, src, from)
						}
						continue
					}
					matches, err := filepath.Glob(filepath.Join(repoRoot, filepath.FromSlash(src)))
					if err != nil || len(matches) == 0 {
						t.Errorf("line %d: COPY source %s does not exist", in.line, src)
						continue
					}
					if src != "." && dockerignored(t, path.Clean(src)) {
						t.Errorf("line %d: COPY source %s is excluded by Dockerfile.dockerignore", in.line, src)
					}
				}
			}
		}
		// What the build compiles must reach the context.
		for _, p := range []string{"go.mod", "cmd/otelcol-msg/main.go", "deploy/healthcheck/main.go", "msgtracereceiver/factory.go"} {
			if dockerignored(t, p) {
				t.Errorf("%s is excluded by Dockerfile.dockerignore", p)
			}
		}
		if !dockerignored(t, "cmd/otelcol-msg/otelcol-msg") {
			t.Error("the local binary is not excluded from the build context")
		}
	})

	t.Run("runtime", func(t *testing.T) {
		var (
			entrypoint, cmd, health []string
			user                    string
			exposed                 []int
			labels                  = map[string]string{}
		)
		cfgSrc := ""
		for _, in := range final.body {
			switch in.cmd {
			case "ENTRYPOINT":
				entrypoint = execForm(t, in, in.args)
			case "CMD":
				cmd = execForm(t, in, in.args)
			case "HEALTHCHECK":
				_, c, ok := strings.Cut(in.args, "CMD ")
				if !ok {
					t.Fatalf("line %d: HEALTHCHECK without CMD", in.line)
				}
				health = execForm(t, in, strings.TrimSpace(c))
			case "USER":
				user = expandArgs(in.args, final.args)
			case "EXPOSE":
				for _, p := range strings.Fields(in.args) {
					n, err := strconv.Atoi(p)
					if err != nil {
						t.Fatalf("line %d: EXPOSE %s", in.line, p)
					}
					exposed = append(exposed, n)
				}
			case "LABEL":
				for _, m := range regexp.MustCompile(`(\S+?)="([^"]*)"`).FindAllStringSubmatch(in.args, -1) {
					labels[m[1]] = expandArgs(m[2], final.args)
				}
			case "COPY":
				_, srcs, dest := copyArgs(t, in)
				if dest == "/etc/otelcol-msg/config.yaml" {
					cfgSrc = filepath.Join(repoRoot, filepath.FromSlash(srcs[0]))
				}
			}
		}
		if !slices.Equal(entrypoint, []string{"/otelcol-msg"}) {
			t.Errorf("ENTRYPOINT %q", entrypoint)
		}
		if !slices.Equal(cmd, []string{"--config", "/etc/otelcol-msg/config.yaml"}) {
			t.Errorf("CMD %q", cmd)
		}
		if user != "10001:10001" {
			t.Errorf("USER %q, want 10001:10001", user)
		}
		for _, target := range []string{"/otelcol-msg", "/healthcheck", "/etc/ssl/certs/ca-certificates.crt"} {
			if !slices.Contains(dockerfileCopyTargets(t), target) {
				t.Errorf("the image has no %s", target)
			}
		}
		if cfgSrc == "" {
			t.Fatal("nothing is copied to /etc/otelcol-msg/config.yaml")
		}
		if !samePath(t, cfgSrc, defaultConfig) {
			t.Errorf("default config is %s, want %s (validated by TestCollectorConfigsValidate)", cfgSrc, defaultConfig)
		}
		listen := collectorListenPorts(t, readYAML(t, cfgSrc))
		slices.Sort(exposed)
		if !slices.Equal(exposed, []int{4317, 4318, 13133}) {
			t.Errorf("EXPOSE %v, want 4317 4318 13133", exposed)
		}
		for _, p := range exposed {
			if _, ok := listen[p]; !ok {
				t.Errorf("EXPOSE %d, but the default config does not listen on it (%v)", p, listen)
			}
		}
		if len(health) < 3 || health[0] != "/healthcheck" {
			t.Fatalf("HEALTHCHECK CMD %q, want /healthcheck -url ...", health)
		}
		if p := port(t, mustFlag(t, health, "url")); listen[p] != "health_check" {
			t.Errorf("HEALTHCHECK probes port %d; health_check is not there (%v)", p, listen)
		}
		version := digString(t, readYAML(t, builderConfig), "dist", "version")
		for _, k := range []string{"title", "description", "version", "source"} {
			if labels["org.opencontainers.image."+k] == "" {
				t.Errorf("no LABEL org.opencontainers.image.%s", k)
			}
		}
		if got := labels["org.opencontainers.image.version"]; got != version {
			t.Errorf("image version label %q, builder-config.yaml dist::version %q", got, version)
		}
	})
}

func goDirective(t *testing.T, goMod string) string {
	t.Helper()
	b, err := os.ReadFile(goMod)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s has no go directive", goMod)
	}
	return string(m[1])
}

// compareVersions compares dotted numeric versions ("1.26.8"); a suffix
// such as "-bookworm" is ignored.
func compareVersions(a, b string) int {
	num := func(v string) []int {
		v, _, _ = strings.Cut(v, "-")
		var out []int
		for _, p := range strings.Split(v, ".") {
			n, _ := strconv.Atoi(p)
			out = append(out, n)
		}
		return out
	}
	return slices.Compare(num(a), num(b))
}

func samePath(t *testing.T, a, b string) bool {
	t.Helper()
	aa, err := filepath.Abs(a)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := filepath.Abs(b)
	if err != nil {
		t.Fatal(err)
	}
	return aa == ab
}
