package webqq

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/openqq-relay/openqq"
)

// pollBatch is a decoded poll2 answer.
type pollBatch struct {
	Retcode int
	P       string // the new ptwebqq of retcode 116
	Items   []pollItem
	Bad     int // result items that could not be decoded (skipped)
}

// pollItem is one {"poll_type":…,"value":{…}} entry.
type pollItem struct {
	Type  string
	Value pollValue
}

// pollValue holds the value fields of every poll_type the client reads
// (spec §18.2).
type pollValue struct {
	MsgID       openqq.ID         `json:"msg_id"`
	FromUIN     openqq.ID         `json:"from_uin"`
	ToUIN       openqq.ID         `json:"to_uin"`
	SendUIN     openqq.ID         `json:"send_uin"`
	DID         openqq.ID         `json:"did"`
	ID          openqq.ID         `json:"id"` // sess: the group gid or did
	ServiceType *openqq.Int       `json:"service_type"`
	Time        openqq.Int        `json:"time"`
	Content     []json.RawMessage `json:"content"`

	UIN        openqq.ID  `json:"uin"` // buddies_status_change
	Status     jsonString `json:"status"`
	ClientType openqq.Int `json:"client_type"`

	ShowReason openqq.Int `json:"show_reason"` // kick_message
	Reason     jsonString `json:"reason"`

	XML jsonString `json:"xml"` // group_web_message
}

// decodePoll2 decodes a poll2 answer. A body that is not a JSON object with
// a retcode is an error; result items that do not decode are counted in
// Bad and skipped, so one odd item does not lose the batch.
func decodePoll2(body []byte) (pollBatch, error) {
	var a struct {
		Retcode *openqq.Int     `json:"retcode"`
		P       jsonString      `json:"p"`
		Result  json.RawMessage `json:"result"`
	}
	if err := decodeJSON("poll2", body, &a); err != nil {
		return pollBatch{}, err
	}
	if a.Retcode == nil {
		return pollBatch{}, fmt.Errorf("webqq: poll2: no retcode in answer %q", abbrev(body))
	}
	b := pollBatch{Retcode: int(*a.Retcode), P: string(a.P)}
	if b.Retcode != 0 {
		return b, nil
	}
	res := bytes.TrimSpace(a.Result)
	if len(res) == 0 || bytes.Equal(res, []byte("null")) {
		return b, nil
	}
	// One pass for a well-formed batch; item by item when something in it
	// does not decode, so that one odd item does not lose the others.
	var items []struct {
		PollType string    `json:"poll_type"`
		Value    pollValue `json:"value"`
	}
	if err := json.Unmarshal(res, &items); err == nil {
		b.Items = make([]pollItem, len(items))
		for i, it := range items {
			b.Items[i] = pollItem{Type: it.PollType, Value: it.Value}
		}
		return b, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(res, &raw); err != nil {
		return pollBatch{}, fmt.Errorf("webqq: poll2: result is not a list: %w", err)
	}
	b.Items = make([]pollItem, 0, len(raw))
	for _, r := range raw {
		var it struct {
			PollType string    `json:"poll_type"`
			Value    pollValue `json:"value"`
		}
		if err := json.Unmarshal(r, &it); err != nil {
			b.Bad++
			continue
		}
		b.Items = append(b.Items, pollItem{Type: it.PollType, Value: it.Value})
	}
	return b, nil
}

// sharedFile reads the XML of a group_web_message (spec §18.2): an n
// element with t="t" s="共享文件" marks a file share and another t="t"
// element names the file. (The t="h" uploader is the message's send_uin.)
func sharedFile(doc string) (file string, ok bool) {
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	inD, share := 0, false
	for {
		tok, err := d.Token()
		if err != nil { // io.EOF or a broken document: keep what was read
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "d":
				inD++
			case "n":
				if inD == 0 || attr(t, "t") != "t" {
					continue
				}
				if s := attr(t, "s"); s == "共享文件" {
					share = true
				} else if file == "" {
					file = s
				}
			}
		case xml.EndElement:
			if t.Name.Local == "d" && inD > 0 {
				inD--
			}
		}
	}
	return file, share && file != ""
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
