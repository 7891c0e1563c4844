package webqq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"unicode/utf8"

	"github.com/openqq-relay/openqq"
)

// jsonString is a JSON string that also accepts a number or null, since
// the original's server data typed values loosely.
type jsonString string

func (s *jsonString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return fmt.Errorf("webqq: want a string, got nothing")
	case b[0] == '"':
		// The decoder has validated b: without escapes the text is the value.
		if len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
			*s = jsonString(b[1 : len(b)-1])
			return nil
		}
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = jsonString(v)
	case string(b) == "null":
		*s = ""
	case string(b) == "true" || string(b) == "false", b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		*s = jsonString(b)
	default:
		return fmt.Errorf("webqq: want a string, got %.20s", b)
	}
	return nil
}

// htmlName decodes the HTML entities SmartQQ puts in names.
func htmlName(s jsonString) string { return html.UnescapeString(string(s)) }

// cut truncates s to at most n bytes without splitting a UTF-8 sequence
// (group cards are cut to 21 bytes, spec §4.4).
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// stateName maps a stat code (spec §16.1).
func stateName(code int64) string {
	switch code {
	case 10:
		return "online"
	case 20:
		return "offline"
	case 30:
		return "away"
	case 40:
		return "hidden"
	case 50:
		return "busy"
	case 60:
		return "callme"
	case 70:
		return "silent"
	}
	return "online"
}

// clientTypeName maps a client_type code (spec §16.1).
func clientTypeName(code int64) string {
	switch code {
	case 1:
		return "pc"
	case 21:
		return "mobile"
	case 24:
		return "iphone"
	case 41:
		return "web"
	}
	return openqq.ClientTypeUnknown
}

type selfInfoAnswer struct {
	Retcode openqq.Int `json:"retcode"`
	Result  *struct {
		UIN      openqq.ID `json:"uin"`
		Account  jsonString
		Nick     jsonString
		LNick    jsonString `json:"lnick"`
		Gender   jsonString
		Birthday *struct {
			Year, Month, Day openqq.Int
		}
		Face, Allow, Constel, Blood, Shengxiao openqq.Int
		VipInfo                                openqq.Int `json:"vip_info"`
		Phone, Mobile, Email, Occupation       jsonString
		College, Homepage, Country, Province   jsonString
		City, Personal                         jsonString
	} `json:"result"`
}

// decodeSelfInfo maps get_self_info2 to the user (spec §4.1, §16.2).
func decodeSelfInfo(body []byte, uid int64) (openqq.User, error) {
	var a selfInfoAnswer
	if err := decodeJSON("get_self_info2", body, &a); err != nil {
		return openqq.User{}, err
	}
	if a.Retcode != 0 || a.Result == nil {
		return openqq.User{}, &RetcodeError{API: "get_self_info2", Retcode: int(a.Retcode)}
	}
	r := a.Result
	u := openqq.User{
		ID: r.UIN, UID: openqq.ID(uid), Account: string(r.Account), Name: htmlName(r.Nick),
		Signature: htmlName(r.LNick), Sex: string(r.Gender), State: onlineState,
		ClientType: openqq.ClientTypeWeb, Face: r.Face, Phone: string(r.Phone), Mobile: string(r.Mobile),
		Email: string(r.Email), Occupation: string(r.Occupation), College: string(r.College),
		Homepage: string(r.Homepage), Country: string(r.Country), Province: string(r.Province),
		City: string(r.City), Personal: string(r.Personal), Blood: r.Blood, Constel: r.Constel,
		Shengxiao: r.Shengxiao, Allow: r.Allow, VipInfo: r.VipInfo,
	}
	if b := r.Birthday; b != nil {
		u.Birthday = fmt.Sprintf("%d-%d-%d", b.Year, b.Month, b.Day)
	}
	return u, nil
}

type friendsAnswer struct {
	Retcode openqq.Int `json:"retcode"`
	Result  *struct {
		Friends []struct {
			Flag       openqq.Int
			UIN        openqq.ID `json:"uin"`
			Categories openqq.Int
		}
		Marknames []struct {
			UIN      openqq.ID `json:"uin"`
			Markname jsonString
		}
		Categories []struct {
			Index openqq.Int
			Name  jsonString
		}
		VipInfo []struct {
			U        openqq.ID  `json:"u"`
			IsVip    openqq.Int `json:"is_vip"`
			VipLevel openqq.Int `json:"vip_level"`
		}
		Info []struct {
			UIN  openqq.ID `json:"uin"`
			Face openqq.Int
			Nick jsonString
		}
	} `json:"result"`
}

// decodeFriends joins the lists of get_user_friends2 into friends
// (spec §4.2, §16.3). State and client type start offline/unknown.
func decodeFriends(body []byte) ([]openqq.Friend, error) {
	var a friendsAnswer
	if err := decodeJSON("get_user_friends2", body, &a); err != nil {
		return nil, err
	}
	if a.Retcode != 0 || a.Result == nil {
		return nil, &RetcodeError{API: "get_user_friends2", Retcode: int(a.Retcode)}
	}
	r := a.Result
	cats := make(map[openqq.Int]string, len(r.Categories)+1)
	for _, c := range r.Categories {
		cats[c.Index] = htmlName(c.Name)
	}
	if cats[0] == "" {
		cats[0] = openqq.DefaultCategory
	}
	marks := make(map[openqq.ID]string, len(r.Marknames))
	for _, m := range r.Marknames {
		marks[m.UIN] = htmlName(m.Markname)
	}
	type vip struct{ is, level openqq.Int }
	vips := make(map[openqq.ID]vip, len(r.VipInfo))
	for _, v := range r.VipInfo {
		vips[v.U] = vip{v.IsVip, v.VipLevel}
	}
	type info struct {
		face openqq.Int
		nick string
	}
	infos := make(map[openqq.ID]info, len(r.Info))
	for _, i := range r.Info {
		infos[i.UIN] = info{i.Face, htmlName(i.Nick)}
	}
	out := make([]openqq.Friend, 0, len(r.Friends))
	for _, f := range r.Friends {
		fr := openqq.Friend{ID: f.UIN, Flag: f.Flag, Category: cats[f.Categories],
			State: openqq.StatusOffline, ClientType: openqq.ClientTypeUnknown}
		if i, ok := infos[f.UIN]; ok {
			fr.Name, fr.Face = i.nick, i.face
		}
		if m, ok := marks[f.UIN]; ok {
			fr.Markname = &m
		}
		if v, ok := vips[f.UIN]; ok {
			fr.IsVip, fr.VipLevel = &v.is, &v.level
		}
		out = append(out, fr)
	}
	return out, nil
}

// presence is an online state and client type.
type presence struct {
	state      string
	clientType string
}

type onlineAnswer struct {
	Retcode openqq.Int `json:"retcode"`
	Result  []struct {
		UIN        openqq.ID `json:"uin"`
		Status     jsonString
		ClientType openqq.Int `json:"client_type"`
	} `json:"result"`
}

// decodeOnline reads get_online_buddies2.
func decodeOnline(body []byte) (map[openqq.ID]presence, error) {
	var a onlineAnswer
	if err := decodeJSON("get_online_buddies2", body, &a); err != nil {
		return nil, err
	}
	if a.Retcode != 0 {
		return nil, &RetcodeError{API: "get_online_buddies2", Retcode: int(a.Retcode)}
	}
	out := make(map[openqq.ID]presence, len(a.Result))
	for _, b := range a.Result {
		st := string(b.Status)
		if st == "" {
			st = openqq.StatusOffline
		}
		out[b.UIN] = presence{st, clientTypeName(int64(b.ClientType))}
	}
	return out, nil
}

type groupListAnswer struct {
	Result *struct {
		GNameList *[]struct {
			GID      openqq.ID `json:"gid"`
			Code     openqq.ID
			Name     jsonString
			Markname *jsonString
		} `json:"gnamelist"`
	} `json:"result"`
}

// decodeGroupList reads get_group_name_list_mask2 (spec §16.4); as the
// original, it needs only result.gnamelist and ignores the retcode.
func decodeGroupList(body []byte) ([]openqq.Group, error) {
	var a groupListAnswer
	if err := decodeJSON("get_group_name_list_mask2", body, &a); err != nil {
		return nil, err
	}
	if a.Result == nil || a.Result.GNameList == nil {
		return nil, fmt.Errorf("webqq: get_group_name_list_mask2: no gnamelist in answer %q", abbrev(body))
	}
	out := make([]openqq.Group, 0, len(*a.Result.GNameList))
	for _, g := range *a.Result.GNameList {
		gr := openqq.Group{ID: g.GID, Code: g.Code, Name: htmlName(g.Name)}
		if g.Markname != nil {
			m := htmlName(*g.Markname)
			gr.Markname = &m
		}
		out = append(out, gr)
	}
	return out, nil
}
