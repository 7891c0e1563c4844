package webqq

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openqq-relay/openqq"
)

func TestDecodeFriends(t *testing.T) {
	body := `{"retcode":0,"result":{
	  "friends":[{"flag":0,"uin":2457053936,"categories":1},{"flag":8,"uin":"111","categories":0},{"flag":0,"uin":222,"categories":7}],
	  "marknames":[{"uin":2457053936,"markname":"x&amp;y","type":0}],
	  "categories":[{"index":1,"sort":1,"name":"我的&lt;网友&gt;"}],
	  "vipinfo":[{"vip_level":6,"u":2457053936,"is_vip":1}],
	  "info":[{"face":153,"flag":0,"nick":"测试&amp;帐号1","uin":2457053936},{"face":0,"flag":8,"nick":"b","uin":111}]}}`
	fs, err := decodeFriends([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 {
		t.Fatalf("%d friends", len(fs))
	}
	f := fs[0]
	if f.ID != 2457053936 || f.Name != "测试&帐号1" || f.Markname == nil || *f.Markname != "x&y" ||
		f.Category != "我的<网友>" || f.Face != 153 || f.IsVip == nil || *f.IsVip != 1 || *f.VipLevel != 6 ||
		f.State != "offline" || f.ClientType != "unknown" {
		t.Errorf("friend 0: %+v", f)
	}
	if f := fs[1]; f.Category != "我的好友" || f.Markname != nil || f.IsVip != nil || f.Flag != 8 || f.Name != "b" {
		t.Errorf("friend 1 (category 0, no markname, no vip): %+v", f)
	}
	if f := fs[2]; f.Category != "" || f.Name != "" {
		t.Errorf("friend 2 (unknown category, no info): %+v", f)
	}
	js, _ := json.Marshal(fs[1])
	if want := `"is_vip":null`; !strings.Contains(string(js), want) {
		t.Errorf("json %s lacks %s", js, want)
	}

	for _, bad := range []string{`{"retcode":100003}`, `{"retcode":0}`, `{"retcode":0,"result":{"friends":{}}}`, `<html>`, `{"retcode":0,"result":{"info":[{"uin":"x"}]}}`} {
		if _, err := decodeFriends([]byte(bad)); err == nil {
			t.Errorf("decodeFriends(%s) accepted", bad)
		}
	}
}

func TestDecodeOnline(t *testing.T) {
	m, err := decodeOnline([]byte(`{"retcode":0,"result":[{"uin":1,"status":"busy","client_type":21},{"uin":2,"status":"online","client_type":7}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != (presence{"busy", "mobile"}) || m[2] != (presence{"online", "unknown"}) {
		t.Errorf("presence %v", m)
	}
}

func TestDecodeSelfInfo(t *testing.T) {
	body := `{"retcode":0,"result":{"birthday":{"year":1990,"month":1,"day":1},"face":0,"phone":"","occupation":"计算机","allow":1,
	  "college":"","uin":1234567,"constel":0,"blood":"3","homepage":"","stat":10,"vip_info":0,"country":"中国","city":"北京",
	  "personal":"签名","nick":"小灰","shengxiao":0,"email":"","province":"北京","gender":"male","mobile":"188********",
	  "lnick":"这是我的个性签名","account":1234567,"vfwebqq":"abc"}}`
	u, err := decodeSelfInfo([]byte(body), 1234567)
	if err != nil {
		t.Fatal(err)
	}
	want := openqq.User{ID: 1234567, UID: 1234567, Account: "1234567", Name: "小灰", Signature: "这是我的个性签名",
		Sex: "male", Birthday: "1990-1-1", State: "online", ClientType: "web", Mobile: "188********",
		Occupation: "计算机", Country: "中国", Province: "北京", City: "北京", Personal: "签名", Blood: 3, Allow: 1}
	if u != want {
		t.Errorf("user\n%+v\nwant\n%+v", u, want)
	}
	if _, err := decodeSelfInfo([]byte(`{"retcode":0,"result":{"birthday":"1990"}}`), 1); err == nil {
		t.Error("wrong birthday type accepted")
	}
}

func TestDecodeGroupInfo(t *testing.T) {
	body := `{"retcode":0,"result":{
	  "ginfo":{"gid":100,"code":200,"name":"群&amp;名","memo":"简介","createtime":1468635000,"level":2,"owner":1,"face":0,"class":1,"option":2,"flag":1,"fingermemo":"","members":[{"muin":1,"mflag":0}]},
	  "minfo":[{"uin":1,"nick":"Renne.","gender":"female","province":"北京","country":"中国","city":"海淀"},{"uin":2,"nick":"b","gender":"male","province":"","country":"","city":""}],
	  "cards":[{"muin":1,"card":"一二三四五六七八&amp;"}],
	  "stats":[{"uin":1,"stat":30,"client_type":41}],
	  "vipinfo":[]}}`
	g := openqq.Group{ID: 100, Code: 200, Name: "old"}
	if err := decodeGroupInfo([]byte(body), &g); err != nil {
		t.Fatal(err)
	}
	if g.Name != "群&名" || g.Memo != "简介" || g.CreateTime != 1468635000 || g.Level != 2 || g.OwnerID != 1 || len(g.Members) != 2 {
		t.Errorf("group %+v", g)
	}
	m := g.Members[0]
	if m.Name != "Renne." || m.Sex != "female" || m.City != "海淀" || m.Card == nil || *m.Card != "一二三四五六七" ||
		m.State != "away" || m.ClientType != "web" {
		t.Errorf("member 0 %+v", m)
	}
	if m := g.Members[1]; m.Card != nil || m.State != "offline" || m.ClientType != "unknown" {
		t.Errorf("member 1 %+v", m)
	}
	js, _ := json.Marshal(g.Members[1])
	if !strings.Contains(string(js), `"card":null`) {
		t.Errorf("member json %s: card must be present and null", js)
	}
	for _, bad := range []string{`{"retcode":0,"result":{}}`, `{"result":{"ginfo":{}}}`, `{"result":{"ginfo":{},"minfo":{}}}`} {
		if err := decodeGroupInfo([]byte(bad), &openqq.Group{}); err == nil {
			t.Errorf("decodeGroupInfo(%s) accepted", bad)
		}
	}
}

func TestDecodeGroupListAndDiscusses(t *testing.T) {
	gs, err := decodeGroupList([]byte(`{"retcode":0,"result":{"gnamelist":[{"flag":1,"name":"a&amp;b","gid":1,"code":2},{"name":"m","gid":3,"code":4,"markname":"备注"}],"gmarklist":[],"gmasklist":[]}}`))
	if err != nil || len(gs) != 2 || gs[0].Name != "a&b" || gs[0].Code != 2 || gs[0].Markname != nil || *gs[1].Markname != "备注" {
		t.Errorf("groups %+v, %v", gs, err)
	}
	if _, err := decodeGroupList([]byte(`{"retcode":0,"result":{}}`)); err == nil {
		t.Error("group list without gnamelist accepted")
	}
	ds, err := decodeDiscussList([]byte(`{"retcode":0,"result":{"dnamelist":[{"name":"test","did":612950676}]}}`))
	if err != nil || len(ds) != 1 || ds[0].ID != 612950676 || ds[0].Name != "test" {
		t.Fatalf("discusses %+v, %v", ds, err)
	}
	err = decodeDiscussInfo([]byte(`{"retcode":0,"result":{
	  "info":{"did":612950676,"discu_owner":5,"discu_name":"test","info_seq":1,"mem_list":[{"mem_uin":5,"ruin":555},{"mem_uin":6,"ruin":666}]},
	  "mem_status":[{"uin":6,"status":"online","client_type":1}],
	  "mem_info":[{"uin":5,"nick":"五"},{"uin":6,"nick":"六"}]}}`), &ds[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []openqq.DiscussMember{{ID: 5, UID: 555, Name: "五", State: "offline", ClientType: "unknown"},
		{ID: 6, UID: 666, Name: "六", State: "online", ClientType: "pc"}}
	if ds[0].OwnerID != 5 || len(ds[0].Members) != 2 || ds[0].Members[0] != want[0] || ds[0].Members[1] != want[1] {
		t.Errorf("discuss %+v", ds[0])
	}
}
