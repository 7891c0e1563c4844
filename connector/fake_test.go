package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/openqq-relay/openqq"
)

// fakeServer is a small, honest stand-in for the QQ service, for the tests
// that need to steer what the protocol does (a send held in flight, a kick
// that fails, a forced offline). It keeps one session token: a client whose
// jar holds it is logged in; a QR login waits for the test to scan.
type fakeServer struct {
	mu       sync.Mutex
	session  string // the valid session token; "" when none
	tokens   int
	contacts openqq.Contacts
	sent     []openqq.Outgoing
	kicks    [][]openqq.ID
	mutes    []time.Duration
	logins   []bool // scanned flag of each successful login
	qrcodes  int
	pollers  map[*fakeClient]int // polls in progress per client
	kickErr  error
	holdSend chan struct{} // non-nil: each send waits for a receive (or close)
	nextMsg  int64

	scans chan struct{}        // each value completes one QR scan
	inbox chan pollResult      // what the next poll of the session returns
	fail  chan error           // an error the next poll returns
	sends chan openqq.Outgoing // every send, as it starts (buffered)
}

type pollResult struct{ msgs []openqq.Message }

func newFakeServer(c openqq.Contacts) *fakeServer {
	return &fakeServer{
		contacts: c,
		pollers:  map[*fakeClient]int{},
		scans:    make(chan struct{}, 16),
		inbox:    make(chan pollResult, 64),
		fail:     make(chan error, 4),
		sends:    make(chan openqq.Outgoing, 64),
		nextMsg:  1000,
	}
}

// Scan completes the pending (or next) QR scan.
func (s *fakeServer) Scan() { s.scans <- struct{}{} }

// Push delivers messages with the next poll.
func (s *fakeServer) Push(msgs ...openqq.Message) { s.inbox <- pollResult{msgs: msgs} }

// Expire ends the session: the next poll reports a lost login.
func (s *fakeServer) Expire() {
	s.mu.Lock()
	s.session = ""
	s.mu.Unlock()
}

// KickOff makes the next poll report a forced offline.
func (s *fakeServer) KickOff() {
	s.fail <- fmt.Errorf("fake: poll: kick_message: %w", openqq.ErrForcedOffline)
}

func (s *fakeServer) Sent() []openqq.Outgoing {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

func (s *fakeServer) Logins() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logins)
}

func (s *fakeServer) QRCodes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.qrcodes
}

// Polling reports whether c has a poll in progress.
func (s *fakeServer) Polling(c *fakeClient) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pollers[c] > 0
}

// Edit changes the contacts the next load returns.
func (s *fakeServer) Edit(f func(c *openqq.Contacts)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.contacts)
}

// cloneContacts is a deep copy through JSON, as a real load would give.
func cloneContacts(c openqq.Contacts) *openqq.Contacts {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	var out openqq.Contacts
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

// fakeClient is one connector's protocol client of a fakeServer: it holds a
// cookie jar ({"session": token}).
type fakeClient struct {
	s   *fakeServer
	mu  sync.Mutex
	jar string
}

func (s *fakeServer) Client() *fakeClient { return &fakeClient{s: s} }

type fakeJar struct {
	Session string `json:"session"`
}

func (c *fakeClient) ImportCookies(jar []byte) error {
	var j fakeJar
	if err := json.Unmarshal(jar, &j); err != nil {
		return fmt.Errorf("fake: import cookies: %w", err)
	}
	c.mu.Lock()
	c.jar = j.Session
	c.mu.Unlock()
	return nil
}

func (c *fakeClient) ExportCookies() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return json.Marshal(fakeJar{Session: c.jar})
}

func (c *fakeClient) token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jar
}

// loggedIn reports whether the client's jar holds the live session.
func (c *fakeClient) loggedIn() bool {
	t := c.token()
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return t != "" && t == c.s.session
}

func (c *fakeClient) Login(ctx context.Context, obs openqq.LoginObserver) (bool, error) {
	s := c.s
	if c.loggedIn() {
		s.mu.Lock()
		s.logins = append(s.logins, false)
		s.mu.Unlock()
		return false, nil
	}
	s.mu.Lock()
	s.qrcodes++
	png := []byte(fmt.Sprintf("\x89PNG fake qr code %d %s", s.qrcodes, string(make([]byte, 100))))
	s.mu.Unlock()
	obs.QRCode(png)
	obs.State(openqq.StateScaning)
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-s.scans:
	}
	obs.State(openqq.StateConfirming)
	s.mu.Lock()
	s.tokens++
	s.session = fmt.Sprintf("token-%d", s.tokens)
	tok := s.session
	s.logins = append(s.logins, true)
	s.mu.Unlock()
	c.mu.Lock()
	c.jar = tok
	c.mu.Unlock()
	jar, _ := c.ExportCookies()
	obs.CookiesChanged(jar)
	return true, nil
}

func (c *fakeClient) Logout(ctx context.Context) error {
	c.s.mu.Lock()
	if c.token() == c.s.session {
		c.s.session = ""
	}
	c.s.mu.Unlock()
	c.mu.Lock()
	c.jar = ""
	c.mu.Unlock()
	return nil
}

func (c *fakeClient) Contacts(ctx context.Context) (*openqq.Contacts, error) {
	if !c.loggedIn() {
		return nil, fmt.Errorf("fake: contacts: %w", openqq.ErrLoginRequired)
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return cloneContacts(c.s.contacts), nil
}

func (c *fakeClient) Poll(ctx context.Context) ([]openqq.Message, error) {
	s := c.s
	s.mu.Lock()
	s.pollers[c]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.pollers[c]--
		s.mu.Unlock()
	}()
	if !c.loggedIn() {
		select {
		case err := <-s.fail:
			return nil, err
		default:
		}
		return nil, fmt.Errorf("fake: poll: retcode 103: %w", openqq.ErrLoginRequired)
	}
	t := time.NewTimer(50 * time.Millisecond) // an idle long poll, shortened
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case err := <-s.fail:
		return nil, err
	case r := <-s.inbox:
		return r.msgs, nil
	case <-t.C:
		return nil, nil
	}
}

func (c *fakeClient) Send(ctx context.Context, out openqq.Outgoing) (*openqq.Message, error) {
	s := c.s
	s.sends <- out
	s.mu.Lock()
	hold := s.holdSend
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-hold:
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, out)
	s.nextMsg++
	m := &openqq.Message{
		Type: out.Type, Class: openqq.ClassSend, ID: openqq.ID(s.nextMsg), Time: openqq.Int(time.Now().Unix()),
		Content: out.Content, SenderID: s.contacts.User.ID, Sender: s.contacts.User.Name,
		From: out.From, TTL: 2, Source: openqq.SourceLocal,
		SendResult: openqq.SendResult{Code: 0, Msg: "发送成功", Info: "发送正常"},
	}
	switch out.Type {
	case openqq.FriendMessage, openqq.SessMessage:
		m.ReceiverID = out.TargetID
	case openqq.GroupMessage:
		m.GroupID = out.TargetID
	case openqq.DiscussMessage:
		m.DiscussID = out.TargetID
	}
	return m, nil
}

func (c *fakeClient) Kick(ctx context.Context, group openqq.ID, members []openqq.ID) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kickErr != nil {
		return s.kickErr
	}
	s.kicks = append(s.kicks, slices.Clone(members))
	if g := s.contacts.Group(group); g != nil {
		g.Members = slices.DeleteFunc(g.Members, func(m openqq.Member) bool { return slices.Contains(members, m.ID) })
	}
	return nil
}

func (c *fakeClient) Mute(ctx context.Context, group openqq.ID, members []openqq.ID, d time.Duration) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if d < time.Minute {
		return errors.New("fake: mute: under a minute")
	}
	s.mutes = append(s.mutes, d)
	return nil
}

func strp(s string) *string { return &s }

// testContacts is a small address book: two friends, two groups (the first
// with three members), one discussion.
func testContacts() openqq.Contacts {
	return openqq.Contacts{
		User: openqq.User{ID: 10, UID: 123456, Name: "我", Account: "123456"},
		Friends: []openqq.Friend{
			{ID: 101, UID: 9101, Name: "小灰", Markname: strp("灰灰"), Category: openqq.DefaultCategory, State: "online", ClientType: "web"},
			{ID: 102, UID: 9102, Name: "小白", Category: openqq.DefaultCategory, State: "offline", ClientType: "unknown"},
		},
		Groups: []openqq.Group{
			{ID: 201, UID: 8201, Code: 301, Name: "测试群", OwnerID: 10, Role: openqq.GroupRoleCreate, Members: []openqq.Member{
				{ID: 10, UID: 123456, Name: "我", State: "online"},
				{ID: 501, UID: 7501, Name: "甲", Card: strp("甲卡"), State: "online"},
				{ID: 502, UID: 7502, Name: "乙", State: "offline"},
			}},
			{ID: 202, UID: 8202, Code: 302, Name: "第二群", Members: []openqq.Member{
				{ID: 10, UID: 123456, Name: "我"},
				{ID: 503, UID: 7503, Name: "丙"},
			}},
		},
		Discusses: []openqq.Discuss{
			{ID: 401, Name: "讨论组", OwnerID: 10, Members: []openqq.DiscussMember{
				{ID: 10, UID: 123456, Name: "我"},
				{ID: 601, UID: 7601, Name: "丁"},
			}},
		},
	}
}
