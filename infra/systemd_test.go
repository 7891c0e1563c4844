package infra

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// unitFile is a systemd unit: section → key → values, in order (a key may
// repeat, as EnvironmentFile= and SystemCallFilter= do).
type unitFile map[string]map[string][]string

// parseUnit reads the INI dialect of systemd.syntax(7): comments start with
// # or ;, a trailing backslash continues a line, keys repeat.
func parseUnit(src []byte) (unitFile, error) {
	u := unitFile{}
	var section, pending string
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending != "" {
			line = pending + " " + line
			pending = ""
		}
		if strings.HasSuffix(line, `\`) {
			pending = strings.TrimSuffix(line, `\`)
			continue
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", n, line)
			}
			section = line[1 : len(line)-1]
			if u[section] != nil {
				return nil, fmt.Errorf("line %d: section [%s] twice", n, section)
			}
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, fmt.Errorf("line %d: %q is not key=value in a section", n, line)
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	if pending != "" {
		return nil, fmt.Errorf("file ends in a continuation")
	}
	return u, sc.Err()
}

// value returns the last value of a key: systemd keeps the last one for
// single-valued settings.
func (u unitFile) value(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

var units = map[string]string{
	"openqq-connector.service": "connector",
	"openqq-relay.service":     "relay",
	"openqq-dispatch.service":  "dispatch",
}

// required settings of every unit: restart, stop and hardening.
var unitRequired = map[string]map[string]string{
	"Unit": {"Wants": "network-online.target", "StartLimitIntervalSec": "0"},
	"Service": {
		"Restart":                 "always",
		"KillSignal":              "SIGTERM",
		"TimeoutStopSec":          "30s",
		"DynamicUser":             "yes",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
		"RestrictNamespaces":      "yes",
		"RestrictSUIDSGID":        "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"CapabilityBoundingSet":   "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"SystemCallArchitectures": "native",
	},
	"Install": {"WantedBy": "multi-user.target"},
}

func TestSystemdUnits(t *testing.T) {
	for file, sub := range units {
		t.Run(file, func(t *testing.T) {
			u, err := parseUnit(readFile(t, filepath.Join("infra", "systemd", file)))
			if err != nil {
				t.Fatal(err)
			}
			if u.value("Unit", "Description") == "" {
				t.Error("no Description")
			}
			if !strings.Contains(u.value("Unit", "After"), "network-online.target") {
				t.Error("must start after network-online.target")
			}
			if got := u.value("Service", "ExecStart"); got != "/usr/local/bin/openqq "+sub {
				t.Errorf("ExecStart=%s, want /usr/local/bin/openqq %s", got, sub)
			}
			envFiles := u["Service"]["EnvironmentFile"]
			if len(envFiles) == 0 || envFiles[0] != "/etc/openqq/openqq.env" {
				t.Errorf("EnvironmentFile=%q must read /etc/openqq/openqq.env first", envFiles)
			}
			for section, keys := range unitRequired {
				for k, want := range keys {
					if _, ok := u[section][k]; !ok {
						t.Errorf("[%s] %s= missing", section, k)
					} else if got := u.value(section, k); got != want {
						t.Errorf("[%s] %s=%s, want %q", section, k, got, want)
					}
				}
			}
			if u.value("Service", "User") == "root" {
				t.Error("runs as root")
			}
			for _, kv := range u["Service"]["Environment"] {
				k, v, _ := strings.Cut(kv, "=")
				if !knownVariables[k] {
					t.Errorf("Environment=%s: unknown variable", kv)
				}
				if strings.HasSuffix(k, "LISTEN") && !strings.HasPrefix(v, "127.0.0.1:") {
					t.Errorf("%s defaults to %s, want loopback", k, v)
				}
			}
		})
	}
}

func TestParseUnitRejects(t *testing.T) {
	for _, bad := range []string{"[Service\nA=b\n", "A=b\n", "[Unit]\nnot a setting\n", "[Unit]\n[Unit]\n", "[Unit]\nA=b \\\n"} {
		if _, err := parseUnit([]byte(bad)); err == nil {
			t.Errorf("parseUnit(%q) accepted", bad)
		}
	}
}

// TestSystemdAnalyze asks systemd itself, where it is installed: verify
// reports unknown or malformed settings, security --offline rates the
// sandboxing (0 = fully locked down, 10 = none; 2 is rated "OK").
func TestSystemdAnalyze(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	// A root with the host's unit library, the units and a stand-in binary
	// (verify checks ExecStart points at an executable).
	fake := t.TempDir()
	lib := "/usr/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(lib, "sysinit.target")); err != nil {
		t.Skipf("no systemd unit library in %s", lib)
	}
	if err := os.MkdirAll(filepath.Join(fake, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "", nil, "cp", "-r", lib, filepath.Join(fake, "usr/lib/systemd")+"/"); err != nil {
		t.Fatalf("copy unit library: %v\n%s", err, out)
	}
	for _, dir := range []string{"etc/systemd/system", "usr/local/bin"} {
		if err := os.MkdirAll(filepath.Join(fake, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(fake, "usr/local/bin/openqq"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for file := range units {
		if err := os.WriteFile(filepath.Join(fake, "etc/systemd/system", file), readFile(t, filepath.Join("infra", "systemd", file)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for file := range units {
		out, err := run(t, "", nil, bin, "verify", "--root="+fake, file)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze verify %s: %v\n%s", file, err, out)
		}
		out, err = run(t, "", nil, bin, "security", "--offline=yes", "--threshold=20", "--root="+fake, file)
		if err != nil {
			t.Errorf("systemd-analyze security %s: exposure above 2.0 (%v)\n%s", file, err, lastLines(out, 3))
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
