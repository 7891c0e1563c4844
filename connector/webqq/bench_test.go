package webqq

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// pollBatch100 is a poll2 answer with 100 messages of every kind.
func pollBatch100() []byte {
	var b strings.Builder
	b.WriteString(`{"retcode":0,"result":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		content := `[["font",{"size":10,"color":"000000","style":[0,0,0],"name":"宋体"}],"message &amp; text number ` +
			fmt.Sprint(i) + ` :joy:",["face",14],"\r\nend"]`
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, `{"poll_type":"message","value":{"msg_id":%d,"from_uin":1,"to_uin":10001,"time":1500000000,"content":%s}}`, i, content)
		case 1:
			fmt.Fprintf(&b, `{"poll_type":"group_message","value":{"msg_id":%d,"from_uin":100,"send_uin":3,"to_uin":10001,"time":1500000000,"content":%s}}`, i, content)
		case 2:
			fmt.Fprintf(&b, `{"poll_type":"discu_message","value":{"msg_id":%d,"did":300,"send_uin":5,"to_uin":10001,"time":1500000000,"content":%s}}`, i, content)
		case 3:
			fmt.Fprintf(&b, `{"poll_type":"sess_message","value":{"msg_id":%d,"from_uin":3,"id":100,"service_type":0,"to_uin":10001,"time":1500000000,"content":%s}}`, i, content)
		}
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkDecodePoll2 decodes a 100-message poll2 answer into
// openqq.Messages (JSON decoding, content conversion, sender naming).
func BenchmarkDecodePoll2(b *testing.B) {
	body := pollBatch100()
	ct := fuzzContacts()
	now := time.Unix(1, 0)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		batch, err := decodePoll2(body)
		if err != nil {
			b.Fatal(err)
		}
		r := &resolver{ct: ct, refreshed: map[string]bool{}}
		n := 0
		for _, it := range batch.Items {
			if _, err := buildMessage(r, it, now); err == nil {
				n++
			}
		}
		if n != 100 {
			b.Fatalf("%d messages", n)
		}
	}
}

// friends5000 is a get_user_friends2 answer with 5,000 friends.
func friends5000() []byte {
	var f, m, v, in strings.Builder
	for i := range 5000 {
		if i > 0 {
			f.WriteByte(',')
			v.WriteByte(',')
			in.WriteByte(',')
		}
		uin := 2000000000 + i
		fmt.Fprintf(&f, `{"flag":0,"uin":%d,"categories":%d}`, uin, i%10)
		fmt.Fprintf(&v, `{"vip_level":%d,"u":%d,"is_vip":%d}`, i%7, uin, i%2)
		fmt.Fprintf(&in, `{"face":%d,"flag":0,"nick":"好友&amp;昵称%d","uin":%d}`, i%200, i, uin)
		if i%3 == 0 {
			if m.Len() > 0 {
				m.WriteByte(',')
			}
			fmt.Fprintf(&m, `{"uin":%d,"markname":"备注%d","type":0}`, uin, i)
		}
	}
	var cats strings.Builder
	for i := 1; i < 10; i++ {
		if i > 1 {
			cats.WriteByte(',')
		}
		fmt.Fprintf(&cats, `{"index":%d,"sort":%d,"name":"分组%d"}`, i, i, i)
	}
	return []byte(`{"retcode":0,"result":{"friends":[` + f.String() + `],"marknames":[` + m.String() +
		`],"categories":[` + cats.String() + `],"vipinfo":[` + v.String() + `],"info":[` + in.String() + `]}}`)
}

// BenchmarkDecodeFriends decodes and joins a 5,000-friend get_user_friends2
// answer.
func BenchmarkDecodeFriends(b *testing.B) {
	body := friends5000()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		fs, err := decodeFriends(body)
		if err != nil || len(fs) != 5000 {
			b.Fatalf("%d friends, %v", len(fs), err)
		}
	}
}
