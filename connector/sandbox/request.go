package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Constants of spec §13: the referers each call must carry and the ids it
// must name.
const (
	refW        = "http://w.qq.com/"
	refXLogin   = "https://xui.ptlogin2.qq.com/cgi-bin/xlogin?daid=164&target=self&style=40&pt_disable_pwd=1&mibao_css=m_webqq&appid=501004106&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert&strong_login=1&login_state=10&t=20131024001"
	refS        = "https://s.web2.qq.com/proxy.html?v=20130916001&callback=1&id=1"
	refD1       = "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2"
	refQun      = "http://qun.qq.com/member.html"
	refQunRoot  = "http://qun.qq.com/"
	refQInfo    = "http://qinfo.clt.qq.com/member.html"
	refQInfo3   = "http://qinfo.clt.qq.com/qinfo_v3/member.html"
	refQiandao  = "http://qiandao.qun.qq.com/index.html?groupUin=%d&appID=100729587"
	refExtLogin = "https://xui.ptlogin2.qq.com/cgi-bin/xlogin?appid=715030901&daid=73&pt_no_auth=1&s_url=http%3A%2F%2Fqun.qq.com%2F"

	appID    = 501004106
	daID     = 164
	extAppID = 715030901
	extDaID  = 73
	clientID = 53999199
)

func refererIs(r *http.Request, want string) bool { return r.Header.Get("Referer") == want }

// errBadR is any r= parameter that is not a JSON object.
var errBadR = errors.New("r is not a JSON object")

// decodeR parses the r= parameter: a JSON object whose keys the client
// sorts, though any order is accepted. Numbers stay json.Number.
func decodeR(raw string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errBadR
	}
	if dec.More() {
		return nil, errBadR
	}
	return m, nil
}

// formR reads r from the form body or the query (get_group_name_list_mask2
// is sent both ways).
func formR(r *http.Request) (map[string]any, error) {
	return decodeR(r.FormValue("r"))
}

// intField reads a number, or a string of digits, from an r object.
func intField(m map[string]any, key string) (int64, bool) {
	switch v := m[key].(type) {
	case json.Number:
		n, err := strconv.ParseInt(v.String(), 10, 64)
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// strField reads a string; JSON null and a missing key read as "" with
// ok=true for null only when nullOK.
func strField(m map[string]any, key string, nullOK bool) (string, bool) {
	v, present := m[key]
	switch v := v.(type) {
	case string:
		return v, true
	case nil:
		return "", present && nullOK
	}
	return "", false
}

// queryInt reads a decimal query or form parameter.
func queryInt(r *http.Request, key string) (int64, bool) {
	n, err := strconv.ParseInt(r.FormValue(key), 10, 64)
	return n, err == nil
}

// retcode answers a SmartQQ failure body. The real service mostly sent
// errmsg empty; the sandbox says why, which no client reads.
func retcode(w http.ResponseWriter, rc int, why string) {
	writeJSON(w, map[string]any{"retcode": rc, "errmsg": why})
}

// Cookies. On a *.qq.com Host (a client that maps the real hosts here) they
// carry their real domains; on 127.0.0.1 or localhost they are host-only,
// since a cookie jar refuses a qq.com domain from those hosts.

func qqHost(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	return host == "qq.com" || strings.HasSuffix(host, ".qq.com")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value, domain string) {
	c := &http.Cookie{Name: name, Value: value, Path: "/"}
	if qqHost(r) {
		c.Domain = domain
	}
	http.SetCookie(w, c)
}

func expireCookie(w http.ResponseWriter, r *http.Request, name, domain string) {
	c := &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0)}
	if qqHost(r) {
		c.Domain = domain
	}
	http.SetCookie(w, c)
}

func cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// baseURL is scheme://host of the request: the check_sig URLs handed out
// point back at whatever address the client used to reach the sandbox.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// jsString quotes s as a single-quoted JavaScript string argument of a
// ptlogin callback. Quotes and backslashes never occur in what the sandbox
// sends, but nicks come from control calls, so escape them anyway.
func jsString(s string) string {
	var b bytes.Buffer
	b.WriteByte('\'')
	for _, c := range s {
		switch c {
		case '\'', '\\':
			fmt.Fprintf(&b, "\\x%02x", c)
		case '\n':
			b.WriteString("\\n")
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// writeJS answers a ptlogin JavaScript callback: name('a','b',…);
func writeJS(w http.ResponseWriter, name string, args ...string) {
	w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('(')
	for i, a := range args {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsString(a))
	}
	b.WriteString(");")
	fmt.Fprint(w, b.String())
}

// ptuiCB answers a ptlogin result in the real layout (note the space before
// the nick); clients read the quoted strings in order.
func ptuiCB(w http.ResponseWriter, code, url, msg, nick string) {
	w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	fmt.Fprintf(w, "ptuiCB(%s,%s,%s,%s,%s, %s);\r\n",
		jsString(code), jsString("0"), jsString(url), jsString("0"), jsString(msg), jsString(nick))
}

// forbidden is what the ptlogin and qun.qq.com hosts gave a request without
// the referer they expect.
func forbidden(w http.ResponseWriter) {
	http.Error(w, "403 Forbidden", http.StatusForbidden)
}
