package webqq

import (
	"encoding/json"
	"testing"
)

const font = `["font",{"size":10,"color":"000000","style":[0,0,0],"name":"宋体"}]`

func TestConvertContent(t *testing.T) {
	for _, tc := range []struct {
		description string
		content     string
		want        string
		wantErr     bool
	}{
		{"text with a face", `[` + font + `,"hello ",["face",14],"world"]`, "hello [微笑]world", false},
		{"picture only", `[` + font + `]`, "[图片]", false},
		{"face 0 is 表情, not 惊讶", `[` + font + `,["face",0]]`, "[表情]", false},
		{"unknown face id", `[` + font + `,["face",999]]`, "[表情]", false},
		{"face id as a string", `[` + font + `,["face","13"]]`, "[呲牙]", false},
		{"group picture and offline picture", `[` + font + `,["cface",{"name":"{A}.jpg","file_id":1,"key":"k","server":"1.2.3.4:80"}],"x",["offpic",{"file_path":"/p"}]]`,
			"[图片]x[图片]", false},
		{"other arrays and values", `[` + font + `,["shake",1],{"a":1},42,[]]`, "[未识别内容][未识别内容][未识别内容][未识别内容]", false},
		{"entities, nbsp, crlf", `[` + font + `,"a&nbsp;b &amp; &lt;c&gt; &quot;d&quot; &#39;e&#39; &#20320;\r\nf"]`,
			"a b & <c> \"d\" 'e' 你\nf", false},
		{"emoji codes, unknown ones stay", `[` + font + `,":joy: and :100: but :nope: and :JOY:"]`,
			"[高兴] and [100分] but :nope: and :JOY:", false},
		{"element 0 is always dropped", `["lead","kept"]`, "kept", false},
		{"empty array", `[]`, "", true},
	} {
		t.Run(tc.description, func(t *testing.T) {
			var raw []json.RawMessage
			if err := json.Unmarshal([]byte(tc.content), &raw); err != nil {
				t.Fatal(err)
			}
			got, err := convertContent(raw)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("convertContent = %q, %v; want %q (err %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestJunkGroupContent(t *testing.T) {
	var junk, fine []json.RawMessage
	b, _ := json.Marshal(junkGroupText)
	_ = json.Unmarshal([]byte(`[`+font+`,`+string(b)+`]`), &junk)
	_ = json.Unmarshal([]byte(`[`+font+`,"宋体"]`), &fine)
	if !isJunkGroupContent(junk) || isJunkGroupContent(fine) || isJunkGroupContent(nil) {
		t.Error("junk group content not recognised exactly")
	}
}

func TestWireContent(t *testing.T) {
	const fontWire = `["font",{"color":"000000","name":"宋体","size":10,"style":[0,0,0]}]`
	for _, tc := range []struct {
		in, want string
	}{
		{"hi[微笑]", `["hi",["face",14],` + fontWire + `]`},
		{"[微笑][呲牙]x", `[["face",14],["face",13],"x",` + fontWire + `]`},
		{"[不是表情] [[微笑]]", `["[不是表情] [",["face",14],"]",` + fontWire + `]`},
		{"a/b :joy:", `["a\/b :joy:",` + fontWire + `]`},
		{"", `[` + fontWire + `]`},
	} {
		got, err := wireContent(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("wireContent(%q) = %s, %v\nwant %s", tc.in, got, err, tc.want)
		}
	}
	if got := fullWidthBrackets("a<b>c"); got != "a＜b＞c" {
		t.Errorf("fullWidthBrackets = %q", got)
	}
}

func TestSharedFile(t *testing.T) {
	for _, tc := range []struct {
		xml  string
		file string
		ok   bool
	}{
		{`<?xml version="1.0" encoding="utf-8"?><d><n t="h" u="123456"/><n t="t" s="共享文件"/><n t="t" s="report.pdf"/></d>`, "report.pdf", true},
		{`<d><n t="t" s="report.pdf"/><n t="t" s="共享文件"/></d>`, "report.pdf", true},
		{`<d><n t="h" u="1"/><n t="t" s="公告"/></d>`, "", false},
		{`<n t="t" s="共享文件"/><n t="t" s="x"/>`, "", false}, // not inside d
		{`<d><n t="t" s="共享文件"`, "", false},
		{``, "", false},
	} {
		file, ok := sharedFile(tc.xml)
		if ok != tc.ok || (ok && file != tc.file) {
			t.Errorf("sharedFile(%q) = %q, %v; want %q, %v", tc.xml, file, ok, tc.file, tc.ok)
		}
	}
}
