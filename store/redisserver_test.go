package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redis-server processes started by tests (Cluster, TLS, benchmarks). They
// run in the foreground as children of the test and stop at cleanup.

// needRedisServer skips when redis-server is not installed, except in CI
// (CI=true), where it always is and a skip would hide a broken setup.
func needRedisServer(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("redis-server not on PATH in CI")
		}
		tb.Skip("redis-server not on PATH: install it to run this test")
	}
	return path
}

// freePort finds a loopback port that is free, and whose Cluster bus port
// (port + 10000) is free too.
func freePort(tb testing.TB) int {
	tb.Helper()
	for range 200 {
		p := 20000 + rand.IntN(20000)
		if free(p) && free(p+10000) {
			return p
		}
	}
	tb.Fatal("no free port pair")
	return 0
}

func free(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// startRedisServer runs redis-server on a free port with args added, and
// waits until ping answers on it (through ping, for TLS servers).
func startRedisServer(tb testing.TB, port int, ping func(ctx context.Context) error, args ...string) {
	tb.Helper()
	path := needRedisServer(tb)
	dir := tb.TempDir()
	args = append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"),
	}, args...)
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	if ping == nil {
		ping = func(ctx context.Context) error {
			c := redis.NewClient(&redis.Options{Addr: fmt.Sprint("127.0.0.1:", port), MaxRetries: -1})
			defer c.Close()
			return c.Ping(ctx).Err()
		}
	}
	for range 100 {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			tb.Fatalf("redis-server exited: %v\n%s", err, log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := ping(ctx)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("redis-server on port %d never answered", port)
}
