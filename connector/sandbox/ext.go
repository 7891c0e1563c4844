package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The ext calls of qun.qq.com, qinfo.clt.qq.com and qiandao.qun.qq.com
// (spec §17.2). Every one is a form POST with bkn = token(skey) and answers
// {"ec":…}: 0 done, 1 bad parameters or unknown group/member, 4 not logged
// in to qun.qq.com or a wrong bkn, 7 not allowed by the account's role.

// Kick is one member removed by delete_group_member.
type Kick struct {
	GroupID   int64     `json:"group_id"`
	GroupUID  int64     `json:"group_uid"`
	MemberID  int64     `json:"member_id"`
	MemberUID int64     `json:"member_uid"`
	Time      time.Time `json:"time"`
}

// Mute is one set_group_shutup entry; Seconds 0 lifts a mute.
type Mute struct {
	GroupID   int64     `json:"group_id"`
	GroupUID  int64     `json:"group_uid"`
	MemberID  int64     `json:"member_id"`
	MemberUID int64     `json:"member_uid"`
	Seconds   int64     `json:"seconds"`
	Time      time.Time `json:"time"`
}

func (s *Server) extRoutes(mux *http.ServeMux) {
	ext := func(path, referer string, h func(w http.ResponseWriter, r *http.Request)) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			if !refererIs(r, referer) {
				forbidden(w)
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if !s.extCookiesOK(r) || r.FormValue("bkn") != strconv.FormatInt(bkn(cookie(r, "skey")), 10) {
				ecode(w, 4, "请先登录")
				return
			}
			h(w, r)
		})
	}
	ext("/cgi-bin/qun_mgr/get_friend_list", refQun, s.extFriends)
	ext("/cgi-bin/qun_mgr/get_group_list", refQun, s.extGroups)
	ext("/cgi-bin/qun_mgr/search_group_members", refQun, s.extSearchMembers)
	ext("/cgi-bin/qun_mgr/delete_group_member", refQun, s.extKick)
	ext("/cgi-bin/qun_mgr/add_group_member", refQun, s.extInvite)
	ext("/cgi-bin/qun_info/get_group_members", refQInfo, s.extMembers)
	ext("/cgi-bin/qun_info/set_group_shutup", refQInfo3, s.extShutup)
	ext("/cgi-bin/qun_info/set_group_admin", refQInfo, s.extAdmin)
	ext("/cgi-bin/qun_info/set_group_card", refQInfo, s.extCard)
	// The sign-in referer names the group, so it is checked inside.
	mux.HandleFunc("POST /cgi-bin/sign", func(w http.ResponseWriter, r *http.Request) {
		gc, _ := queryInt(r, "gc")
		if !refererIs(r, fmt.Sprintf(refQiandao, gc)) {
			forbidden(w)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.extCookiesOK(r) || r.FormValue("bkn") != strconv.FormatInt(bkn(cookie(r, "skey")), 10) {
			ecode(w, 4, "请先登录")
			return
		}
		s.extSign(w, r)
	})
}

func ecode(w http.ResponseWriter, ec int, em string) {
	writeJSON(w, map[string]any{"ec": ec, "em": em})
}

// extGroupLocked resolves the gc parameter; it answers ec 1 itself.
func (s *Server) extGroupLocked(w http.ResponseWriter, r *http.Request) *group {
	gc, _ := queryInt(r, "gc")
	g := s.m.groupByUID(gc)
	if g == nil {
		ecode(w, 1, "参数错误")
	}
	return g
}

func (s *Server) extFriends(w http.ResponseWriter, r *http.Request) {
	result := map[string]any{}
	cats := make([][]any, len(categoryNames))
	for _, f := range s.m.friends {
		name := f.nick
		if f.markname != "" {
			name = f.markname
		}
		cats[f.category] = append(cats[f.category], map[string]any{"name": escapeName(name), "uin": f.uid})
	}
	for i, mems := range cats {
		c := map[string]any{}
		if i > 0 {
			c["gname"] = categoryNames[i]
		}
		if mems != nil {
			c["mems"] = mems
		}
		result[strconv.Itoa(i)] = c
	}
	writeJSON(w, map[string]any{"ec": 0, "result": result})
}

func (s *Server) extGroups(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"ec": 0}
	lists := map[string][]any{}
	for _, g := range s.m.groups {
		key := map[string]string{"attend": "join", "manage": "manage", "create": "create"}[g.role]
		var owner int64
		if o := g.owner(); o != nil {
			owner = o.uid
		}
		lists[key] = append(lists[key], map[string]any{"gc": g.uid, "gn": escapeName(g.name), "owner": owner})
	}
	for k, v := range lists {
		out[k] = v
	}
	writeJSON(w, out)
}

func (s *Server) extMembers(w http.ResponseWriter, r *http.Request) {
	if u, _ := queryInt(r, "u"); u != s.m.self.uid {
		ecode(w, 1, "参数错误")
		return
	}
	g := s.extGroupLocked(w, r)
	if g == nil {
		return
	}
	n := len(g.members)
	mems, adm := make([]any, 0, n), []int64{}
	cards, join, times := map[string]string{}, map[string]int64{}, map[string]int64{}
	var owner int64
	for _, mb := range g.members {
		key := strconv.FormatInt(mb.uid, 10)
		mems = append(mems, map[string]any{"u": mb.uid, "n": escapeName(mb.nick), "g": b2i(mb.gender == "female")})
		switch mb.role {
		case "owner":
			owner = mb.uid
		case "admin":
			adm = append(adm, mb.uid)
		}
		if mb.card != "" {
			cards[key] = escapeName(mb.card)
		}
		join[key] = mb.joinTime
		if mb.lastSpeak > 0 {
			times[key] = mb.lastSpeak
		}
	}
	writeJSON(w, map[string]any{
		"ec": 0, "owner": owner, "adm": adm, "mems": mems, "cards": cards, "join": join, "times": times,
		"levelname": map[string]string{"1": "潜水", "2": "冒泡", "3": "吐槽", "4": "活跃", "5": "话唠", "6": "传说"},
		"count":     n, "max_count": 500, "adm_max": 10, "adm_num": len(adm), "search_count": n,
		"svr_time": time.Now().Unix(), "vecsize": 1,
	})
}

// extSearchMembers is the paged member search (spec §17.2, unused by the
// original client): role 0 owner, 1 admin, 2 member.
func (s *Server) extSearchMembers(w http.ResponseWriter, r *http.Request) {
	g := s.extGroupLocked(w, r)
	if g == nil {
		return
	}
	st, _ := queryInt(r, "st")
	end, okEnd := queryInt(r, "end")
	if !okEnd || end >= int64(len(g.members)) {
		end = int64(len(g.members)) - 1
	}
	st = max(0, st)
	mems, admins := []any{}, 0
	for i, mb := range g.members {
		role := map[string]int{"owner": 0, "admin": 1, "member": 2}[mb.role]
		if role == 1 {
			admins++
		}
		if int64(i) < st || int64(i) > end {
			continue
		}
		mems = append(mems, map[string]any{
			"card": escapeName(mb.card), "flag": 0, "g": b2i(mb.gender == "female"), "join_time": mb.joinTime,
			"last_speak_time": mb.lastSpeak, "lv": map[string]int{"level": 1, "point": 0}, "nick": escapeName(mb.nick),
			"qage": max(0, int((epochEnd-mb.joinTime)/(365*86400))), "role": role, "uin": mb.uid,
		})
	}
	writeJSON(w, map[string]any{"ec": 0, "adm_max": 10, "adm_num": admins, "count": len(g.members),
		"max_count": 500, "mems": mems, "search_count": len(g.members)})
}

// managesLocked reports whether the account may kick, mute and invite in g.
func managesLocked(g *group) bool { return g.role == "create" || g.role == "manage" }

// uinList parses the ul parameter: QQ numbers joined with |.
func uinList(ul string) ([]int64, bool) {
	var out []int64
	for f := range strings.SplitSeq(ul, "|") {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

// managerCallLocked makes the checks every manager action makes, in the
// real service's order: the group (with bkn), the action's parameter, then
// the account's own role. It answers the error itself and returns nil then.
func (s *Server) managerCallLocked(w http.ResponseWriter, r *http.Request, paramOK func() bool) *group {
	g := s.extGroupLocked(w, r)
	if g == nil {
		return nil
	}
	if !paramOK() {
		ecode(w, 1, "参数错误")
		return nil
	}
	if !managesLocked(g) {
		ecode(w, 7, "权限不足")
		return nil
	}
	return g
}

func (s *Server) extKick(w http.ResponseWriter, r *http.Request) {
	var uins []int64
	g := s.managerCallLocked(w, r, func() (ok bool) { uins, ok = uinList(r.FormValue("ul")); return ok })
	if g == nil {
		return
	}
	var targets []*member
	for _, u := range uins {
		mb := g.memberByUID(u)
		switch {
		case mb == nil:
			ecode(w, 1, "参数错误")
			return
		case mb.person == s.m.self || mb.role == "owner" || (mb.role == "admin" && g.role != "create"):
			ecode(w, 7, "权限不足")
			return
		}
		targets = append(targets, mb)
	}
	now := time.Now()
	for _, mb := range targets {
		s.kicks = append(s.kicks, Kick{GroupID: g.gid, GroupUID: g.uid, MemberID: mb.id, MemberUID: mb.uid, Time: now})
		g.removeMember(mb.id)
	}
	ecode(w, 0, "")
}

// shutupEntry is one element of set_group_shutup's shutup_list.
type shutupEntry struct {
	Uin int64 `json:"uin"`
	T   int64 `json:"t"`
}

// parseShutupList reads the shutup_list JSON string: [{"uin":…,"t":…},…]
// with t in seconds, 0 lifting a mute.
func parseShutupList(raw string) ([]shutupEntry, bool) {
	var list []shutupEntry
	if json.Unmarshal([]byte(raw), &list) != nil || len(list) == 0 {
		return nil, false
	}
	for _, e := range list {
		if e.Uin <= 0 || e.T < 0 {
			return nil, false
		}
	}
	return list, true
}

func (s *Server) extShutup(w http.ResponseWriter, r *http.Request) {
	var list []shutupEntry
	g := s.managerCallLocked(w, r, func() (ok bool) { list, ok = parseShutupList(r.FormValue("shutup_list")); return ok })
	if g == nil {
		return
	}
	targets := make([]*member, len(list))
	for i, e := range list {
		mb := g.memberByUID(e.Uin)
		switch {
		case mb == nil:
			ecode(w, 1, "参数错误")
			return
		case mb.person == s.m.self || mb.role == "owner" || mb.role == "admin":
			ecode(w, 7, "权限不足")
			return
		}
		targets[i] = mb
	}
	now := time.Now()
	for i, e := range list {
		mb := targets[i]
		mb.mutedUntil = 0
		if e.T > 0 {
			mb.mutedUntil = now.Unix() + e.T
		}
		s.mutes = append(s.mutes, Mute{GroupID: g.gid, GroupUID: g.uid, MemberID: mb.id, MemberUID: mb.uid, Seconds: e.T, Time: now})
	}
	ecode(w, 0, "")
}

// extInvite adds friends to a group (add_group_member).
func (s *Server) extInvite(w http.ResponseWriter, r *http.Request) {
	var uins []int64
	g := s.managerCallLocked(w, r, func() (ok bool) { uins, ok = uinList(r.FormValue("ul")); return ok })
	if g == nil {
		return
	}
	var invitees []*person
	for _, u := range uins {
		var f *friend
		for _, c := range s.m.friends {
			if c.uid == u {
				f = c
			}
		}
		if f == nil || g.member(f.id) != nil {
			ecode(w, 1, "参数错误")
			return
		}
		invitees = append(invitees, f.person)
	}
	now := time.Now().Unix()
	for _, p := range invitees {
		g.members = append(g.members, &member{person: p, role: "member", joinTime: now})
	}
	ecode(w, 0, "")
}

func (s *Server) extAdmin(w http.ResponseWriter, r *http.Request) {
	g := s.extGroupLocked(w, r)
	if g == nil {
		return
	}
	u, _ := queryInt(r, "u")
	op := r.FormValue("op")
	mb := g.memberByUID(u)
	switch {
	case mb == nil || (op != "0" && op != "1"):
		ecode(w, 1, "参数错误")
	case g.role != "create" || mb.role == "owner":
		ecode(w, 7, "权限不足")
	default:
		mb.role = map[string]string{"0": "member", "1": "admin"}[op]
		ecode(w, 0, "")
	}
}

func (s *Server) extCard(w http.ResponseWriter, r *http.Request) {
	g := s.extGroupLocked(w, r)
	if g == nil {
		return
	}
	u, _ := queryInt(r, "u")
	mb := g.memberByUID(u)
	switch {
	case mb == nil:
		ecode(w, 1, "参数错误")
	case mb.person != s.m.self && !managesLocked(g):
		ecode(w, 7, "权限不足")
	default:
		mb.card = r.FormValue("name")
		ecode(w, 0, "")
	}
}

func (s *Server) extSign(w http.ResponseWriter, r *http.Request) {
	g := s.extGroupLocked(w, r)
	if g == nil {
		return
	}
	if g.signed == 0 {
		g.signed = 1 + s.rng.IntN(20)
	}
	writeJSON(w, map[string]any{"ec": 0, "is_sign": 1, "conti_count": 1, "rank": g.signed, "sign_count": g.signed})
}

func (g *group) removeMember(id int64) {
	for i, mb := range g.members {
		if mb.id == id {
			g.members = append(g.members[:i], g.members[i+1:]...)
			return
		}
	}
}
