// Package sandbox is a SmartQQ (WebQQ) service for tests and for openqq up:
// Tencent switched SmartQQ off in 2019, so this server stands in for it.
// It is written from the protocol description (spec Part 2) alone and
// imports only the standard library, so that it and the client
// (connector/webqq) do not share their mistakes.
//
// It has the shape of net/http/httptest:
//
//	srv := sandbox.NewServer(sandbox.Options{Friends: 3, PollHold: time.Second})
//	defer srv.Close()
//	c := srv.Client() // a new client each call; set your own cookie Jar
//	srv.ConfirmQR()   // the next ptqrlogin poll answers 0
//
// One listener serves every host of the protocol, routed by path:
// w.qq.com (/, /proxy.html), xui.ptlogin2 (/cgi-bin/xlogin), ssl.ptlogin2
// (/ptqrshow, /ptqrlogin, /pt4_auth, /check, /login), ptlogin2 (/logout),
// the check_sig hosts (/check_sig), s.web2 (/api/…), d1.web2 (/channel/…),
// qun.qq.com (/cgi-bin/qun_mgr/…), qinfo.clt.qq.com (/cgi-bin/qun_info/…)
// and qiandao.qun.qq.com (/cgi-bin/sign). The check_sig URLs it hands out
// point at the address the request came to. Cookies carry their real
// domains when the request's Host is a qq.com host, and are host-only
// otherwise (a cookie jar refuses a qq.com domain from 127.0.0.1).
//
// # Faithful
//
//   - The login flows: QR (ptqrshow, ptqrlogin 66 → 67 → 0 or 65, with
//     ptqrtoken = hash33(qrsig) checked), cookie reuse (pt4_auth with
//     auth_token = time33(supertoken), answering a check_sig URL only while
//     the ptlogin session lives), check_sig setting skey, p_skey, p_uin and
//     pt4_token, getvfwebqq, login2, re-link (login2 with key), logout.
//   - The ext password login: /check gives the uin as an 8-byte salt and a
//     verify code; /login opens p layer by layer (RSA, QQ-TEA keyed by
//     md5(md5(password) ‖ salt), then md5(password), salt and verify code
//     inside) and answers ptuiCB 3 for a wrong password.
//   - Every referer of spec §13, clientid 53999199, the login cookies,
//     psessionid and vfwebqq on every call, the list hash of spec §14.3 and
//     bkn = token(skey) on every qun.qq.com call.
//   - Response shapes of spec §15–§19: the contact lists with categories
//     (index 0 left out), marknames, vipinfo, online states and client
//     types; group detail with cards and stats; discussions with ruin; the
//     ext lists; poll2 events with the font element first; HTML-escaped
//     names and text, CRLF newlines.
//   - poll2 is a long poll: one per session (a newer one makes the held one
//     answer 102), 102 after Options.PollHold, queued events at once.
//   - Sends check their target, msg_id, face and content (a JSON string of
//     an array with the font element last); sess sends need the sig that
//     get_c2cmsg_sig2 gave for that member.
//   - A world drawn from Options.Seed with realistic Chinese names, groups
//     the account created, manages or attends, owners and admins, cards,
//     marknames, VIPs and online friends. Session ids differ from QQ numbers
//     (except the account's own, as the service had it).
//
// # Error answers
//
// The service's error bodies are known only from community reports, so
// these are choices, documented here:
//
//   - ptlogin hosts and qun.qq.com without their referer: HTTP 403.
//   - ptqrlogin with a wrong ptqrtoken, login_sig, aid or daid: ptuiCB code 7
//     "提交参数错误，请检查。"; /login: 3 wrong account or password, 4 wrong
//     verify code, 7 malformed; pt4_auth that cannot resume: ptui_auth_CB
//     code 1 without a URL; a used or unknown check_sig ticket: HTTP 403.
//   - s.web2 (/api/…) without referer or login cookies, or with a clientid,
//     ptwebqq or psessionid that does not match: retcode 100000; a wrong
//     vfwebqq or unknown gcode/did/tuin: 6; a wrong list hash: 50.
//   - d1 (/channel/…) without referer, cookies or clientid, or with a bad
//     r, target or content: retcode 100001; a psessionid that is not the
//     live session's: 103; a session ended by ExpireSession: its retcode.
//   - qun.qq.com: ec 4 not logged in there or a wrong bkn, 1 bad parameter
//     or unknown group/member, 7 not allowed: kick, mute and invite need the
//     create or manage role; the owner and the account itself are never
//     kicked or muted, admins are never muted and only the creator kicks
//     them; set_group_admin needs create, set_group_card on others manage.
//   - A poll2 ended by Close or by a newer poll2 answers 102. Close also
//     ends idle connections at once, as httptest does.
//
// # Simplified
//
//   - One account. Session ids do not change between logins. Messages
//     queued while nobody polls wait for the next session. Membership
//     changes push no events (the real service had none either); friends'
//     online states change only through SetStatus.
//   - The password's RSA layer: Tencent's private key is unknown, so the
//     sandbox uses its own key pair (Server.RSAPublicKey, also at
//     GET /sandbox/rsa_key). A p sealed with Tencent's public key cannot be
//     opened: it is refused unless Options.AcceptSealedPasswords, which then
//     checks only its size.
//   - The QR PNG looks like a QR code (finder, timing and alignment
//     patterns) but does not decode. Pictures, get_friend_uin2 (404, as the
//     service answered after 2017) and get_friend_info2 are absent.
//
// # Control
//
// Scenarios are methods: ScanQR, ConfirmQR, ExpireQR, ExpireSession,
// UpdatePtwebqq, Relink, FailPoll, FailSend, KickOffline, Push,
// PushGroupFile, SetStatus, Add/Remove Friend, Group, GroupMember, Discuss
// and DiscussMember, Reset; and reads: World, Sent, Kicks, Mutes, State.
// The same JSON API is served under /sandbox/ (bodies are JSON; answers
// {"ok":true,…} or {"error":…} with 400 or 404):
//
//	POST   /sandbox/scan, /confirm, /expire_qr, /relink, /reset
//	POST   /sandbox/update_ptwebqq                 → {"ptwebqq":…}
//	POST   /sandbox/expire_session {"retcode":103}
//	POST   /sandbox/fail_poll {"status":502}
//	POST   /sandbox/fail_send {"retcode":1202,"n":2}
//	POST   /sandbox/kick_offline {"reason":…}
//	POST   /sandbox/messages {"type":"group","from":…,"group":…,"text":"hi[微笑]"} → {"msg_id":…}
//	POST   /sandbox/status {"id":…,"status":"away","client_type":1}
//	POST   /sandbox/group_files {"group":…,"from":…,"file":"a.txt"}
//	POST   /sandbox/friends, /groups, /discusses (a Friend, Group, Discuss)
//	POST   /sandbox/groups/{gid}/members, /discusses/{did}/members
//	DELETE /sandbox/friends/{id}, /groups/{gid}, /groups/{gid}/members/{id},
//	       /discusses/{did}, /discusses/{did}/members/{id}
//	GET    /sandbox/world, /sent, /kicks, /mutes, /state, /rsa_key
package sandbox
