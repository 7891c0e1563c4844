package webqq

import (
	"slices"
	"testing"
)

func TestParsePtui(t *testing.T) {
	for _, tc := range []struct {
		description string
		body        string
		code        int
		args        []string
		wantErr     bool
	}{
		{"qr success", `ptuiCB('0','0','http://ptlogin4.web2.qq.com/check_sig?pttype=1&uin=949417747','0','登录成功！', '小灰');`,
			0, []string{"0", "0", "http://ptlogin4.web2.qq.com/check_sig?pttype=1&uin=949417747", "0", "登录成功！", "小灰"}, false},
		{"not scanned", `ptuiCB('66','0','','0','二维码未失效。(2929829018)', '')`, 66,
			[]string{"66", "0", "", "0", "二维码未失效。(2929829018)", ""}, false},
		{"pt4_auth, another callback name", `ptui_auth_CB('0','https://ptlogin2.web2.qq.com/check_sig?x=1')`, 0,
			[]string{"0", "https://ptlogin2.web2.qq.com/check_sig?x=1"}, false},
		{"check with an escaped salt", `ptui_checkVC('0','!QWE','\x00\x00\x00\x00\x12\x34\x56\x78','vs','0');`, 0,
			[]string{"0", "!QWE", `\x00\x00\x00\x00\x12\x34\x56\x78`, "vs", "0"}, false},
		{"html error page", `<html><body>502 Bad Gateway</body></html>`, 0, nil, true},
		{"code not a number", `ptuiCB('x','0')`, 0, nil, true},
		{"unterminated quote", `ptuiCB('65`, 0, nil, true},
		{"empty", ``, 0, nil, true},
	} {
		t.Run(tc.description, func(t *testing.T) {
			p, err := parsePtui([]byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if p.Code != tc.code || !slices.Equal(p.Args, tc.args) {
				t.Errorf("got %d %q, want %d %q", p.Code, p.Args, tc.code, tc.args)
			}
			if p.arg(99) != "" {
				t.Error("arg past the end is not empty")
			}
		})
	}
}

func TestUnescapeJS(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{`\x00\x00\x00\x00\xb7\x23\xc2\x72`, "\x00\x00\x00\x00\xb7\x23\xc2\x72", false},
		{`plain`, "plain", false},
		{`a\\b\'c\n`, "a\\b'c\n", false},
		{`\x4`, "", true},
		{`\xzz`, "", true},
		{`end\`, "", true},
	} {
		got, err := unescapeJS(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("unescapeJS(%q) = %q, %v; want %q (err %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
