package sandbox

import "net/http"

// The s.web2.qq.com model calls (spec §15.3, §16) and their d1 siblings.

func (s *Server) contactRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/getvfwebqq", s.getvfwebqq)
	mux.HandleFunc("GET /api/get_self_info2", s.selfInfo)
	mux.HandleFunc("POST /api/get_user_friends2", s.userFriends)
	mux.HandleFunc("GET /api/get_group_name_list_mask2", s.groupList)
	mux.HandleFunc("POST /api/get_group_name_list_mask2", s.groupList)
	mux.HandleFunc("GET /api/get_group_info_ext2", s.groupInfo)
	mux.HandleFunc("GET /api/get_discus_list", s.discussList)
	mux.HandleFunc("GET /api/get_single_long_nick2", s.longNick)
}

// webCheckLocked validates an s.web2 call: the referer and login cookies
// (100000 without them, as community reports saw), then vfwebqq when the
// call names one (6, the service's answer to a bad parameter).
func (s *Server) webCheckLocked(r *http.Request, vfwebqq string, needVF bool) int {
	if !refererIs(r, refS) || !s.cookiesOK(r) {
		return 100000
	}
	if needVF && (vfwebqq == "" || vfwebqq != s.acct.vfwebqq) {
		return 6
	}
	return 0
}

func (s *Server) getvfwebqq(w http.ResponseWriter, r *http.Request) {
	cid, _ := queryInt(r, "clientid")
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc := s.webCheckLocked(r, "", false); rc != 0 {
		retcode(w, rc, "")
		return
	}
	if cid != clientID || r.FormValue("ptwebqq") != s.acct.ptwebqq {
		retcode(w, 100000, "clientid or ptwebqq")
		return
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": map[string]any{"vfwebqq": s.acct.vfwebqq}})
}

func (s *Server) selfInfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc := s.webCheckLocked(r, "", false); rc != 0 {
		retcode(w, rc, "")
		return
	}
	p, b := s.m.self, s.m.birthday
	stat := 10
	if s.sess != nil && s.sess.dead == 0 {
		stat = statusCodes[s.sess.status]
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": map[string]any{
		"birthday": map[string]int{"year": b[0], "month": b[1], "day": b[2]},
		"face":     p.face, "phone": "", "occupation": "计算机/互联网/IT", "allow": 1, "college": "",
		"uin": p.id, "constel": 1 + (b[1]+9)%12, "blood": 3, "homepage": "", "stat": stat,
		"vip_info": p.vipLevel, "country": p.country, "city": p.city, "personal": escapeName(p.lnick),
		"nick": escapeName(p.nick), "shengxiao": 1 + (b[0]-1900)%12, "email": "", "province": p.province,
		"gender": p.gender, "mobile": "", "lnick": escapeName(p.lnick), "account": p.uid, "vfwebqq": s.acct.vfwebqq,
	}})
}

// hashedRequestLocked checks the r={hash, vfwebqq} of the two list calls:
// hash must be hash(ptwebqq, self uid) of spec §14.3, else retcode 50.
func (s *Server) hashedRequestLocked(w http.ResponseWriter, r *http.Request) bool {
	m, err := formR(r)
	if err != nil {
		retcode(w, 100000, err.Error())
		return false
	}
	vf, _ := strField(m, "vfwebqq", false)
	hash, _ := strField(m, "hash", false)
	if rc := s.webCheckLocked(r, vf, true); rc != 0 {
		retcode(w, rc, "")
		return false
	}
	if hash != friendsHash(s.acct.ptwebqq, s.m.self.uid) {
		retcode(w, 50, "hash")
		return false
	}
	return true
}

func (s *Server) userFriends(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hashedRequestLocked(w, r) {
		return
	}
	n := len(s.m.friends)
	friends, info, vip := make([]any, 0, n), make([]any, 0, n), make([]any, 0, n)
	marks := []any{}
	for _, f := range s.m.friends {
		friends = append(friends, map[string]any{"flag": f.flag, "uin": f.id, "categories": f.category})
		info = append(info, map[string]any{"face": f.face, "flag": f.flag, "nick": escapeName(f.nick), "uin": f.id})
		vip = append(vip, map[string]any{"vip_level": f.vipLevel, "u": f.id, "is_vip": b2i(f.vipLevel > 0)})
		if f.markname != "" {
			marks = append(marks, map[string]any{"uin": f.id, "markname": escapeName(f.markname), "type": 0})
		}
	}
	// Index 0 is left out, as the service did: clients name it 我的好友.
	cats := []any{}
	for i, name := range categoryNames[1:] {
		cats = append(cats, map[string]any{"index": i + 1, "sort": i + 1, "name": name})
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": map[string]any{
		"friends": friends, "marknames": marks, "categories": cats, "vipinfo": vip, "info": info,
	}})
}

func (s *Server) groupList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hashedRequestLocked(w, r) {
		return
	}
	names, marks := make([]any, 0, len(s.m.groups)), []any{}
	for _, g := range s.m.groups {
		names = append(names, map[string]any{"flag": 1 << 24, "name": escapeName(g.name), "gid": g.gid, "code": g.code})
		if g.markname != "" {
			marks = append(marks, map[string]any{"uin": g.gid, "markname": escapeName(g.markname)})
		}
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": map[string]any{
		"gnamelist": names, "gmarklist": marks, "gmasklist": []any{},
	}})
}

func (s *Server) groupInfo(w http.ResponseWriter, r *http.Request) {
	code, _ := queryInt(r, "gcode")
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc := s.webCheckLocked(r, r.FormValue("vfwebqq"), true); rc != 0 {
		retcode(w, rc, "")
		return
	}
	g := s.m.groupByCode(code)
	if g == nil {
		retcode(w, 6, "gcode")
		return
	}
	n := len(g.members)
	ms, minfo, cards, stats, vip := make([]any, 0, n), make([]any, 0, n), []any{}, []any{}, []any{}
	for _, mb := range g.members {
		ms = append(ms, map[string]any{"muin": mb.id, "mflag": b2i(mb.role == "admin")})
		minfo = append(minfo, map[string]any{"uin": mb.id, "nick": escapeName(mb.nick), "gender": mb.gender,
			"province": mb.province, "country": mb.country, "city": mb.city})
		if mb.card != "" {
			cards = append(cards, map[string]any{"muin": mb.id, "card": escapeName(mb.card)})
		}
		if mb.status != "offline" {
			stats = append(stats, map[string]any{"uin": mb.id, "stat": statusCodes[mb.status], "client_type": mb.clientType})
		}
		if mb.vipLevel > 0 {
			vip = append(vip, map[string]any{"vip_level": mb.vipLevel, "u": mb.id, "is_vip": 1})
		}
	}
	var owner int64
	if o := g.owner(); o != nil {
		owner = o.id
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": map[string]any{
		"ginfo": map[string]any{
			"gid": g.gid, "code": g.code, "name": escapeName(g.name), "memo": escapeName(g.memo),
			"createtime": g.createTime, "level": g.level, "owner": owner, "face": 0, "class": g.class,
			"option": 2, "flag": 1 << 24, "fingermemo": "", "members": ms,
		},
		"minfo": minfo, "cards": cards, "stats": stats, "vipinfo": vip,
	}})
}

func (s *Server) discussList(w http.ResponseWriter, r *http.Request) {
	cid, _ := queryInt(r, "clientid")
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc := s.webCheckLocked(r, r.FormValue("vfwebqq"), true); rc != 0 {
		retcode(w, rc, "")
		return
	}
	if cid != clientID || s.sess == nil || s.sess.dead != 0 || r.FormValue("psessionid") != s.sess.psessionid {
		retcode(w, 100000, "clientid or psessionid")
		return
	}
	list := make([]any, 0, len(s.m.discusses))
	for _, d := range s.m.discusses {
		list = append(list, map[string]any{"name": escapeName(d.name), "did": d.did})
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": map[string]any{"dnamelist": list}})
}

func (s *Server) longNick(w http.ResponseWriter, r *http.Request) {
	tuin, _ := queryInt(r, "tuin")
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc := s.webCheckLocked(r, r.FormValue("vfwebqq"), true); rc != 0 {
		retcode(w, rc, "")
		return
	}
	p := s.m.person(tuin)
	if p == nil {
		retcode(w, 6, "tuin")
		return
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": []any{map[string]any{"uin": p.id, "lnick": escapeName(p.lnick)}}})
}

// d1 siblings: they carry clientid and psessionid as well as vfwebqq.

func (s *Server) d1ContactCheckLocked(w http.ResponseWriter, r *http.Request) bool {
	cid, _ := queryInt(r, "clientid")
	if rc := s.channelCheckLocked(r, cid, r.FormValue("psessionid")); rc != 0 {
		retcode(w, rc, "")
		return false
	}
	if vf := r.FormValue("vfwebqq"); vf == "" || vf != s.acct.vfwebqq {
		retcode(w, 6, "vfwebqq")
		return false
	}
	return true
}

func (s *Server) onlineBuddies(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.d1ContactCheckLocked(w, r) {
		return
	}
	list := []any{}
	for _, f := range s.m.friends {
		if f.status != "offline" {
			list = append(list, map[string]any{"uin": f.id, "status": f.status, "client_type": f.clientType})
		}
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": list})
}

func (s *Server) discussInfo(w http.ResponseWriter, r *http.Request) {
	did, _ := queryInt(r, "did")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.d1ContactCheckLocked(w, r) {
		return
	}
	d := s.m.discuss(did)
	if d == nil {
		retcode(w, 6, "did")
		return
	}
	mems, status, info := make([]any, 0, len(d.members)), []any{}, make([]any, 0, len(d.members))
	for _, p := range d.members {
		mems = append(mems, map[string]any{"mem_uin": p.id, "ruin": p.uid})
		info = append(info, map[string]any{"uin": p.id, "nick": escapeName(p.nick)})
		if p.status != "offline" {
			status = append(status, map[string]any{"uin": p.id, "status": p.status, "client_type": p.clientType})
		}
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": map[string]any{
		"info": map[string]any{
			"did": d.did, "discu_owner": d.owner, "discu_name": escapeName(d.name),
			"info_seq": d.infoSeq, "mem_list": mems,
		},
		"mem_status": status, "mem_info": info,
	}})
}

// recentList answers the recent contacts (spec §16.7): the first friends,
// groups and discussions, which is as good as any order.
func (s *Server) recentList(w http.ResponseWriter, r *http.Request) {
	m, err := formR(r)
	if err != nil {
		retcode(w, 100001, err.Error())
		return
	}
	cid, _ := intField(m, "clientid")
	psid, _ := strField(m, "psessionid", false)
	vf, _ := strField(m, "vfwebqq", false)
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc := s.channelCheckLocked(r, cid, psid); rc != 0 {
		retcode(w, rc, "")
		return
	}
	if vf != s.acct.vfwebqq {
		retcode(w, 6, "vfwebqq")
		return
	}
	list := []any{}
	for _, f := range s.m.friends[:min(3, len(s.m.friends))] {
		list = append(list, map[string]any{"uin": f.id, "type": 0})
	}
	for _, g := range s.m.groups[:min(2, len(s.m.groups))] {
		list = append(list, map[string]any{"uin": g.gid, "type": 1})
	}
	for _, d := range s.m.discusses[:min(1, len(s.m.discusses))] {
		list = append(list, map[string]any{"uin": d.did, "type": 2})
	}
	writeJSON(w, map[string]any{"retcode": 0, "result": list})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
