package sandbox

import (
	"fmt"
	"net/http"
	"time"
)

// The d1.web2.qq.com channel: login2 (spec §15.4, §18.5), poll2 (§18) and
// change_status2.

func (s *Server) channelRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /channel/login2", s.login2)
	mux.HandleFunc("POST /channel/poll2", s.poll2)
	mux.HandleFunc("GET /channel/change_status2", s.changeStatus)
	mux.HandleFunc("GET /channel/get_online_buddies2", s.onlineBuddies)
	mux.HandleFunc("GET /channel/get_discu_info", s.discussInfo)
	mux.HandleFunc("POST /channel/get_recent_list2", s.recentList)
	mux.HandleFunc("GET /channel/get_c2cmsg_sig2", s.sessSig)
	mux.HandleFunc("POST /channel/send_buddy_msg2", s.sendBuddy)
	mux.HandleFunc("POST /channel/send_qun_msg2", s.sendQun)
	mux.HandleFunc("POST /channel/send_discu_msg2", s.sendDiscu)
	mux.HandleFunc("POST /channel/send_sess_msg2", s.sendSess)
}

// event is one poll2 result element.
type event struct {
	PollType string `json:"poll_type"`
	Value    any    `json:"value"`
}

// pollScript is a scripted answer of the next poll2: an HTTP status, or
// retcode 116 with a new ptwebqq, or 121.
type pollScript struct {
	status  int
	rc      int
	ptwebqq string
}

var statusCodes = map[string]int{
	"online": 10, "offline": 20, "away": 30, "hidden": 40, "busy": 50, "callme": 60, "silent": 70,
}

// channelCheckLocked validates a d1 call that names clientid and psessionid:
// 0 when it may go on, else the retcode to answer. Requests without the
// headers and cookies of the web client got 100001 (community reports,
// spec §15.4); a psessionid that is not the live session's got 103.
func (s *Server) channelCheckLocked(r *http.Request, clientid int64, psid string) int {
	switch {
	case !refererIs(r, refD1) || clientid != clientID:
		return 100001
	case s.sess == nil || psid != s.sess.psessionid:
		return 103
	case s.sess.dead != 0:
		return s.sess.dead
	case !s.cookiesOK(r):
		return 100001
	}
	return 0
}

// login2 opens the channel session, or re-links it when r has a key
// (spec §18.5). A new login ends the previous session (its polls get 103).
func (s *Server) login2(w http.ResponseWriter, r *http.Request) {
	if !refererIs(r, refD1) {
		retcode(w, 100001, "referer")
		return
	}
	m, err := formR(r)
	if err != nil {
		retcode(w, 100001, err.Error())
		return
	}
	cid, _ := intField(m, "clientid")
	status, _ := strField(m, "status", false)
	ptwebqq, _ := strField(m, "ptwebqq", true)
	psid, _ := strField(m, "psessionid", true)
	_, relink := m["key"]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case cid != clientID:
		retcode(w, 100001, "clientid")
		return
	case statusCodes[status] == 0:
		retcode(w, 100001, "status")
		return
	case !s.cookiesOK(r):
		retcode(w, 100001, "not logged in")
		return
	case ptwebqq != s.acct.ptwebqq:
		retcode(w, 100001, "ptwebqq")
		return
	}
	if relink {
		if s.sess == nil || s.sess.dead != 0 || psid != s.sess.psessionid {
			retcode(w, 103, "Check error")
			return
		}
		s.sess.psessionid, s.sess.relink, s.sess.status = s.newPsessionid(), false, status
		s.log.Info("session re-linked")
	} else {
		if s.sess != nil && s.sess.dead == 0 {
			s.sess.dead = 103
		}
		s.sess = &session{psessionid: s.newPsessionid(), status: status, sigs: map[string]sessSig{}}
		s.log.Info("session opened", "status", status)
	}
	s.notifyLocked()
	writeJSON(w, map[string]any{"retcode": 0, "result": map[string]any{
		"cip": 23600812, "f": 0, "index": 1075, "port": 47450, "psessionid": s.sess.psessionid,
		"status": status, "uin": s.m.self.uid, "user_state": 0, "vfwebqq": s.acct.vfwebqq,
	}})
}

// changeStatus sets the account's online state.
func (s *Server) changeStatus(w http.ResponseWriter, r *http.Request) {
	cid, _ := queryInt(r, "clientid")
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc := s.channelCheckLocked(r, cid, r.FormValue("psessionid")); rc != 0 {
		retcode(w, rc, "")
		return
	}
	st := r.FormValue("newstatus")
	if statusCodes[st] == 0 {
		retcode(w, 100001, "newstatus")
		return
	}
	s.sess.status = st
	writeJSON(w, map[string]any{"retcode": 0, "result": "ok"})
}

type pollAnswer struct {
	status int // HTTP status when not 200
	body   any
}

// poll2 is the long poll: scripted faults first, then queued events, else
// it holds for PollHold and answers 102. One poll per session: a newer one
// makes the held one answer 102 at once.
func (s *Server) poll2(w http.ResponseWriter, r *http.Request) {
	if !refererIs(r, refD1) {
		retcode(w, 100001, "referer")
		return
	}
	m, err := formR(r)
	if err != nil {
		retcode(w, 100001, err.Error())
		return
	}
	cid, _ := intField(m, "clientid")
	psid, _ := strField(m, "psessionid", false)
	ptwebqq, _ := strField(m, "ptwebqq", true)

	s.mu.Lock()
	if rc := s.channelCheckLocked(r, cid, psid); rc != 0 {
		s.mu.Unlock()
		retcode(w, rc, "")
		return
	}
	sess := s.sess
	sess.pollSeq++
	mine := sess.pollSeq
	s.notifyLocked()
	timer := time.NewTimer(s.opts.PollHold)
	defer timer.Stop()
	held := false // counted in s.held while waiting
	defer func() {
		if held {
			s.mu.Lock()
			s.held--
			s.mu.Unlock()
		}
	}()
	for {
		if a, ok := s.pollAnswerLocked(sess, mine, psid, ptwebqq); ok {
			s.mu.Unlock()
			a.write(w)
			return
		}
		if !held {
			held = true
			s.held++
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-timer.C:
			retcode(w, 102, "")
			return
		case <-s.closing:
			retcode(w, 102, "")
			return
		case <-r.Context().Done():
			return
		}
		s.mu.Lock()
	}
}

// pollAnswerLocked decides what a held poll answers now, if anything.
func (s *Server) pollAnswerLocked(sess *session, mine uint64, psid, ptwebqq string) (pollAnswer, bool) {
	switch {
	case sess.dead != 0:
		return pollAnswer{body: map[string]any{"retcode": sess.dead, "errmsg": ""}}, true
	case s.sess != sess || sess.psessionid != psid:
		return pollAnswer{body: map[string]any{"retcode": 103, "errmsg": "Check error"}}, true
	case sess.pollSeq != mine:
		return pollAnswer{body: map[string]any{"retcode": 102, "errmsg": ""}}, true
	case sess.kicking:
		sess.kicking, sess.dead = false, 103
		return pollAnswer{body: map[string]any{"retcode": 0, "result": []event{s.kickEventLocked(sess.kick)}}}, true
	case sess.relink:
		return pollAnswer{body: map[string]any{"retcode": 121, "errmsg": ""}}, true
	}
	if len(s.script) > 0 {
		sc := s.script[0]
		s.script = s.script[1:]
		switch {
		case sc.status != 0:
			return pollAnswer{status: sc.status}, true
		case sc.rc == 116:
			s.acct.ptwebqq = sc.ptwebqq
			return pollAnswer{body: map[string]any{"retcode": 116, "p": sc.ptwebqq}}, true
		default:
			sess.relink = true
			return pollAnswer{body: map[string]any{"retcode": 121, "errmsg": ""}}, true
		}
	}
	if ptwebqq != s.acct.ptwebqq {
		// A client that missed a 116 keeps being told the new value.
		return pollAnswer{body: map[string]any{"retcode": 116, "p": s.acct.ptwebqq}}, true
	}
	if len(s.events) > 0 {
		evs := s.events
		s.events = nil
		return pollAnswer{body: map[string]any{"retcode": 0, "result": evs}}, true
	}
	return pollAnswer{}, false
}

func (a pollAnswer) write(w http.ResponseWriter) {
	if a.status != 0 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(a.status)
		fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><center><h1>%d %s</h1></center><hr><center>nginx</center></body></html>\r\n",
			a.status, http.StatusText(a.status), a.status, http.StatusText(a.status))
		return
	}
	writeJSON(w, a.body)
}

func (s *Server) kickEventLocked(reason string) event {
	s.msgSeq++
	return event{PollType: "kick_message", Value: map[string]any{
		"from_uin": 10000, "msg_id": s.msgSeq, "reason": reason, "show_reason": 1,
		"to_uin": s.m.self.id, "way": "poll",
	}}
}
