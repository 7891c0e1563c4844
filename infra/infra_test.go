package infra

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
