package connector

import (
	"encoding/base64"
	"strings"

	"github.com/openqq-relay/openqq"
)

// router decides which posts also go to the check_event buffer (spec §7).
// Every post goes to the events stream whatever it says: the webhook
// dispatcher filters by each subscriber's own settings.
type router struct {
	postEvent bool
	list      map[string]bool
}

func newRouter(postEvent bool, list []string) router {
	r := router{postEvent: postEvent, list: make(map[string]bool, len(list))}
	for _, name := range list {
		r.list[strings.TrimSpace(name)] = true
	}
	return r
}

// checkEvent reports whether p belongs in the check_event buffer: every
// received or sent chat message; contact events (new_*, lose_*, property
// changes) only when events are posted and the name is listed; never the
// lifecycle events login, stop, state_change and input_qrcode.
func (r router) checkEvent(p openqq.Post) bool {
	if p.Message != nil {
		switch p.Message.Type {
		case openqq.FriendMessage, openqq.GroupMessage, openqq.DiscussMessage, openqq.SessMessage:
			return true
		}
		return false
	}
	if p.Event == nil || !r.postEvent {
		return false
	}
	return contactEvent(p.Event.Name) && r.list[p.Event.Name]
}

// contactEvent reports whether the event is one check_event may carry.
func contactEvent(name string) bool {
	switch name {
	case openqq.EventFriendPropertyChange, openqq.EventGroupPropertyChange,
		openqq.EventGroupMemberPropertyChange, openqq.EventUserPropertyChange:
		return true
	}
	return strings.HasPrefix(name, "new_") || strings.HasPrefix(name, "lose_")
}

// mimeBase64 encodes b as Perl's MIME::Base64 does by default, which the
// input_qrcode event carries (spec §8.2): the standard alphabet, with a
// newline after every 76 characters and after the last line.
func mimeBase64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	sb.Grow(len(s) + len(s)/76 + 1)
	for len(s) > 76 {
		sb.WriteString(s[:76])
		sb.WriteByte('\n')
		s = s[76:]
	}
	if s != "" {
		sb.WriteString(s)
		sb.WriteByte('\n')
	}
	return sb.String()
}
