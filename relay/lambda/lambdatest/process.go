package lambdatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// StopGrace is how long Stop waits after the interrupt before it kills.
const StopGrace = 5 * time.Second

// outputTail is how much of a process's output a Runtime.ExitError keeps.
const outputTail = 4 << 10

// BuildBinary builds the main package pkg (an import path, or a path
// relative to the test's directory) with the given build tags into
// tb.TempDir() and returns the binary's path. Build once per test binary
// (e.g. with Build from TestMain or a sync.Once) when several tests need it.
func BuildBinary(tb testing.TB, pkg string, tags ...string) string {
	tb.Helper()
	path, err := Build(tb.Context(), tb.TempDir(), pkg, tags...)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// Build builds the main package pkg with the given build tags into dir as
// "bootstrap", the name Lambda's OS-only runtimes run, and returns its path.
func Build(ctx context.Context, dir, pkg string, tags ...string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	args := []string{"build", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lambdatest: go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// Process is a function binary running against a Runtime.
type Process struct {
	cmd  *exec.Cmd
	out  *logWriter
	done chan struct{} // closed when the process has been waited for
	err  error         // Wait's result; read after done

	stopOnce sync.Once
	stopErr  error
}

// StartBinary starts the function binary at path with the environment Lambda
// gives a function: AWS_LAMBDA_RUNTIME_API=r.Addr(), the AWS_LAMBDA_* and
// AWS_REGION variables and PATH, then env ("KEY=value", later entries win).
// Nothing else is inherited from the test's environment. Its output goes to
// the test log. It is stopped when the test ends; start the next process
// after the previous one has exited.
func (r *Runtime) StartBinary(path string, env ...string) *Process {
	r.tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil && !r.proc.Exited() {
		r.tb.Fatalf("lambdatest: start %s: a process is already running on this runtime", path)
	}
	p := &Process{out: &logWriter{tb: r.tb, name: filepath.Base(path)}, done: make(chan struct{})}
	p.cmd = exec.Command(path)
	p.cmd.Env = append(lambdaEnv(r.Addr()), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.WaitDelay = StopGrace // bounds Wait if a child keeps the output open
	if err := p.cmd.Start(); err != nil {
		r.tb.Fatalf("lambdatest: start %s: %v", path, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.out.flush()
		close(p.done)
	}()
	// A new process is a new init phase.
	r.proc, r.initErr, r.initCh = p, nil, make(chan struct{})
	r.tb.Cleanup(func() {
		if err := p.Stop(); err != nil {
			r.tb.Logf("lambdatest: %v", err)
		}
	})
	return p
}

func lambdaEnv(addr string) []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + addr,
		"AWS_LAMBDA_FUNCTION_NAME=lambdatest",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/lambdatest",
		"AWS_LAMBDA_LOG_STREAM_NAME=lambdatest",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"TZ=:UTC",
		"PATH=" + os.Getenv("PATH"),
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Output returns what the process wrote to stdout and stderr so far (the
// last few KiB).
func (p *Process) Output() string { return string(p.outputTail()) }

// Stop interrupts the process, kills it if it is still running StopGrace
// later, and waits for it. It returns nil when the process ended on the
// interrupt or had exited with status 0, else an error saying how it ended.
// Calls after the first return the first result.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() { p.stopErr = p.stop() })
	return p.stopErr
}

func (p *Process) stop() error {
	if p.Exited() {
		if p.err != nil {
			return fmt.Errorf("process %s had exited: %w", p.cmd.Path, p.err)
		}
		return nil
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.cmd.Process.Kill()
	}
	grace := time.NewTimer(StopGrace)
	defer grace.Stop()
	select {
	case <-p.done:
		return nil
	case <-grace.C:
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("process %s ignored the interrupt for %v and was killed", p.cmd.Path, StopGrace)
	}
}

// exitStatus says how the process ended, as Lambda's Runtime.ExitError does.
func (p *Process) exitStatus() string {
	if p == nil || !p.Exited() {
		return "no process"
	}
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

func (p *Process) outputTail() []byte {
	if p == nil {
		return nil
	}
	return p.out.tail()
}

// logWriter sends a process's output to the test log line by line and
// keeps its tail for error reports.
type logWriter struct {
	tb   testing.TB
	name string

	mu      sync.Mutex // guards partial and last
	partial []byte     // an unfinished line
	last    []byte     // the last outputTail bytes
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = append(w.last, b...)
	if len(w.last) > outputTail {
		w.last = w.last[len(w.last)-outputTail:]
	}
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.tb.Logf("%s: %s", w.name, w.partial[:i])
		w.partial = w.partial[i+1:]
	}
}

// flush logs an unfinished last line.
func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.tb.Logf("%s: %s", w.name, w.partial)
		w.partial = nil
	}
}

func (w *logWriter) tail() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.last)
}
