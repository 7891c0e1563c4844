package webqq

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func cookieNames(cs []*http.Cookie) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+"="+c.Value)
	}
	return strings.Join(out, " ")
}

// jarTest sets cookies from one URL and checks what other URLs receive.
type jarTest struct {
	description string
	from        string
	setCookies  []string
	queries     map[string]string // URL → expected "name=value …"
}

var jarTests = []jarTest{
	{
		"host cookie stays on its host",
		"https://ssl.ptlogin2.qq.com/ptqrshow",
		[]string{"qrsig=abc; Path=/"},
		map[string]string{
			"https://ssl.ptlogin2.qq.com/ptqrlogin": "qrsig=abc",
			"https://xui.ptlogin2.qq.com/":          "",
		},
	},
	{
		"domain cookie reaches subdomains",
		"https://ptlogin4.web2.qq.com/check_sig",
		[]string{"skey=@k1; Domain=qq.com; Path=/", "p_skey=ps; Domain=web2.qq.com; Path=/"},
		map[string]string{
			"https://s.web2.qq.com/api/x": "skey=@k1 p_skey=ps",
			"https://qun.qq.com/cgi-bin/": "skey=@k1",
			"https://example.com/":        "",
		},
	},
	{
		"foreign and single-label domains are refused",
		"https://w.qq.com/",
		[]string{"a=1; Domain=example.com", "b=2; Domain=com", "c=3; Domain=.qq.com"},
		map[string]string{"https://d1.web2.qq.com/": "c=3"},
	},
	{
		"path matching, longest path first",
		"https://s.web2.qq.com/api/get",
		[]string{"a=root; Path=/", "b=api; Path=/api", "c=other; Path=/apix"},
		map[string]string{
			"https://s.web2.qq.com/api/get": "b=api a=root",
			"https://s.web2.qq.com/apix":    "c=other a=root",
		},
	},
	{
		"secure cookies only over https",
		"https://w.qq.com/",
		[]string{"s=1; Secure", "p=2"},
		map[string]string{"http://w.qq.com/": "p=2", "https://w.qq.com/": "s=1 p=2"},
	},
	{
		"max-age 0 and past expiry delete",
		"http://127.0.0.1:8080/",
		[]string{"a=1", "b=2", "a=; Max-Age=0", "b=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"},
		map[string]string{"http://127.0.0.1:8080/": ""},
	},
	{
		"an IP host takes no domain cookies",
		"http://127.0.0.1:8080/",
		[]string{"a=1; Domain=qq.com", "b=2; Domain=127.0.0.1"},
		map[string]string{"http://127.0.0.1:9090/x": "b=2"},
	},
}

func TestJar(t *testing.T) {
	for _, tc := range jarTests {
		t.Run(tc.description, func(t *testing.T) {
			j := newJar()
			var cs []*http.Cookie
			for _, s := range tc.setCookies {
				c, err := http.ParseSetCookie(s)
				if err != nil {
					t.Fatal(err)
				}
				cs = append(cs, c)
			}
			j.SetCookies(mustURL(t, tc.from), cs)
			for u, want := range tc.queries {
				if got := cookieNames(j.Cookies(mustURL(t, u))); got != want {
					t.Errorf("Cookies(%s) = %q, want %q", u, got, want)
				}
			}
		})
	}
}

func TestJarGetFirstByName(t *testing.T) {
	j := newJar()
	j.SetCookies(mustURL(t, "https://a.qq.com/"), []*http.Cookie{{Name: "skey", Value: "first"}})
	j.SetCookies(mustURL(t, "https://b.qq.com/"), []*http.Cookie{{Name: "skey", Value: "second"}})
	if v, ok := j.Get("skey"); !ok || v != "first" {
		t.Errorf("Get(skey) = %q, %v; want the oldest, first", v, ok)
	}
	// Replacing the oldest keeps its place.
	j.SetCookies(mustURL(t, "https://a.qq.com/"), []*http.Cookie{{Name: "skey", Value: "renewed"}})
	if v, _ := j.Get("skey"); v != "renewed" {
		t.Errorf("Get(skey) = %q, want renewed", v)
	}
	if _, ok := j.Get("missing"); ok {
		t.Error("Get(missing) found something")
	}
}

func TestJarExportImportRoundTrip(t *testing.T) {
	now := time.Unix(1_500_000_000, 0)
	j := newJar()
	j.now = func() time.Time { return now }
	var changes [][]byte
	j.onChange = func(b []byte) { changes = append(changes, b) }
	u := mustURL(t, "https://ptlogin4.web2.qq.com/check_sig")
	j.SetCookies(u, []*http.Cookie{
		{Name: "skey", Value: "@abc", Domain: "qq.com", Path: "/", HttpOnly: true},
		{Name: "supertoken", Value: "st", Path: "/", MaxAge: 3600, Secure: true},
		{Name: "uin", Value: "o0123456", Domain: ".qq.com", Path: "/"},
	})
	if len(changes) != 1 {
		t.Fatalf("%d change notifications, want 1", len(changes))
	}
	// Setting the same cookies again is no change.
	j.SetCookies(u, []*http.Cookie{{Name: "skey", Value: "@abc", Domain: "qq.com", Path: "/", HttpOnly: true}})
	if len(changes) != 1 {
		t.Errorf("unchanged cookie notified")
	}
	data, err := j.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var list []jarCookie
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	want := []jarCookie{
		{Name: "skey", Value: "@abc", Domain: "qq.com", Path: "/", HTTPOnly: true},
		{Name: "supertoken", Value: "st", Domain: "ptlogin4.web2.qq.com", Path: "/", Expires: now.Unix() + 3600, Secure: true, HostOnly: true},
		{Name: "uin", Value: "o0123456", Domain: "qq.com", Path: "/"},
	}
	if !slices.Equal(list, want) {
		t.Errorf("export\n%+v\nwant\n%+v", list, want)
	}
	for _, key := range []string{`"name"`, `"value"`, `"domain"`, `"path"`, `"expires"`, `"secure"`, `"httponly"`, `"host_only"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("export lacks key %s: %s", key, data)
		}
	}

	k := newJar()
	k.now = j.now
	if err := k.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	again, _ := k.MarshalJSON()
	if string(again) != string(data) {
		t.Errorf("round trip changed the jar:\n%s\n%s", data, again)
	}
	if got := cookieNames(k.Cookies(mustURL(t, "https://ptlogin4.web2.qq.com/x"))); got != "skey=@abc supertoken=st uin=o0123456" {
		t.Errorf("imported jar sends %q", got)
	}
	if got := cookieNames(k.Cookies(mustURL(t, "https://s.web2.qq.com/"))); got != "skey=@abc uin=o0123456" {
		t.Errorf("imported jar sends %q to another host", got)
	}

	// Expired cookies are dropped on import; bad input leaves the jar as is.
	k.now = func() time.Time { return now.Add(2 * time.Hour) }
	if err := k.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Get("supertoken"); ok {
		t.Error("expired supertoken imported")
	}
	if err := k.UnmarshalJSON([]byte(`{"not":"a list"}`)); err == nil {
		t.Error("bad export accepted")
	}
	if _, ok := k.Get("skey"); !ok {
		t.Error("a failed import emptied the jar")
	}
}

// The Cookie header is built once; for cookies a browser could send it is
// what AddCookie one by one would build, and the others are left out.
func TestCookieHeader(t *testing.T) {
	valid := []*http.Cookie{{Name: "ptwebqq", Value: "abc123"}, {Name: "uin", Value: "o0123"},
		{Name: "spaced", Value: "a b"}, {Name: "comma", Value: "x,y"}, {Name: "empty", Value: ""}}
	req, _ := http.NewRequest(http.MethodGet, "http://d1.web2.qq.com/", nil)
	for _, ck := range valid {
		req.AddCookie(ck)
	}
	if got, want := cookieHeader(valid), req.Header.Get("Cookie"); got != want {
		t.Errorf("cookieHeader = %q, AddCookie built %q", got, want)
	}
	bad := append([]*http.Cookie{{Name: "bad name", Value: "1"}, {Name: "semi", Value: "a;b"}}, valid[:2]...)
	if got, want := cookieHeader(bad), "ptwebqq=abc123; uin=o0123"; got != want {
		t.Errorf("cookieHeader with bad cookies = %q, want %q", got, want)
	}
	if got := cookieHeader(nil); got != "" {
		t.Errorf("no cookies: %q", got)
	}
}
