package relay

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"testing"

	"github.com/openqq-relay/openqq"
)

func ptr[T any](v T) *T { return &v }

// fixtureContacts is one account's snapshot, after spec/API.md's examples,
// plus the awkward cases: unknown uids, no markname, "/" and HTML
// characters in names, groups and discussions whose members are not loaded.
func fixtureContacts() *openqq.Contacts {
	return &openqq.Contacts{
		User: openqq.User{
			ID: 1234567, UID: 1234567, Account: "1234567", Name: "小灰", Signature: " ", Sex: "male",
			Birthday: "1990-1-1", State: openqq.StatusOnline, ClientType: openqq.ClientTypeWeb,
			Mobile: "188********", Country: "中国", Province: "北京", City: "北京",
			Personal: "这是我的个性签名", Occupation: "计算机/互联网/IT", Blood: 3,
		},
		Friends: []openqq.Friend{
			{ID: 2457053936, UID: 123456, Name: "测试帐号1", Markname: ptr("xxx"), Category: "我的网友",
				Face: 153, IsVip: ptr(openqq.Int(1)), VipLevel: ptr(openqq.Int(6)),
				State: openqq.StatusOffline, ClientType: openqq.ClientTypeUnknown},
			{ID: 2475249571, UID: 7891234, Name: "测试帐号2", Markname: ptr("哈哈"), Category: "我的家人",
				Face: 168, Flag: 32, IsVip: ptr(openqq.Int(0)), VipLevel: ptr(openqq.Int(0)),
				State: openqq.StatusOffline, ClientType: openqq.ClientTypeUnknown},
			{ID: 3000000001, Name: "a/b <c> & d", Category: openqq.DefaultCategory,
				State: openqq.StatusOnline, ClientType: "pc"},
		},
		Groups: []openqq.Group{
			{ID: 2617047292, UID: 67890, Code: 120555000, Name: "PERL学习交流", Memo: "群简介",
				CreateTime: 1468635000, OwnerID: 2372835507, OwnerUID: 456789, Role: openqq.GroupRoleManage,
				Members: []openqq.Member{
					{ID: 2832277643, UID: 45678, Name: "xxx", Card: ptr("吃瓜群众"), Sex: "male", Country: "中国",
						Province: "辽宁", City: "大连", State: openqq.StatusOffline, ClientType: openqq.ClientTypeUnknown,
						Role: openqq.MemberRoleMember, LastSpeakTime: 1453449884},
					{ID: 2372835507, UID: 456789, Name: "灰灰", Sex: "female", Country: "中国",
						State: openqq.StatusOnline, ClientType: openqq.ClientTypeUnknown, Role: openqq.MemberRoleOwner},
				}},
			{ID: 1375660000, Code: 120555001, Name: "群名", Markname: ptr("我的群"), CreateTime: 1468635001},
		},
		Discusses: []openqq.Discuss{
			{ID: 4118239384, Name: "测试", OwnerID: 4118239384, Members: []openqq.DiscussMember{
				{ID: 4118239384, UID: 1234567, Name: "小灰", State: openqq.StatusOffline, ClientType: openqq.ClientTypeUnknown},
				{ID: 456789, UID: 789, Name: "哈哈", State: openqq.StatusOffline, ClientType: openqq.ClientTypeUnknown},
			}},
			{ID: 5000000000, Name: "空讨论组", OwnerID: 4118239384},
		},
	}
}

// fixturePosts are check_event items: a received group message, a sent
// friend message and an event, as the connector publishes them.
func fixturePosts(tb testing.TB) [][]byte {
	tb.Helper()
	posts := []openqq.Post{
		openqq.NewMessagePost(&openqq.Message{
			Type: openqq.GroupMessage, Class: openqq.ClassRecv, ID: 10856, Time: 1442542632,
			Content: "测试一下 http://example.com/a", SenderID: 2372835507, Sender: "灰灰", SenderUID: 456789,
			ReceiverID: 1234567, Receiver: "小灰", ReceiverUID: 1234567,
			GroupID: 2617047292, Group: "PERL学习交流", GroupUID: 67890,
		}),
		openqq.NewMessagePost(&openqq.Message{
			Type: openqq.FriendMessage, Class: openqq.ClassSend, ID: 23910327, Time: 1479787946,
			Content: "hello world", SenderID: 1234567, Sender: "小灰", SenderUID: 1234567,
			ReceiverID: 2457053936, Receiver: "xxx", ReceiverUID: 123456, From: "api", TTL: 2,
			Source: openqq.SourceLocal, SendResult: openqq.SendResult{Msg: "发送成功", Info: "发送正常"},
		}),
		openqq.NewEventPost(openqq.EventNewFriend, fixtureContacts().Friends[2]),
	}
	out := make([][]byte, len(posts))
	for i, p := range posts {
		b, err := json.Marshal(p)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// fixturePNG is a tiny valid PNG, the stand-in for a QR code.
func fixturePNG(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
