package webqq

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/openqq-relay/openqq"
)

// fuzzContacts is a fixed world for converting fuzzed poll items.
func fuzzContacts() *openqq.Contacts {
	card := "卡"
	return &openqq.Contacts{
		User:    openqq.User{ID: 10001, UID: 10001, Name: "me"},
		Friends: []openqq.Friend{{ID: 1, Name: "a"}},
		Groups: []openqq.Group{{ID: 100, Name: "g", Members: []openqq.Member{
			{ID: 10001, Name: "me", Card: &card}, {ID: 1, Name: "a"}, {ID: 3, Name: "c"}}}},
		Discusses: []openqq.Discuss{{ID: 300, Name: "d", Members: []openqq.DiscussMember{{ID: 5, Name: "e"}}}},
	}
}

func FuzzDecodePoll2(f *testing.F) {
	f.Add([]byte(pollBatchJSON))
	f.Add([]byte(`{"retcode":116,"p":"x"}`))
	f.Add([]byte(`{"retcode":0,"result":null}`))
	f.Add([]byte(`{"retcode":"0","result":[{"poll_type":"sess_message","value":{"service_type":"1","id":300,"from_uin":5,"content":[]}}]}`))
	f.Add([]byte(`<html>502</html>`))
	f.Add([]byte(`{"retcode":0,"result":[{"poll_type":"group_web_message","value":{"from_uin":100,"send_uin":1,"xml":"<d><n t=\"t\" s=\"共享文件\"/><n t=\"t\" s=\"f\"/></d>"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodePoll2(data)
		if err != nil {
			return
		}
		r := &resolver{ct: fuzzContacts(), refreshed: map[string]bool{}}
		for _, it := range b.Items {
			m, err := buildMessage(r, it, time.Unix(1, 0))
			if err == nil && (m.Class != openqq.ClassRecv || m.Type == "") {
				t.Fatalf("message without class or type: %+v", m)
			}
		}
	})
}

func FuzzConvertContent(f *testing.F) {
	f.Add([]byte(`[["font",{}],"hi &amp; :joy:",["face",14],["cface",{}],["x"],1]`), "hi[微笑]<b>[呲牙")
	f.Add([]byte(`[["font",{}]]`), "")
	f.Add([]byte(`[]`), "[[微笑]]")
	f.Fuzz(func(t *testing.T, content []byte, text string) {
		var raw []json.RawMessage
		if json.Unmarshal(content, &raw) == nil {
			_, _ = convertContent(raw)
			_ = isJunkGroupContent(raw)
		}
		if !utf8.ValidString(text) {
			return // the API hands over UTF-8
		}
		wire, err := wireContent(text)
		if err != nil {
			t.Fatalf("wireContent(%q): %v", text, err)
		}
		// The wire array must decode and give the text back.
		var segs []json.RawMessage
		if err := json.Unmarshal([]byte(wire), &segs); err != nil || len(segs) == 0 {
			t.Fatalf("wire %s does not decode: %v", wire, err)
		}
		var back strings.Builder
		for _, s := range segs[:len(segs)-1] {
			var str string
			if json.Unmarshal(s, &str) == nil {
				back.WriteString(str)
				continue
			}
			var face []any
			if err := json.Unmarshal(s, &face); err != nil || len(face) != 2 || face[0] != "face" {
				t.Fatalf("segment %s", s)
			}
			back.WriteString("[" + faceNames[int(face[1].(float64))] + "]")
		}
		if back.String() != text {
			t.Fatalf("wire %s gives %q back, want %q", wire, back.String(), text)
		}
	})
}

func FuzzParsePtui(f *testing.F) {
	f.Add(`ptuiCB('0','0','http://ptlogin4.web2.qq.com/check_sig?x','0','登录成功！', 'n');`)
	f.Add(`ptui_checkVC('0','!ABC','\x00\x00\x00\x00\x12\x34\x56\x78','vs','0');`)
	f.Add(`'`)
	f.Fuzz(func(t *testing.T, body string) {
		p, err := parsePtui([]byte(body))
		if err == nil && (len(p.Args) == 0 || strconv.Itoa(p.Code) == "" || p.arg(len(p.Args)) != "") {
			t.Fatalf("bad parse %+v", p)
		}
		for _, a := range p.Args {
			_, _ = unescapeJS(a)
		}
		_, _ = (hostMap{}).checkSig(body)
	})
}

func FuzzDecodeContacts(f *testing.F) {
	f.Add([]byte(`{"retcode":0,"result":{"friends":[{"flag":0,"uin":1,"categories":1}],"marknames":[{"uin":1,"markname":"m"}],"categories":[{"index":1,"name":"c"}],"vipinfo":[{"u":1,"is_vip":1,"vip_level":2}],"info":[{"uin":1,"nick":"n","face":1}]}}`))
	f.Add([]byte(`{"retcode":0,"result":{"ginfo":{"gid":1,"code":2,"owner":3},"minfo":[{"uin":3,"nick":"x"}],"cards":[{"muin":3,"card":"c"}],"stats":[{"uin":3,"stat":10,"client_type":1}]}}`))
	f.Add([]byte(`{"retcode":0,"result":{"info":{"did":1,"discu_owner":2,"mem_list":[{"mem_uin":2,"ruin":3}]},"mem_status":[],"mem_info":[{"uin":2,"nick":"x"}]}}`))
	f.Add([]byte(`{"retcode":0,"result":{"gnamelist":[{"gid":1,"code":2,"name":"g"}]}}`))
	f.Add([]byte(`{"retcode":0,"result":[{"uin":1,"status":"online","client_type":1}]}`))
	f.Add([]byte(`{"retcode":0,"result":{"birthday":{"year":1,"month":2,"day":3},"uin":5,"nick":"me"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeFriends(data)
		_, _ = decodeOnline(data)
		_, _ = decodeSelfInfo(data, 1)
		_, _ = decodeGroupList(data)
		_, _ = decodeDiscussList(data)
		var g openqq.Group
		if decodeGroupInfo(data, &g) == nil {
			for _, m := range g.Members {
				if m.Card != nil && len(*m.Card) > cardBytes {
					t.Fatalf("card %q longer than %d bytes", *m.Card, cardBytes)
				}
			}
		}
		var d openqq.Discuss
		_ = decodeDiscussInfo(data, &d)
		_ = sendStatus(data)
	})
}

func FuzzJarImport(f *testing.F) {
	f.Add([]byte(`[{"name":"skey","value":"@a","domain":"qq.com","path":"/","expires":0,"secure":false,"httponly":true,"host_only":false}]`))
	f.Add([]byte(`[{"name":"a","value":"1","domain":".W.QQ.com","path":"x","expires":4102444800,"host_only":true}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		j := newJar()
		if j.UnmarshalJSON(data) != nil {
			return
		}
		first, _ := j.MarshalJSON()
		k := newJar()
		if err := k.UnmarshalJSON(first); err != nil {
			t.Fatalf("export does not import: %v", err)
		}
		if second, _ := k.MarshalJSON(); string(second) != string(first) {
			t.Fatalf("round trip changed the jar:\n%s\n%s", first, second)
		}
	})
}
