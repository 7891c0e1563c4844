package webqq

import (
	"bytes"
	"crypto/md5"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The fake's world: self 10001 (QQ 10001), friends 1 (阿丽, QQ 20001) and 2
// (Bob, QQ 20002), group 100 (code 200, number 900100, we own it) with
// members self, 1, 3 and 4 (admin), discussion 300 with self, 2 and 5.
const fakePassword = "secret"

func (f *fakeQQ) contacts(w http.ResponseWriter, r *http.Request, rec fakeReq) bool {
	q := r.URL.Query()
	switch r.URL.Path {
	case "/api/get_self_info2":
		writeJSON(w, `{"retcode":0,"result":{"birthday":{"year":1990,"month":1,"day":1},"face":0,"uin":10001,"account":10001,
			"nick":"小灰","lnick":"签名","gender":"male","country":"中国","province":"北京","city":"北京","stat":10}}`)
	case "/api/get_user_friends2":
		rp := rParam(f.t, rec)
		if rp["hash"] != friendHash(rec.Cookies["ptwebqq"], fakeUID) || rp["vfwebqq"] != fakeVF {
			f.t.Errorf("get_user_friends2 r=%v", rp)
			writeJSON(w, `{"retcode":100003}`)
			return true
		}
		writeJSON(w, `{"retcode":0,"result":{"friends":[{"flag":0,"uin":1,"categories":1},{"flag":0,"uin":2,"categories":0}],
			"marknames":[{"uin":1,"markname":"阿丽","type":0}],"categories":[{"index":1,"sort":1,"name":"同学"}],
			"vipinfo":[{"vip_level":0,"u":1,"is_vip":0}],"info":[{"face":3,"flag":0,"nick":"Alice","uin":1},{"face":4,"flag":0,"nick":"Bob","uin":2}]}}`)
	case "/channel/get_online_buddies2":
		if q.Get("vfwebqq") != fakeVF || q.Get("psessionid") != fakePSID || q.Get("clientid") != "53999199" {
			f.t.Errorf("get_online_buddies2 query %s", rec.Query)
		}
		writeJSON(w, `{"retcode":0,"result":[{"uin":1,"status":"online","client_type":1}]}`)
	case "/api/get_group_name_list_mask2":
		var rp map[string]any
		if err := json.Unmarshal([]byte(q.Get("r")), &rp); err != nil || rp["hash"] != friendHash(rec.Cookies["ptwebqq"], fakeUID) {
			f.t.Errorf("get_group_name_list_mask2 r=%q", q.Get("r"))
		}
		writeJSON(w, `{"retcode":0,"result":{"gnamelist":[{"flag":1,"name":"测试群","gid":100,"code":200}],"gmarklist":[],"gmasklist":[]}}`)
	case "/api/get_group_info_ext2":
		if q.Get("gcode") != "200" || q.Get("vfwebqq") != fakeVF {
			f.t.Errorf("get_group_info_ext2 query %s", rec.Query)
		}
		writeJSON(w, `{"retcode":0,"result":{"ginfo":{"gid":100,"code":200,"name":"测试群","memo":"简介","createtime":1468635000,"level":0,"owner":10001},
			"minfo":[{"uin":10001,"nick":"小灰","gender":"male"},{"uin":1,"nick":"Alice","gender":"female"},{"uin":3,"nick":"Carol","gender":"female"},{"uin":4,"nick":"Dave","gender":"male"}],
			"cards":[{"muin":10001,"card":"群主卡"},{"muin":3,"card":"卡罗"}],"stats":[{"uin":3,"stat":10,"client_type":21}]}}`)
	case "/api/get_discus_list":
		writeJSON(w, `{"retcode":0,"result":{"dnamelist":[{"name":"讨论组","did":300}]}}`)
	case "/channel/get_discu_info":
		writeJSON(w, `{"retcode":0,"result":{"info":{"did":300,"discu_owner":10001,"discu_name":"讨论组","mem_list":[{"mem_uin":10001,"ruin":10001},{"mem_uin":2,"ruin":20002},{"mem_uin":5,"ruin":20005}]},
			"mem_status":[],"mem_info":[{"uin":10001,"nick":"小灰"},{"uin":2,"nick":"Bob"},{"uin":5,"nick":"Eve"}]}}`)
	default:
		return false
	}
	return true
}

func (f *fakeQQ) ext(w http.ResponseWriter, r *http.Request, rec fakeReq) bool {
	path := r.URL.Path
	if strings.HasPrefix(path, "/cgi-bin/qun_") && rec.Form.Get("bkn") != strconv.FormatInt(bkn(rec.Cookies["skey"]), 10) {
		f.t.Errorf("%s: bkn %q for skey %q", path, rec.Form.Get("bkn"), rec.Cookies["skey"])
		writeJSON(w, `{"ec":1}`)
		return true
	}
	switch path {
	case "/check":
		io.WriteString(w, `ptui_checkVC('0','!ABC','\x00\x00\x00\x00\x00\x00\x27\x11','VS','0');`)
	case "/login":
		if err := f.checkP(r.URL.Query().Get("p")); err != nil {
			f.t.Logf("ext login refused: %v", err)
			io.WriteString(w, "ptuiCB('3','0','','0','您输入的帐号或密码不正确', '')")
			return true
		}
		fmt.Fprintf(w, "ptuiCB('0','0','%s/check_sig?pttype=1&ext=1','1','登录成功！', '小灰');", f.srv.URL)
	case "/cgi-bin/qun_mgr/get_friend_list":
		writeJSON(w, `{"ec":0,"result":{"0":{"mems":[{"name":"Bob","uin":20002}]},"1":{"gname":"同学","mems":[{"name":"阿丽","uin":20001}]}}}`)
	case "/cgi-bin/qun_mgr/get_group_list":
		writeJSON(w, `{"ec":0,"create":[{"gc":900100,"gn":"测试群","owner":10001}]}`)
	case "/cgi-bin/qun_info/get_group_members":
		writeJSON(w, `{"ec":0,"mems":[{"u":10001,"n":"小灰"},{"u":20001,"n":"Alice"},{"u":20003,"n":"Carol"},{"u":20004,"n":"Dave"}],
			"owner":10001,"adm":[20004],"cards":{"10001":"群主卡","20003":"卡罗"},"join":{"20003":1500000000},"times":{"20003":1500000100},"levelname":{}}`)
	case "/cgi-bin/qun_mgr/delete_group_member", "/cgi-bin/qun_info/set_group_shutup":
		writeJSON(w, `{"ec":0}`)
	default:
		return false
	}
	return true
}

// checkP opens the p of the ext login: RSA, then QQ's TEA mode, then the
// framing md5 ‖ salt ‖ len ‖ verify code.
func (f *fakeQQ) checkP(p string) error {
	raw, err := base64.StdEncoding.DecodeString(strings.NewReplacer("-", "/", "*", "+", "_", "=").Replace(p))
	if err != nil {
		return err
	}
	msg, err := rsa.DecryptPKCS1v15(nil, f.key, raw)
	if err != nil {
		return err
	}
	sum := md5.Sum([]byte(fakePassword))
	salt := []byte{0, 0, 0, 0, 0, 0, 0x27, 0x11}
	key := md5.Sum(append(sum[:], salt...))
	if len(msg) < 2 {
		return fmt.Errorf("short message")
	}
	plain, err := teaOpen(key, msg[2:])
	if err != nil {
		return err
	}
	want := append(append(append([]byte{}, sum[:]...), salt...), 0, 4)
	want = append(want, "!ABC"...)
	if !bytes.Equal(plain, want) {
		return fmt.Errorf("plaintext %s", hex.EncodeToString(plain))
	}
	return nil
}
