package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openqq-relay/openqq"
)

func multipartBody(tb testing.TB, fields [][2]string, file bool) (string, string) {
	tb.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			tb.Fatal(err)
		}
	}
	if file {
		fw, err := w.CreateFormFile("content", "evil.txt")
		if err != nil {
			tb.Fatal(err)
		}
		fw.Write([]byte("from a file"))
	}
	w.Close()
	return w.FormDataContentType(), buf.String()
}

func TestParseParams(t *testing.T) {
	mpType, mpBody := multipartBody(t, [][2]string{{"id", "1"}, {"content", "你好"}, {"id", "2"}}, true)
	cases := []struct {
		name        string
		query, ct   string
		body        string
		want        Params
		wantErrCode int
	}{
		{name: "query", query: "id=1&content=hello+world%21", want: Params{"id": "1", "content": "hello world!"}},
		{name: "first value of a repeated name", query: "content=a&content=b", want: Params{"content": "a"}},
		{name: "query before the form", query: "id=1", ct: "application/x-www-form-urlencoded", body: "id=2&content=x",
			want: Params{"id": "1", "content": "x"}},
		{name: "form with charset", ct: "application/x-www-form-urlencoded; charset=UTF-8", body: "content=%E4%BD%A0",
			want: Params{"content": "你"}},
		{name: "multipart, file parts skipped", ct: mpType, body: mpBody, want: Params{"id": "1", "content": "你好"}},
		{name: "JSON strings and numbers", ct: "application/json", body: `{"id":2457053936,"uid":"123","time":1.2e2,"x":1.5}`,
			want: Params{"id": "2457053936", "uid": "123", "time": "120", "x": "1.5"}},
		{name: "JSON booleans, null and lists", ct: "application/json; charset=utf-8",
			body: `{"async":true,"sync":false,"name":null,"member_id":[1,"2",null]}`,
			want: Params{"async": "1", "sync": "0", "member_id": "1,2"}},
		{name: "JSON after the query", query: "id=1", ct: "text/json", body: `{"id":"2","content":"x"}`,
			want: Params{"id": "1", "content": "x"}},
		{name: "JSON nested object", ct: "application/json", body: `{"id":{"a":1}}`, wantErrCode: 400},
		{name: "JSON nested list", ct: "application/json", body: `{"id":[[1]]}`, wantErrCode: 400},
		{name: "JSON not an object", ct: "application/json", body: `"id"`, wantErrCode: 400},
		{name: "JSON trailing data", ct: "application/json", body: `{"id":1} {"id":2}`, wantErrCode: 400},
		{name: "JSON malformed", ct: "application/json", body: `{"id":`, wantErrCode: 400},
		{name: "empty JSON body", ct: "application/json", body: "  ", want: Params{}},
		{name: "multipart without boundary", ct: "multipart/form-data", body: "--x\r\n", wantErrCode: 400},
		{name: "broken multipart", ct: "multipart/form-data; boundary=x", body: "--x\r\nnonsense", wantErrCode: 400},
		{name: "other bodies ignored", ct: "text/plain", body: "id=2", want: Params{}},
		{name: "bad content type ignored", ct: ";;", body: "id=2", want: Params{}},
		{name: "malformed pairs skipped", query: "a=%zz&b=1&=3", want: Params{"b": "1"}},
		{name: "invalid UTF-8 replaced", query: "content=%FF", want: Params{"content": "\uFFFD"}},
		{name: "empty value kept", query: "member_id=", want: Params{"member_id": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseParams(c.query, c.ct, []byte(c.body))
			if c.wantErrCode != 0 {
				oe, ok := errors.AsType[*openqq.Error](err)
				if !ok || oe.Code != c.wantErrCode || oe.HTTPStatus != 400 || !strings.HasPrefix(oe.Status, "bad request") {
					t.Fatalf("got %v, %v; want a %d bad request", got, err, c.wantErrCode)
				}
				return
			}
			if err != nil || !maps.Equal(got, c.want) {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestParamsHelpers(t *testing.T) {
	p := Params{"a": "", "b": "0", "c": "false", "d": "00", "e": "1", "client": "x", "datatype": "jsonp",
		"callback": "cb", "_": "1", "access_token": "t", "async": "1", "uid": "", "id": "7"}
	for k, want := range map[string]bool{"a": false, "b": false, "missing": false, "c": true, "d": true, "e": true} {
		if p.Bool(k) != want {
			t.Errorf("Bool(%q) = %v, want %v (Perl truthiness)", k, !want, want)
		}
	}
	crit := p.Criteria()
	for _, k := range []string{"client", "datatype", "callback", "_", "access_token", "async"} {
		if _, ok := crit[k]; ok {
			t.Errorf("criteria keep reserved key %q", k)
		}
	}
	if crit["c"] != "false" || crit["uid"] != "" {
		t.Errorf("criteria lost a key: %v", crit)
	}
	if got := p.selectors("id", "uid", "name"); !maps.Equal(got, openqq.Criteria{"id": "7"}) {
		t.Errorf("selectors = %v, want only the non-empty id", got)
	}
	if got := p.command(); got["access_token"] != "" || got["client"] != "" || got["id"] != "7" {
		t.Errorf("command params = %v", got)
	}
	if got := splitList(" 1, ,2,,3 ,"); strings.Join(got, "|") != "1|2|3" {
		t.Errorf("splitList = %q", got)
	}
}

func TestEncodeJSON(t *testing.T) {
	b, err := encodeJSON(map[string]any{"s": "a/b <c> & 中文 \u2028", "n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"n":1,"s":"a\/b <c> & 中文 \u2028"}`; got != want {
		t.Errorf("encodeJSON = %s, want %s", got, want)
	}
	raw, err := encodeRaw([]byte(`{"z":"\u003cb\u003e/","a":23910327,"big":2457053936123456789,"f":1.50}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(raw), `{"a":23910327,"big":2457053936123456789,"f":1.50,"z":"<b>\/"}`; got != want {
		t.Errorf("encodeRaw = %s, want %s", got, want)
	}
	if _, err := encodeRaw([]byte(`{"a":`)); err == nil {
		t.Error("encodeRaw accepted broken JSON")
	}
}

func TestValidCallback(t *testing.T) {
	for _, cb := range []string{"cb", "jQuery1101_1475135588", "$.callbacks.x1", "_a$"} {
		if !validCallback(cb) {
			t.Errorf("%q rejected", cb)
		}
	}
	for _, cb := range []string{"", "1cb", "a-b", "a(b)", "a.", ".a", "a..b", "alert(1)//", "a b", "a[0]", strings.Repeat("a", 129)} {
		if validCallback(cb) {
			t.Errorf("%q accepted", cb)
		}
	}
}

// FuzzParseParams: any input either fails with a 400 or yields valid UTF-8
// params that survive a round trip through a form body and a JSON body.
func FuzzParseParams(f *testing.F) {
	mpType, mpBody := multipartBody(f, [][2]string{{"id", "1"}, {"content", "x"}}, true)
	f.Add("id=1&content=hello", "", "")
	f.Add("content=a&content=b", "application/x-www-form-urlencoded", "id=2&content=%E4%BD%A0")
	f.Add("", "application/json", `{"id":2457053936,"content":"hi","async":true,"member_id":[1,2]}`)
	f.Add("", "application/json", `{"id":1.5e300}`)
	f.Add("x=%FF%FE", "text/json", `{"\u0000":"\ud800"}`)
	f.Add("", mpType, mpBody)
	f.Add(";&=&a=;", "multipart/form-data; boundary=", "--\r\n")
	f.Fuzz(func(t *testing.T, query, contentType, body string) {
		p, err := ParseParams(query, contentType, []byte(body))
		if err != nil {
			if oe, ok := errors.AsType[*openqq.Error](err); !ok || oe.HTTPStatus != 400 {
				t.Fatalf("error %v is not a 400 answer", err)
			}
			return
		}
		for k, v := range p {
			if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("bad param %q=%q", k, v)
			}
		}
		form := url.Values{}
		for k, v := range p {
			form.Set(k, v)
		}
		back, err := ParseParams("", "application/x-www-form-urlencoded", []byte(form.Encode()))
		if err != nil || !maps.Equal(back, p) {
			t.Fatalf("form round trip: %v, %v; want %v", back, err, p)
		}
		js, err := json.Marshal(map[string]string(p))
		if err != nil {
			t.Fatal(err)
		}
		back, err = ParseParams("", "application/json", js)
		if err != nil || !maps.Equal(back, p) {
			t.Fatalf("JSON round trip: %v, %v; want %v", back, err, p)
		}
	})
}
