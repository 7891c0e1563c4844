package relay

import (
	"testing"
)

// Benchmarks of the request path over loopback HTTP on the real store. The
// figures belong in BENCHMARKS.md, never in assertions.

func BenchmarkGetFriendInfo(b *testing.B) {
	e := newEnv(b).seed()
	for b.Loop() {
		if res := e.do(get("/openqq/get_friend_info")); res.status != 200 {
			b.Fatalf("%d %s", res.status, res.body)
		}
	}
}

// BenchmarkSendFriendMessage is a full command round trip: validation, the
// command bus, a test connector's answer.
func BenchmarkSendFriendMessage(b *testing.B) {
	e := newEnv(b).seed()
	e.connector(defaultAnswer)
	for b.Loop() {
		if res := e.do(get("/openqq/send_friend_message?id=2457053936&content=hi")); res.status != 200 {
			b.Fatalf("%d %s", res.status, res.body)
		}
	}
}

func BenchmarkParseParams(b *testing.B) {
	body := []byte(`{"id":2457053936,"content":"你好 hello","async":true,"member_id":[1,2,3]}`)
	for b.Loop() {
		if _, err := ParseParams("datatype=jsonp&callback=cb&client=default", "application/json", body); err != nil {
			b.Fatal(err)
		}
	}
}
