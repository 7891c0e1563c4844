package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Sending (spec §19): send_buddy_msg2, send_qun_msg2, send_discu_msg2,
// send_sess_msg2 and the sess sig of get_c2cmsg_sig2.

// SentMessage is a message the sandbox accepted from a send call.
type SentMessage struct {
	Type        string          `json:"type"`                   // "friend", "group", "discuss" or "sess"
	To          int64           `json:"to"`                     // friend id, gid, did, or a sess message's member id
	Via         int64           `json:"via,omitempty"`          // sess: the gid or did it went through
	ServiceType int             `json:"service_type,omitempty"` // sess: 0 via a group, 1 via a discussion
	Text        string          `json:"text"`                   // the text, faces written [name]
	Content     json.RawMessage `json:"content"`                // the content array as sent, font last
	MsgID       int64           `json:"msg_id"`
	Face        int             `json:"face"`
	Time        time.Time       `json:"time"`
}

// sessSig is what a get_c2cmsg_sig2 sig stands for.
type sessSig struct {
	id, to      int64
	serviceType int
}

var errTarget = errors.New("no such target")

// sendTarget resolves the target fields of one send call into a record.
type sendTarget func(s *Server, m map[string]any) (SentMessage, error)

func (s *Server) sendBuddy(w http.ResponseWriter, r *http.Request) {
	s.send(w, r, "friend", false, func(s *Server, m map[string]any) (SentMessage, error) {
		to, _ := intField(m, "to")
		if s.m.friend(to) == nil {
			return SentMessage{}, errTarget
		}
		return SentMessage{To: to}, nil
	})
}

func (s *Server) sendQun(w http.ResponseWriter, r *http.Request) {
	s.send(w, r, "group", false, func(s *Server, m map[string]any) (SentMessage, error) {
		gid, _ := intField(m, "group_uin")
		if s.m.group(gid) == nil {
			return SentMessage{}, errTarget
		}
		return SentMessage{To: gid}, nil
	})
}

func (s *Server) sendDiscu(w http.ResponseWriter, r *http.Request) {
	s.send(w, r, "discuss", false, func(s *Server, m map[string]any) (SentMessage, error) {
		did, _ := intField(m, "did")
		if s.m.discuss(did) == nil {
			return SentMessage{}, errTarget
		}
		return SentMessage{To: did}, nil
	})
}

// sendSess needs the sig that get_c2cmsg_sig2 gave for this member and
// service type, and the member must still be in that group or discussion.
func (s *Server) sendSess(w http.ResponseWriter, r *http.Request) {
	s.send(w, r, "sess", true, func(s *Server, m map[string]any) (SentMessage, error) {
		to, _ := intField(m, "to")
		st, _ := intField(m, "service_type")
		sig, _ := strField(m, "group_sig", false)
		ss, ok := s.sess.sigs[sig]
		if !ok || ss.to != to || int64(ss.serviceType) != st || !s.reachableLocked(ss) {
			return SentMessage{}, errTarget
		}
		return SentMessage{To: to, Via: ss.id, ServiceType: ss.serviceType}, nil
	})
}

// send validates a send call, then records it or fails it as scripted.
func (s *Server) send(w http.ResponseWriter, r *http.Request, kind string, retcodeOK bool, target sendTarget) {
	m, err := formR(r)
	if err != nil || !refererIs(r, refD1) {
		retcode(w, 100001, "referer or r")
		return
	}
	cid, _ := intField(m, "clientid")
	psid, _ := strField(m, "psessionid", false)
	content, okC := strField(m, "content", false)
	msgID, okM := intField(m, "msg_id")
	face, okF := intField(m, "face")
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc := s.channelCheckLocked(r, cid, psid); rc != 0 {
		retcode(w, rc, "")
		return
	}
	if !okC || !okM || !okF {
		retcode(w, 100001, "content, msg_id or face")
		return
	}
	text, raw, err := decodeSendContent(content)
	if err != nil {
		retcode(w, 100001, err.Error())
		return
	}
	rec, err := target(s, m)
	if err != nil {
		retcode(w, 100001, err.Error())
		return
	}
	if s.failN > 0 {
		s.failN--
		writeJSON(w, failBody(s.failRC))
		return
	}
	rec.Type, rec.Text, rec.Content, rec.MsgID, rec.Face, rec.Time = kind, text, raw, msgID, int(face), time.Now()
	s.sent = append(s.sent, rec)
	if retcodeOK {
		writeJSON(w, map[string]any{"retcode": 0, "result": "ok"})
		return
	}
	writeJSON(w, map[string]any{"errCode": 0, "msg": "send ok"})
}

// failBody is the body community logs show for each failing retcode
// (spec §19.2).
func failBody(rc int) map[string]any {
	if rc == 100100 {
		return map[string]any{"errmsg": "error!!!", "retcode": rc}
	}
	return map[string]any{"retcode": rc, "errmsg": ""}
}

// reachableLocked reports whether a sig's member is still in its group or
// discussion.
func (s *Server) reachableLocked(ss sessSig) bool {
	if ss.to == s.m.self.id {
		return false
	}
	switch ss.serviceType {
	case 0:
		g := s.m.group(ss.id)
		return g != nil && g.member(ss.to) != nil
	case 1:
		d := s.m.discuss(ss.id)
		return d != nil && d.member(ss.to) != nil
	}
	return false
}

// sessSig hands out the sig for one (group or discussion, member, service
// type); an empty value means the member cannot be reached (spec §19.1).
func (s *Server) sessSig(w http.ResponseWriter, r *http.Request) {
	cid, _ := queryInt(r, "clientid")
	id, _ := queryInt(r, "id")
	to, _ := queryInt(r, "to_uin")
	st, okST := queryInt(r, "service_type")
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc := s.channelCheckLocked(r, cid, r.FormValue("psessionid")); rc != 0 {
		retcode(w, rc, "")
		return
	}
	ss := sessSig{id: id, to: to, serviceType: int(st)}
	value := ""
	if okST && (st == 0 || st == 1) && s.reachableLocked(ss) {
		for v, have := range s.sess.sigs {
			if have == ss {
				value = v
			}
		}
		if value == "" {
			value = s.hexToken(56)
			s.sess.sigs[value] = ss
		}
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": map[string]any{
		"type": 0, "value": value, "flags": map[string]int{"text": 1, "pic": 1, "file": 1, "audio": 1, "video": 1},
	}})
}
