package store

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
)

// cutProxy forwards TCP connections to a Redis on loopback. Armed, it cuts
// the first connection that sends an XADD, right after Redis has applied
// it and before its answer gets back: the case where the caller cannot know
// whether the command was queued. (It matches bytes, not RESP: fine for
// the one small pipeline it is armed for.)
type cutProxy struct {
	ln      net.Listener
	target  string
	applied func() bool // reports that the XADD has reached Redis
	armed   atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
}

func newCutProxy(t *testing.T, target string, applied func() bool) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, applied: applied}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		var cut atomic.Bool // the answers of this connection are dropped
		go p.answer(c, up, &cut)
		go p.forward(c, up, &cut)
	}
}

// forward copies what the client sends; the armed XADD cuts the connection
// once Redis has applied it.
func (p *cutProxy) forward(c, up net.Conn, cut *atomic.Bool) {
	defer up.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			xadd := bytes.Contains(chunk, []byte("XADD")) && p.armed.CompareAndSwap(true, false)
			if xadd {
				cut.Store(true) // before Redis can answer
				// Only the XADD gets through: a BLPOP on a connection that
				// is gone could still take the answer (miniredis hands it
				// to the dead client; Redis would until it notices).
				if i := bytes.Index(chunk, []byte("*3\r\n$5\r\nBLPOP")); i > 0 {
					chunk = chunk[:i]
				}
			}
			if _, werr := up.Write(chunk); werr != nil {
				return
			}
			if xadd {
				for !p.applied() {
					time.Sleep(time.Millisecond)
				}
				c.Close()
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// answer copies what Redis answers, until the connection is cut.
func (p *cutProxy) answer(c, up net.Conn, cut *atomic.Bool) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := up.Read(buf)
		if cut.Load() {
			return
		}
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// close stops accepting and cuts every connection.
func (p *cutProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// A connection cut after the XADD reached Redis: the client must not send
// it again (the command would be queued twice), and Submit, not knowing,
// waits for the result, which comes.
func TestSubmitConnectionCutAfterXAdd(t *testing.T) {
	emb, err := NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	e := &testEnv{url: emb.URL(), acct: testAccount(t)}
	e.db = e.open(t, Options{})
	serve(t, e.db, e.acct, "c1")

	proxy := newCutProxy(t, emb.m.Addr(), func() bool {
		n, _ := e.rdb().XLen(t.Context(), commandsKey(e.acct)).Result()
		return n > 0
	})
	relay := (&testEnv{url: "redis://" + proxy.addr()}).open(t, Options{})
	proxy.armed.Store(true)
	cmd := waited(10 * time.Second)
	res, err := relay.Submit(t.Context(), e.acct, cmd)
	if err != nil || resultID(t, res) != cmd.ID {
		t.Fatalf("Submit through a cut connection = %+v, %v; want the result", res, err)
	}
	if proxy.armed.Load() {
		t.Fatal("the connection was never cut")
	}
	if n := streamLen(t, e); n != 1 {
		t.Errorf("%d entries, want the command queued once", n)
	}

	// Redis out of reach: the XADD surely never went out, so Submit says
	// so at once instead of waiting for an outcome.
	proxy.close()
	_, err = relay.Submit(t.Context(), e.acct, waited(10*time.Second))
	if err == nil || errors.Is(err, openqq.ErrOutcomeUnknown) || errors.Is(err, openqq.ErrTimeout) {
		t.Errorf("Submit with Redis out of reach = %v, want the connection error", err)
	}
}
