package webqq

import (
	"bytes"
	"encoding/json"
	"errors"
	"html"
	"regexp"
	"strings"

	"github.com/openqq-relay/openqq"
)

// Placeholders of received content (spec §5.3).
const (
	textPicture = "[图片]"
	textFace    = "[表情]"
	textUnknown = "[未识别内容]"
)

// junkGroupText is the content[1] of group messages the original ignored
// (spec §5.3).
const junkGroupText = " \u0000\n\u0000\u0000\u0000\u0000\u0002宋体\r"

var (
	errEmptyContent = errors.New("empty content array")
	emojiCode       = regexp.MustCompile(`:([a-z0-9_]+):`)
	faceToken       = regexp.MustCompile(`\[([^\[\]]+)\]`)
)

// convertContent turns a received content array into text (spec §5.3):
// a lone font element is a picture; otherwise element 0 (the font) is
// dropped, faces, pictures and other tagged arrays become placeholders,
// and strings are HTML-unescaped with CRLF → LF and emoji codes named.
func convertContent(content []json.RawMessage) (string, error) {
	if len(content) == 0 {
		return "", errEmptyContent
	}
	if len(content) == 1 {
		if tag, _ := elementTag(content[0]); tag == "font" {
			return textPicture, nil
		}
	}
	var b strings.Builder
	for _, el := range content[1:] {
		b.WriteString(convertElement(el))
	}
	return b.String(), nil
}

func convertElement(el json.RawMessage) string {
	el = bytes.TrimSpace(el)
	if len(el) > 0 && el[0] == '"' {
		var s jsonString
		if err := s.UnmarshalJSON(el); err != nil {
			return textUnknown
		}
		return convertText(string(s))
	}
	tag, arr := elementTag(el)
	switch tag {
	case "cface", "offpic":
		return textPicture
	case "face":
		var id openqq.Int
		if len(arr) < 2 || json.Unmarshal(arr[1], &id) != nil {
			return textFace
		}
		if name, ok := faceNames[int(id)]; ok && id != 0 { // face 0 is "[表情]", not 惊讶
			return "[" + name + "]"
		}
		return textFace
	}
	return textUnknown
}

// elementTag returns the tag of a ["tag", …] element and its items.
func elementTag(el json.RawMessage) (string, []json.RawMessage) {
	var arr []json.RawMessage
	if json.Unmarshal(el, &arr) != nil || len(arr) == 0 {
		return "", nil
	}
	var tag string
	if json.Unmarshal(arr[0], &tag) != nil {
		return "", arr
	}
	return tag, arr
}

// convertText applies the string rules of spec §5.3 in order.
func convertText(s string) string {
	s = strings.ReplaceAll(s, "&nbsp;", " ")
	s = html.UnescapeString(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.Contains(s, ":") {
		return s
	}
	return emojiCode.ReplaceAllStringFunc(s, func(m string) string {
		if name, ok := emojiNames[m[1:len(m)-1]]; ok {
			return "[" + name + "]"
		}
		return m
	})
}

// isJunkGroupContent reports the group content the original ignored.
func isJunkGroupContent(content []json.RawMessage) bool {
	if len(content) < 2 {
		return false
	}
	var s string
	return json.Unmarshal(content[1], &s) == nil && s == junkGroupText
}

// fullWidthBrackets replaces < and > with ＜ and ＞, as the original did
// before sending unless send_real_comp_sign was set.
func fullWidthBrackets(s string) string { return fullWidth.Replace(s) }

var fullWidth = strings.NewReplacer("<", "＜", ">", "＞")

// fontElement is the fixed font every sent message carries (spec §5.4).
var fontElement = []any{"font", map[string]any{"name": "宋体", "size": 10, "style": []int{0, 0, 0}, "color": "000000"}}

// wireContent turns text into the content array of a send request, as a
// JSON string (it is JSON-encoded again inside r, spec §19.1): face names
// in brackets ("[微笑]") become ["face", id], the rest stays text, and the
// font element comes last.
func wireContent(text string) (string, error) {
	var segs []any
	last := 0
	for _, m := range faceToken.FindAllStringSubmatchIndex(text, -1) {
		id, ok := faceIDs[text[m[2]:m[3]]]
		if !ok {
			continue
		}
		if m[0] > last {
			segs = append(segs, text[last:m[0]])
		}
		segs = append(segs, []any{"face", id})
		last = m[1]
	}
	if last < len(text) {
		segs = append(segs, text[last:])
	}
	segs = append(segs, fontElement)
	return encodeR(segs)
}
