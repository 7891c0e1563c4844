package webqq

import "testing"

func TestEncodeR(t *testing.T) {
	for _, tc := range []struct {
		description string
		in          any
		want        string
	}{
		{"sorted keys, null, slash escaped",
			map[string]any{"status": "online", "ptwebqq": nil, "psessionid": "a/b", "clientid": clientID},
			`{"clientid":53999199,"psessionid":"a\/b","ptwebqq":null,"status":"online"}`},
		{"non-ASCII raw, no HTML escaping",
			map[string]any{"name": "宋体 <b>&</b>"},
			`{"name":"宋体 <b>&<\/b>"}`},
		{"nested content string is encoded twice",
			map[string]any{"content": `["hi",["font",{"name":"宋体"}]]`, "to": int64(2457053936)},
			`{"content":"[\"hi\",[\"font\",{\"name\":\"宋体\"}]]","to":2457053936}`},
		{"line separators escaped as Mojo::JSON did",
			map[string]any{"s": "a\u2028b\n"},
			`{"s":"a\u2028b\n"}`},
	} {
		got, err := encodeR(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s: encodeR = %s, %v\nwant %s", tc.description, got, err, tc.want)
		}
	}
}
