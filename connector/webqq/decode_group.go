package webqq

import (
	"fmt"

	"github.com/openqq-relay/openqq"
)

const cardBytes = 21 // spec §4.4: cards are cut to 21 bytes

type groupInfoAnswer struct {
	Result *struct {
		GInfo *struct {
			GID        openqq.ID `json:"gid"`
			Code       openqq.ID
			Name       *jsonString
			Markname   *jsonString
			Memo       jsonString
			CreateTime openqq.Int `json:"createtime"`
			Level      openqq.Int
			Owner      openqq.ID
		} `json:"ginfo"`
		MInfo *[]struct {
			UIN      openqq.ID `json:"uin"`
			Nick     jsonString
			Gender   jsonString
			Province jsonString
			Country  jsonString
			City     jsonString
		} `json:"minfo"`
		Cards []struct {
			MUIN openqq.ID `json:"muin"`
			Card jsonString
		}
		Stats []struct {
			UIN        openqq.ID `json:"uin"`
			Stat       openqq.Int
			ClientType openqq.Int `json:"client_type"`
		}
	} `json:"result"`
}

// decodeGroupInfo fills g from get_group_info_ext2 (spec §4.3, §4.4,
// §16.5): success needs result.ginfo (the retcode is not checked, as in the
// original) and the members need minfo to be an array.
func decodeGroupInfo(body []byte, g *openqq.Group) error {
	var a groupInfoAnswer
	if err := decodeJSON("get_group_info_ext2", body, &a); err != nil {
		return err
	}
	if a.Result == nil || a.Result.GInfo == nil {
		return fmt.Errorf("webqq: get_group_info_ext2: no ginfo in answer %q", abbrev(body))
	}
	if a.Result.MInfo == nil {
		return fmt.Errorf("webqq: get_group_info_ext2: no member list in answer")
	}
	gi := a.Result.GInfo
	g.Memo, g.CreateTime, g.Level, g.OwnerID = htmlName(gi.Memo), gi.CreateTime, gi.Level, gi.Owner
	if gi.Code != 0 {
		g.Code = gi.Code
	}
	if gi.Name != nil {
		g.Name = htmlName(*gi.Name)
	}
	if gi.Markname != nil {
		m := htmlName(*gi.Markname)
		g.Markname = &m
	}
	cards := make(map[openqq.ID]string, len(a.Result.Cards))
	for _, c := range a.Result.Cards {
		cards[c.MUIN] = cut(htmlName(c.Card), cardBytes)
	}
	stats := make(map[openqq.ID]presence, len(a.Result.Stats))
	for _, s := range a.Result.Stats {
		stats[s.UIN] = presence{stateName(int64(s.Stat)), clientTypeName(int64(s.ClientType))}
	}
	members := make([]openqq.Member, 0, len(*a.Result.MInfo))
	for _, m := range *a.Result.MInfo {
		mem := openqq.Member{ID: m.UIN, Name: htmlName(m.Nick), Sex: string(m.Gender),
			Province: string(m.Province), Country: string(m.Country), City: string(m.City),
			State: openqq.StatusOffline, ClientType: openqq.ClientTypeUnknown}
		if c, ok := cards[m.UIN]; ok {
			mem.Card = &c
		}
		if p, ok := stats[m.UIN]; ok {
			mem.State, mem.ClientType = p.state, p.clientType
		}
		members = append(members, mem)
	}
	g.Members = members
	return nil
}

type discussListAnswer struct {
	Retcode openqq.Int `json:"retcode"`
	Result  *struct {
		DNameList []struct {
			DID  openqq.ID `json:"did"`
			Name jsonString
		} `json:"dnamelist"`
	} `json:"result"`
}

// decodeDiscussList reads get_discus_list (spec §16.6).
func decodeDiscussList(body []byte) ([]openqq.Discuss, error) {
	var a discussListAnswer
	if err := decodeJSON("get_discus_list", body, &a); err != nil {
		return nil, err
	}
	if a.Retcode != 0 || a.Result == nil {
		return nil, &RetcodeError{API: "get_discus_list", Retcode: int(a.Retcode)}
	}
	out := make([]openqq.Discuss, 0, len(a.Result.DNameList))
	for _, d := range a.Result.DNameList {
		out = append(out, openqq.Discuss{ID: d.DID, Name: htmlName(d.Name), Members: []openqq.DiscussMember{}})
	}
	return out, nil
}

type discussInfoAnswer struct {
	Retcode openqq.Int `json:"retcode"`
	Result  *struct {
		Info *struct {
			DID     openqq.ID   `json:"did"`
			Owner   openqq.ID   `json:"discu_owner"`
			Name    *jsonString `json:"discu_name"`
			MemList []struct {
				MemUIN openqq.ID `json:"mem_uin"`
				RUIN   openqq.ID `json:"ruin"`
			} `json:"mem_list"`
		} `json:"info"`
		MemStatus []struct {
			UIN        openqq.ID `json:"uin"`
			Status     jsonString
			ClientType openqq.Int `json:"client_type"`
		} `json:"mem_status"`
		MemInfo []struct {
			UIN  openqq.ID `json:"uin"`
			Nick jsonString
		} `json:"mem_info"`
	} `json:"result"`
}

// decodeDiscussInfo fills d from get_discu_info (spec §4.5, §16.6): members
// in mem_list order, name from mem_info, uid = ruin.
func decodeDiscussInfo(body []byte, d *openqq.Discuss) error {
	var a discussInfoAnswer
	if err := decodeJSON("get_discu_info", body, &a); err != nil {
		return err
	}
	if a.Retcode != 0 || a.Result == nil || a.Result.Info == nil {
		return &RetcodeError{API: "get_discu_info", Retcode: int(a.Retcode)}
	}
	r := a.Result
	d.OwnerID = r.Info.Owner
	if r.Info.Name != nil && *r.Info.Name != "" {
		d.Name = htmlName(*r.Info.Name)
	}
	names := make(map[openqq.ID]string, len(r.MemInfo))
	for _, m := range r.MemInfo {
		names[m.UIN] = htmlName(m.Nick)
	}
	stats := make(map[openqq.ID]presence, len(r.MemStatus))
	for _, s := range r.MemStatus {
		stats[s.UIN] = presence{string(s.Status), clientTypeName(int64(s.ClientType))}
	}
	members := make([]openqq.DiscussMember, 0, len(r.Info.MemList))
	for _, m := range r.Info.MemList {
		dm := openqq.DiscussMember{ID: m.MemUIN, UID: m.RUIN, Name: names[m.MemUIN],
			State: openqq.StatusOffline, ClientType: openqq.ClientTypeUnknown}
		if p, ok := stats[m.MemUIN]; ok {
			dm.ClientType = p.clientType
			if p.state != "" {
				dm.State = p.state
			}
		}
		members = append(members, dm)
	}
	d.Members = members
	return nil
}
