package main

// What every test file of the command shares: the one TestMain, waiting
// for conditions, free loopback ports, and the built binary with the
// processes that run it.

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openqq-relay/openqq/store"
)

// Binaries built once per test binary live in directories that outlive any
// single test; TestMain removes them at the end.
var (
	tempDirsMu sync.Mutex
	tempDirs   []string
)

func removeAfterTests(dir string) {
	tempDirsMu.Lock()
	defer tempDirsMu.Unlock()
	tempDirs = append(tempDirs, dir)
}

func TestMain(m *testing.M) {
	code := m.Run()
	tempDirsMu.Lock()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	tempDirsMu.Unlock()
	os.Exit(code)
}

// waitBound is how long a test waits for a condition before it fails.
const waitBound = 60 * time.Second

// eventually polls cond until it holds, failing the test after waitBound.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// dropAccountAtEnd deletes the account from the Redis at url when the test
// ends, so that a shared server keeps no test's keys (and check_client of
// another test does not list it). Register it before whatever writes the
// account: cleanups run in reverse.
func dropAccountAtEnd(t testing.TB, url, acct string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if db, err := store.Open(ctx, store.Options{URL: url}); err == nil {
			db.DeleteAccount(ctx, acct)
			db.Close()
		}
	})
}

// binary builds the openqq binary once per test binary.
var binary struct {
	sync.Once
	path string
	err  error
	out  []byte
}

// openqqBinary is the openqq binary, built once for every test that runs
// it: as `openqq up`, `openqq connector` or a Lambda bootstrap (hence the
// lambda.norpc tag of the Lambda package), with -race when the tests run
// with it, which also reuses the packages they were built from.
func openqqBinary(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	binary.Do(func() {
		dir, err := os.MkdirTemp("", "openqq-bin-")
		if err != nil {
			binary.err = err
			return
		}
		removeAfterTests(dir)
		binary.path = filepath.Join(dir, "openqq")
		args := []string{"build", "-tags", "lambda.norpc", "-o", binary.path}
		if raceEnabled() {
			args = append(args, "-race")
		}
		binary.out, binary.err = exec.Command(goTool, append(args, ".")...).CombinedOutput()
	})
	if binary.err != nil {
		t.Fatalf("go build: %v\n%s", binary.err, binary.out)
	}
	return binary.path
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// proc is one run of the binary.
type proc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer // stdout and stderr
	done chan struct{}
	err  error // the exit, once done is closed
}

// startProc runs the binary with exactly env and args; it is killed when
// the test ends, and its output is logged if the test failed.
func startProc(t testing.TB, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("output of %s:\n%s", strings.Join(args, " "), p.out)
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// inheritedEnv is the process environment minus OPENQQ_* settings, plus
// vars.
func inheritedEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENQQ_") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// lockedBuffer is a bytes.Buffer that several goroutines may write and
// read.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
