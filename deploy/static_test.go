package deploy_test

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"testing"
)

// staticProblems lists why path is not a static binary built like the
// image's: an ELF interpreter (PT_INTERP), shared libraries (DT_NEEDED),
// or cgo.
func staticProblems(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var problems []string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			problems = append(problems, "has an ELF interpreter (PT_INTERP)")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("%s: DT_NEEDED: %w", path, err)
	}
	if len(libs) > 0 {
		problems = append(problems, fmt.Sprintf("needs shared libraries %v (DT_NEEDED)", libs))
	}
	if bi, err := buildinfo.ReadFile(path); err == nil {
		for _, s := range bi.Settings {
			if s.Key == "CGO_ENABLED" && s.Value != "0" {
				problems = append(problems, "built with CGO_ENABLED="+s.Value)
			}
		}
	}
	return problems, nil
}

// The binaries the image copies into scratch must run without a libc.
func TestImageBinariesAreStatic(t *testing.T) {
	healthcheck, err := goBuild(".", "./healthcheck", "healthcheck")
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"otelcol-msg": collectorBinary(t), "healthcheck": healthcheck} {
		problems, err := staticProblems(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, p := range problems {
			t.Errorf("%s (%s) %s", name, path, p)
		}
		bi, err := buildinfo.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
			t.Errorf("%s built with CGO_ENABLED=%q -trimpath=%q, want 0 and true", name, settings["CGO_ENABLED"], settings["-trimpath"])
		}
	}
}

// The check itself must catch a dynamically linked program.
func TestStaticCheckCatchesDynamicBinary(t *testing.T) {
	const dynamic = "/bin/sh"
	if _, err := os.Stat(dynamic); err != nil {
		t.Skipf("no %s to check against: %v", dynamic, err)
	}
	problems, err := staticProblems(dynamic)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) == 0 {
		t.Fatalf("%s passed the static check", dynamic)
	}
}
