package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Bad input never panics: it is refused, and what is accepted round-trips.

func FuzzDecodeR(f *testing.F) {
	for _, s := range []string{
		`{"clientid":53999199,"key":"","psessionid":"abc","ptwebqq":null}`,
		`{"hash":"004200180082005E","vfwebqq":"x"}`,
		`{"clientid":"53999199"}`, `[]`, `null`, `{"a":1}{"b":2}`, `{"a":1e400}`, "", "{",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := decodeR(raw)
		if err != nil {
			return
		}
		for k := range m {
			intField(m, k)
			strField(m, k, true)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", raw, err)
		}
		m2, err := decodeR(string(again))
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("%q does not round-trip: %v", raw, err)
		}
	})
}

func FuzzDecodeSendContent(f *testing.F) {
	for _, s := range []string{
		`["hi",["face",14],["font",{"name":"宋体","size":10,"style":[0,0,0],"color":"000000"}]]`,
		`[["font",{"name":"宋体","size":10,"style":[0,0,0],"color":"000000"}]]`,
		`["a",["face","x"],["font",{}]]`, `"["`, `[1,2]`, `[["face",999999999999999999999],["font",{"name":"","size":1,"style":[1,2,3],"color":""}]]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		text, content, err := decodeSendContent(raw)
		if err != nil {
			return
		}
		text2, _, err := decodeSendContent(string(content))
		if err != nil || text2 != text {
			t.Fatalf("%q: accepted once, not twice: %v", raw, err)
		}
	})
}

func FuzzParseShutupList(f *testing.F) {
	for _, s := range []string{`[{"uin":123,"t":60}]`, `[{"uin":-1,"t":60}]`, `[]`, `{"uin":1}`, `[{"uin":"1"}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		list, ok := parseShutupList(raw)
		for _, e := range list {
			if !ok || e.Uin <= 0 || e.T < 0 {
				t.Fatalf("%q gave %+v, %v", raw, list, ok)
			}
		}
	})
}

func FuzzCheckPassword(f *testing.F) {
	f.Add(perlPasswordP)
	f.Add("AAAA")
	f.Add(strings.Repeat("A", 344))
	f.Add("not base64!")
	key := builtinKey()
	f.Fuzz(func(t *testing.T, p string) {
		if checkPassword(p, "pw", perlSalt, "!ABC", key, false) == nil {
			t.Fatalf("a fuzzed p %q passed", p)
		}
		checkPassword(p, "pw", perlSalt, "!ABC", key, true)
	})
}

func FuzzTextContent(f *testing.F) {
	for _, s := range []string{"hi[微笑]", "[[微笑]]", "[", "]", "a\r\nb\nc", "<&>", "[未知]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c := textContent(text)
		if _, err := json.Marshal(c); err != nil || !reflect.DeepEqual(c[0], recvFont) {
			t.Fatalf("%q: %v %v", text, c, err)
		}
	})
}

// FuzzHandlers sends fuzzed r values, with the cookies of a real login, to
// every endpoint that parses r: the answer is never a 500 (a panic caught by
// the recoverer) and never hangs.
func FuzzHandlers(f *testing.F) {
	srv := NewServer(Options{PollHold: time.Millisecond, Logger: discardLogger()})
	f.Cleanup(srv.Close)
	c := newClient(f, srv)
	c.login()
	u, _ := url.Parse(srv.URL)
	cookies := c.hc.Jar.Cookies(u)
	w := srv.World()
	paths := []string{
		"/channel/poll2", "/channel/login2", "/channel/send_buddy_msg2", "/channel/send_qun_msg2",
		"/channel/send_discu_msg2", "/channel/send_sess_msg2", "/channel/get_recent_list2",
		"/api/get_user_friends2", "/api/get_group_name_list_mask2",
	}
	send, _ := json.Marshal(map[string]any{"clientid": clientID, "content": `["x",` + sendFont + `]`, "face": 1,
		"msg_id": 1, "psessionid": c.psessionid, "to": w.Friends[0].ID, "group_uin": w.Groups[0].ID})
	for i := range paths {
		f.Add(uint8(i), string(send))
		f.Add(uint8(i), `{"clientid":53999199,"key":"","psessionid":"`+c.psessionid+`","ptwebqq":"","status":"online"}`)
	}
	f.Add(uint8(0), "{")
	f.Fuzz(func(t *testing.T, which uint8, r string) {
		path := paths[int(which)%len(paths)]
		req := httptest.NewRequestWithContext(t.Context(), "POST", path, strings.NewReader(url.Values{"r": {r}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Referer", map[bool]string{true: refS, false: refD1}[strings.HasPrefix(path, "/api/")])
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("%s with r=%q: 500 %s", path, r, rec.Body)
		}
	})
}
