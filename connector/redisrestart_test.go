package connector_test

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/connector"
)

// redisServer is a redis-server of the test's own, with AOF, that the test
// can stop and start again on the same port and data directory.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startRedisServer(t *testing.T) *redisServer {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (CI installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &redisServer{t: t, port: port, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", fmt.Sprint(s.port), "--bind", "127.0.0.1",
		"--dir", s.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--logfile", filepath.Join(s.dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	waitFor(s.t, "redis-server to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// stop shuts the server down cleanly (SIGTERM: the AOF is complete).
func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// The connector outlives a restart of its redis-server: it reconnects, keeps
// the QQ session (no new QR code), writes the messages received meanwhile,
// and runs a command queued before the restart exactly once.
func TestRedisServerRestart(t *testing.T) {
	rs := startRedisServer(t)
	e := newEnv(t)
	e.url, e.db = rs.url(), openDB(t, rs.url())
	reg := prometheus.NewRegistry()
	e.startRunning(func(o *connector.Options) { o.LeaseTTL = 10 * time.Second; o.Registry = reg })

	for i := 1; i <= 3; i++ {
		e.srv.Push(openqq.Message{Type: openqq.FriendMessage, Class: openqq.ClassRecv, ID: openqq.ID(i), SenderID: 101})
	}
	waitFor(t, "the first messages", func() bool { return len(messageIDs(e.posts())) == 3 })
	if err := e.db.Enqueue(t.Context(), e.acct, &openqq.Command{API: openqq.APISendFriendMessage,
		Params: map[string]string{"id": "101", "content": "queued"}, Deadline: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}

	rs.stop()
	for i := 4; i <= 6; i++ {
		e.srv.Push(openqq.Message{Type: openqq.FriendMessage, Class: openqq.ClassRecv, ID: openqq.ID(i), SenderID: 101})
	}
	waitFor(t, "the messages to be polled", func() bool { return len(e.srv.inbox) == 0 })
	waitFor(t, "the connector to notice the outage", func() bool {
		return metricValue(t, reg, "openqq_connector_redis_errors_total") > 0
	})
	rs.start()

	waitFor(t, "every message written", func() bool {
		posts, err := e.db.ReadEvents(t.Context(), e.acct, "0", 10_000, 0)
		return err == nil && len(posts) > 0 && len(messageIDs(e.posts())) >= 6
	})
	if got := messageIDs(e.posts()); !reflect.DeepEqual(got, []openqq.ID{1, 2, 3, 4, 5, 6}) {
		t.Errorf("messages = %v, want 1…6 once each", got)
	}
	if code, _ := e.submit(openqq.APISendFriendMessage, map[string]string{"id": "102", "content": "after"}); code != 0 {
		t.Errorf("send after the restart = %d", code)
	}
	var queued int
	for _, o := range e.srv.Sent() {
		if o.Content == "queued" {
			queued++
		}
	}
	if queued != 1 {
		t.Errorf("the command queued before the restart ran %d times, want 1", queued)
	}
	if n := e.srv.QRCodes(); n != 1 {
		t.Errorf("%d QR codes, want 1", n)
	}
	if st := e.state(); st.State != openqq.StateRunning {
		t.Errorf("state = %s", st.State)
	}
}

// metricValue sums the samples of one metric family.
func metricValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}
