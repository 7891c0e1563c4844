package infra

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server started from infra/redis.conf the way the
// deployment starts it: the file, then the password and the host overrides
// on the command line.
type redisServer struct {
	tb   testing.TB
	dir  string
	port int
	pass string
	cmd  *exec.Cmd
	done chan error
}

func startRedis(tb testing.TB, dir string, port int, pass string) *redisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server not installed (apt-get install redis-server)")
	}
	s := &redisServer{tb: tb, dir: dir, port: port, pass: pass, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, filepath.Join(root, "infra", "redis.conf"),
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--requirepass", pass, "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	tb.Cleanup(func() { s.stop() })
	c := s.client(pass)
	defer c.Close()
	for i := 0; ; i++ {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return s
		}
		select {
		case werr := <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			tb.Fatalf("redis-server exited: %v\n%s", werr, log)
		case <-time.After(50 * time.Millisecond):
		}
		if i == 200 {
			tb.Fatalf("redis-server on %d: %v", port, err)
		}
	}
}

func (s *redisServer) client(pass string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port), Password: pass, MaxRetries: -1})
}

// stop sends SIGTERM, as docker stop and systemctl stop do, and waits.
func (s *redisServer) stop() {
	if s.cmd.ProcessState != nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestRedisConf(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	s := startRedis(t, dir, port, "s3cret-for-tests")
	ctx := context.Background()
	c := s.client("s3cret-for-tests")
	defer c.Close()

	for key, want := range map[string]string{
		"appendonly":       "yes",
		"appendfsync":      "everysec",
		"maxmemory-policy": "noeviction",
		"protected-mode":   "yes",
	} {
		got, err := c.ConfigGet(ctx, key).Result()
		if err != nil || got[key] != want {
			t.Errorf("CONFIG GET %s = %v (%v), want %s", key, got, err, want)
		}
	}

	anon := s.client("")
	defer anon.Close()
	if err := anon.Get(ctx, "x").Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("a client without the password got %v, want NOAUTH", err)
	}

	// What the connector writes must survive a restart through the AOF.
	if err := c.Set(ctx, "openqq:{default}:cookies", `{"ptwebqq":"x"}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: "openqq:{default}:events", Values: []string{"k", "v"}}).Err(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.stop()
	if _, err := os.Stat(filepath.Join(dir, "appendonlydir")); err != nil {
		t.Fatalf("no append-only file: %v", err)
	}
	s2 := startRedis(t, dir, port, "s3cret-for-tests")
	c2 := s2.client("s3cret-for-tests")
	defer c2.Close()
	if v, err := c2.Get(ctx, "openqq:{default}:cookies").Result(); err != nil || v != `{"ptwebqq":"x"}` {
		t.Errorf("cookies after restart = %q, %v", v, err)
	}
	if n, err := c2.XLen(ctx, "openqq:{default}:events").Result(); err != nil || n != 1 {
		t.Errorf("events after restart = %d, %v", n, err)
	}

	// Full memory rejects writes instead of evicting the session.
	used, err := c2.MemoryUsage(ctx, "openqq:{default}:cookies").Result()
	if err != nil || used <= 0 {
		t.Fatalf("MEMORY USAGE: %d %v", used, err)
	}
	info, err := c2.InfoMap(ctx, "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	usedMemory, _ := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	if err := c2.ConfigSet(ctx, "maxmemory", strconv.FormatInt(usedMemory+512*1024, 10)).Err(); err != nil {
		t.Fatal(err)
	}
	var oom error
	for i := 0; i < 10000 && oom == nil; i++ {
		oom = c2.Set(ctx, fmt.Sprintf("filler:%d", i), strings.Repeat("x", 4096), 0).Err()
	}
	var rerr redis.Error
	if !errors.As(oom, &rerr) || !strings.HasPrefix(rerr.Error(), "OOM") {
		t.Errorf("writes past maxmemory returned %v, want an OOM error", oom)
	}
	if v, err := c2.Get(ctx, "openqq:{default}:cookies").Result(); err != nil || v == "" {
		t.Errorf("cookies evicted under memory pressure: %q %v", v, err)
	}
}
