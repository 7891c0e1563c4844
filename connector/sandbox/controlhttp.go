package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// The control API: the scripted behaviour over JSON under /sandbox/, on the
// same handler as the protocol, for openqq up's login page and for tools.
// Answers are {"ok":true,…} or {"error":"…"} with 400 (bad argument) or 404
// (unknown contact). It has no authentication: the sandbox is a test
// fixture and listens on loopback.

func (s *Server) controlRoutes(mux *http.ServeMux) {
	act := func(path string, f func() error) {
		mux.HandleFunc("POST /sandbox/"+path, func(w http.ResponseWriter, r *http.Request) {
			controlReply(w, map[string]any{}, f())
		})
	}
	act("scan", func() error { s.ScanQR(); return nil })
	act("confirm", func() error { s.ConfirmQR(); return nil })
	act("expire_qr", func() error { s.ExpireQR(); return nil })
	act("relink", func() error { s.Relink(); return nil })
	act("reset", func() error { s.Reset(); return nil })
	mux.HandleFunc("POST /sandbox/update_ptwebqq", func(w http.ResponseWriter, r *http.Request) {
		controlReply(w, map[string]any{"ptwebqq": s.UpdatePtwebqq()}, nil)
	})
	body(mux, "expire_session", func(a struct{ Retcode int }) (map[string]any, error) {
		if a.Retcode == 0 {
			a.Retcode = 103
		}
		return nil, s.ExpireSession(a.Retcode)
	})
	body(mux, "fail_poll", func(a struct{ Status int }) (map[string]any, error) {
		return nil, s.FailPoll(a.Status)
	})
	body(mux, "fail_send", func(a struct{ Retcode, N int }) (map[string]any, error) {
		return nil, s.FailSend(a.Retcode, a.N)
	})
	body(mux, "kick_offline", func(a struct{ Reason string }) (map[string]any, error) {
		return nil, s.KickOffline(a.Reason)
	})
	body(mux, "messages", func(m Message) (map[string]any, error) {
		id, err := s.Push(m)
		return map[string]any{"msg_id": id}, err
	})
	body(mux, "status", func(a struct {
		ID         int64  `json:"id"`
		Status     string `json:"status"`
		ClientType int    `json:"client_type"`
	}) (map[string]any, error) {
		return nil, s.SetStatus(a.ID, a.Status, a.ClientType)
	})
	body(mux, "group_files", func(a struct {
		Group, From int64
		File        string
	}) (map[string]any, error) {
		id, err := s.PushGroupFile(a.Group, a.From, a.File)
		return map[string]any{"msg_id": id}, err
	})
	s.membershipRoutes(mux)

	get := func(path string, f func() any) {
		mux.HandleFunc("GET /sandbox/"+path, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, f()) })
	}
	get("world", func() any { return s.World() })
	get("sent", func() any { return nonNil(s.Sent()) })
	get("kicks", func() any { return nonNil(s.Kicks()) })
	get("mutes", func() any { return nonNil(s.Mutes()) })
	get("state", func() any { return s.State() })
	get("rsa_key", func() any {
		k := s.RSAPublicKey()
		return map[string]string{"n": fmt.Sprintf("%X", k.N), "e": strconv.FormatInt(int64(k.E), 16)}
	})
}

func (s *Server) membershipRoutes(mux *http.ServeMux) {
	body(mux, "friends", func(f Friend) (map[string]any, error) {
		out, err := s.AddFriend(f)
		return map[string]any{"friend": out}, err
	})
	body(mux, "groups", func(g Group) (map[string]any, error) {
		out, err := s.AddGroup(g)
		return map[string]any{"group": out}, err
	})
	body(mux, "discusses", func(d Discuss) (map[string]any, error) {
		out, err := s.AddDiscuss(d)
		return map[string]any{"discuss": out}, err
	})
	mux.HandleFunc("POST /sandbox/groups/{id}/members", func(w http.ResponseWriter, r *http.Request) {
		var m Member
		if !decodeBody(w, r, &m) {
			return
		}
		out, err := s.AddGroupMember(pathID(r, "id"), m)
		controlReply(w, map[string]any{"member": out}, err)
	})
	mux.HandleFunc("POST /sandbox/discusses/{id}/members", func(w http.ResponseWriter, r *http.Request) {
		var m DiscussMember
		if !decodeBody(w, r, &m) {
			return
		}
		out, err := s.AddDiscussMember(pathID(r, "id"), m)
		controlReply(w, map[string]any{"member": out}, err)
	})
	del := func(pattern string, f func(r *http.Request) error) {
		mux.HandleFunc("DELETE /sandbox/"+pattern, func(w http.ResponseWriter, r *http.Request) {
			controlReply(w, map[string]any{}, f(r))
		})
	}
	del("friends/{id}", func(r *http.Request) error { return s.RemoveFriend(pathID(r, "id")) })
	del("groups/{id}", func(r *http.Request) error { return s.RemoveGroup(pathID(r, "id")) })
	del("groups/{id}/members/{member}", func(r *http.Request) error {
		return s.RemoveGroupMember(pathID(r, "id"), pathID(r, "member"))
	})
	del("discusses/{id}", func(r *http.Request) error { return s.RemoveDiscuss(pathID(r, "id")) })
	del("discusses/{id}/members/{member}", func(r *http.Request) error {
		return s.RemoveDiscussMember(pathID(r, "id"), pathID(r, "member"))
	})
}

// body registers POST /sandbox/<path> with a JSON argument of type A.
func body[A any](mux *http.ServeMux, path string, f func(A) (map[string]any, error)) {
	mux.HandleFunc("POST /sandbox/"+path, func(w http.ResponseWriter, r *http.Request) {
		var a A
		if !decodeBody(w, r, &a) {
			return
		}
		out, err := f(a)
		controlReply(w, out, err)
	})
}

// decodeBody reads a JSON body into v; an empty body leaves v zero.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeJSONStatus(w, http.StatusBadRequest, map[string]any{"error": "bad JSON body: " + err.Error()})
		return false
	}
	return true
}

func pathID(r *http.Request, name string) int64 {
	n, _ := strconv.ParseInt(r.PathValue(name), 10, 64)
	return n
}

func controlReply(w http.ResponseWriter, out map[string]any, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeJSONStatus(w, http.StatusNotFound, map[string]any{"error": err.Error()})
	case err != nil:
		writeJSONStatus(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
	default:
		if out == nil {
			out = map[string]any{}
		}
		out["ok"] = true
		writeJSON(w, out)
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
