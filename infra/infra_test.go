package infra

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// root is the repository root: the parent of this package's directory.
var root = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd)
}()

// scratch is a directory shared by the tests of one run, for artefacts that
// cost a build (the openqq binary).
var scratch string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "openqq-infra-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scratch = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the process environment without the variables that select a
// Go target or build flags, so each build states them itself.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOARM64", "GOAMD64":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// directBuildArgs is the canonical build of the binary, as docs/deploy.md
// gives it; the Dockerfile and build-lambda.sh must produce the same bytes.
var directBuildArgs = []string{"build", "-trimpath", "-ldflags=-s -w"}

var (
	openqqOnce sync.Once
	openqqPath string
	openqqErr  error
)

// openqqBinary builds ./cmd/openqq once per run for the host, the canonical
// way, and returns its path.
func openqqBinary(tb testing.TB) string {
	tb.Helper()
	openqqOnce.Do(func() {
		openqqPath = filepath.Join(scratch, "openqq")
		args := append(append([]string{}, directBuildArgs...), "-o", openqqPath, "./cmd/openqq")
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		// The checkout has .git, the image context has not: stamp neither.
		cmd.Env = append(cleanEnv(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			openqqErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if openqqErr != nil {
		tb.Fatal(openqqErr)
	}
	return openqqPath
}

// run runs a command with a bounded time and returns its combined output.
func run(tb testing.TB, dir string, env []string, name string, args ...string) (string, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

func sha256File(tb testing.TB, path string) string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func readFile(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// knownVariables are the variables the deployment files may set: the
// binary's settings they use, plus a few of their own. A name outside this
// list in a deployment file is a typo the binary would silently ignore.
var knownVariables = map[string]bool{
	"OPENQQ_REDIS_URL":           true,
	"OPENQQ_ACCOUNT":             true,
	"OPENQQ_BACKEND":             true,
	"OPENQQ_SEND_INTERVAL":       true,
	"OPENQQ_LISTEN":              true,
	"OPENQQ_ADMIN_LISTEN":        true,
	"OPENQQ_API_TOKENS":          true,
	"OPENQQ_ALLOW_NO_AUTH":       true,
	"OPENQQ_CHECK_EVENT_TIMEOUT": true,
	"OPENQQ_POST_API":            true,
	"OPENQQ_WEBHOOK_SECRET":      true,
	"OPENQQ_POLL_API":            true,
	"OPENQQ_POLL_INTERVAL":       true,
	"OPENQQ_QQ_PASSWORD":         true,
	"OPENQQ_LOG_LEVEL":           true,
	"OPENQQ_SSM_PATH":            true, // docs/deploy.md, "Secrets from SSM"
	// Deployment files only.
	"OPENQQ_IMAGE":   true, // docker-compose.yml: the image to run
	"OPENQQ_PUBLISH": true, // docker-compose.yml: where the relay is published
	"REDIS_PASSWORD": true, // docker-compose.yml: Redis AUTH
	"AWS_REGION":     true, // EC2 user data: the region of the SSM parameters
}

// subcommands are the openqq subcommands a service may run.
var subcommands = map[string]bool{"up": true, "connector": true, "relay": true, "dispatch": true, "sandbox": true}

// envFileKeys returns the KEY of every KEY=VALUE line, commented out or not,
// of an environment file.
func envFileKeys(tb testing.TB, rel string) []string {
	tb.Helper()
	var keys []string
	for _, line := range strings.Split(string(readFile(tb, rel)), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		k, _, ok := strings.Cut(line, "=")
		if ok && k != "" && strings.ToUpper(k) == k && !strings.ContainsAny(k, " \t") {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestEnvExample(t *testing.T) {
	keys := envFileKeys(t, "infra/openqq.env.example")
	if len(keys) < 10 {
		t.Fatalf("openqq.env.example lists %d variables", len(keys))
	}
	for _, k := range keys {
		if !knownVariables[k] {
			t.Errorf("openqq.env.example: unknown variable %s", k)
		}
	}
}

// TestScriptsParse runs bash -n on every shell script of infra/.
func TestScriptsParse(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join(root, "infra", "*.sh"))
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts in infra/ (%v)", err)
	}
	for _, s := range scripts {
		if out, err := run(t, root, nil, "bash", "-n", s); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
		if fi, err := os.Stat(s); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
	}
}

func runtimeArch() string { return runtime.GOARCH }

func asExit(err error, target **exec.ExitError) bool { return errors.As(err, target) }
