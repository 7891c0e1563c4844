package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strings"
)

// faceNames is the classic face table of spec §5.5 (id → name).
var faceNames = map[int]string{
	0: "惊讶", 1: "撇嘴", 2: "色", 3: "发呆", 4: "得意", 5: "流泪", 6: "害羞", 7: "闭嘴", 8: "睡", 9: "大哭",
	10: "尴尬", 11: "发怒", 12: "调皮", 13: "呲牙", 14: "微笑", 21: "飞吻", 23: "跳跳", 25: "发抖", 26: "怄火",
	27: "爱情", 29: "足球", 32: "西瓜", 33: "玫瑰", 34: "凋谢", 36: "爱心", 37: "心碎", 38: "蛋糕", 39: "礼物",
	42: "太阳", 45: "月亮", 46: "强", 47: "弱", 50: "难过", 51: "酷", 53: "抓狂", 54: "吐", 55: "惊恐",
	56: "流汗", 57: "憨笑", 58: "大兵", 59: "猪头", 62: "拥抱", 63: "咖啡", 64: "饭", 71: "握手", 72: "便便",
	73: "偷笑", 74: "可爱", 75: "白眼", 76: "傲慢", 77: "饥饿", 78: "困", 79: "奋斗", 80: "咒骂", 81: "疑问",
	82: "嘘", 83: "晕", 84: "折磨", 85: "衰", 86: "骷髅", 87: "敲打", 88: "再见", 91: "闪电", 92: "炸弹",
	93: "刀", 95: "胜利", 96: "冷汗", 97: "擦汗", 98: "抠鼻", 99: "鼓掌", 100: "糗大了", 101: "坏笑",
	102: "左哼哼", 103: "右哼哼", 104: "哈欠", 105: "鄙视", 106: "委屈", 107: "快哭了", 108: "阴险",
	109: "亲亲", 110: "吓", 111: "可怜", 112: "菜刀", 113: "啤酒", 114: "篮球", 115: "乒乓", 116: "示爱",
	117: "瓢虫", 118: "抱拳", 119: "勾引", 120: "拳头", 121: "差劲", 122: "爱你", 123: "NO", 124: "OK",
	125: "转圈", 126: "磕头", 127: "回头", 128: "跳绳", 129: "挥手", 130: "激动", 131: "街舞", 132: "献吻",
	133: "左太极", 134: "右太极",
}

var faceIDs = func() map[string]int {
	m := make(map[string]int, len(faceNames))
	for id, name := range faceNames {
		m[name] = id
	}
	return m
}()

// recvFont is the font element the service put first in received content.
var recvFont = []any{"font", map[string]any{"size": 10, "color": "000000", "style": []int{0, 0, 0}, "name": "微软雅黑"}}

// textContent turns text with [face name] tokens into a received content
// array: the font first, then strings and ["face", id] elements. Text is
// HTML-escaped and newlines are CRLF, as the service delivered them (the
// client undoes both, spec §5.3).
func textContent(text string) []any {
	out := []any{recvFont}
	var buf strings.Builder
	flush := func() {
		if buf.Len() > 0 {
			out = append(out, escapeRecv(buf.String()))
			buf.Reset()
		}
	}
	for len(text) > 0 {
		open := strings.IndexByte(text, '[')
		if open < 0 {
			buf.WriteString(text)
			break
		}
		end := strings.IndexByte(text[open+1:], ']')
		if end < 0 {
			buf.WriteString(text)
			break
		}
		name := text[open+1 : open+1+end]
		id, ok := faceIDs[name]
		if !ok || strings.ContainsRune(name, '[') {
			buf.WriteString(text[:open+1])
			text = text[open+1:]
			continue
		}
		buf.WriteString(text[:open])
		flush()
		out = append(out, []any{"face", id})
		text = text[open+1+end+1:]
	}
	flush()
	return out
}

func escapeRecv(s string) string {
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// escapeName HTML-escapes nicks, cards, marknames and group names: clients
// unescape them (spec §4.2), so the sandbox sends them escaped like the
// service did.
func escapeName(s string) string { return html.EscapeString(s) }

// errContent is a send whose content is not what the web client sent.
var errContent = errors.New("bad content")

// decodeSendContent checks the content of a send (spec §5.4, §19.1): a JSON
// string holding an array of strings and ["face", id] elements, ending with
// the font element. It returns the text with faces as [name] and the array.
func decodeSendContent(raw string) (string, json.RawMessage, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &elems); err != nil {
		return "", nil, fmt.Errorf("%w: not a JSON array", errContent)
	}
	if len(elems) < 2 {
		return "", nil, fmt.Errorf("%w: no text before the font", errContent)
	}
	if err := checkFont(elems[len(elems)-1]); err != nil {
		return "", nil, err
	}
	var text strings.Builder
	for _, e := range elems[:len(elems)-1] {
		var s string
		if json.Unmarshal(e, &s) == nil {
			text.WriteString(s)
			continue
		}
		var face []json.RawMessage
		var tag string
		var id int
		if json.Unmarshal(e, &face) != nil || len(face) != 2 || json.Unmarshal(face[0], &tag) != nil ||
			tag != "face" || json.Unmarshal(face[1], &id) != nil {
			return "", nil, fmt.Errorf("%w: element %s is neither text nor a face", errContent, e)
		}
		name, ok := faceNames[id]
		if !ok {
			name = "表情"
		}
		text.WriteString("[" + name + "]")
	}
	return text.String(), json.RawMessage(raw), nil
}

// checkFont requires ["font", {name, size, style, color}].
func checkFont(e json.RawMessage) error {
	var font []json.RawMessage
	var tag string
	if json.Unmarshal(e, &font) != nil || len(font) != 2 || json.Unmarshal(font[0], &tag) != nil || tag != "font" {
		return fmt.Errorf("%w: the last element is not the font", errContent)
	}
	var attrs struct {
		Name  *string `json:"name"`
		Size  *int    `json:"size"`
		Style []int   `json:"style"`
		Color *string `json:"color"`
	}
	if json.Unmarshal(font[1], &attrs) != nil || attrs.Name == nil || attrs.Size == nil ||
		len(attrs.Style) != 3 || attrs.Color == nil {
		return fmt.Errorf("%w: the font lacks name, size, style or color", errContent)
	}
	return nil
}
