package webhook

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

// Where a subscriber comes from.
const (
	SourceConfig = "config" // OPENQQ_POST_API; synced at every start
	SourceAPI    = "api"    // added through the admin API
	SourceLocal  = "local"  // the stdout printer of this process
)

// Subscriber states.
const (
	StateActive   = "active"
	StatePaused   = "paused"   // by an operator; resume to continue
	StateDisabled = "disabled" // by the dispatcher (410 Gone); resume to continue
)

// StdoutID is the id of the post_stdout printer.
const StdoutID = "stdout"

// Subscriber is one post_api endpoint and its options. It is stored as JSON
// in Redis, so every dispatcher instance of the account sees the same set.
type Subscriber struct {
	// ID names the subscriber in the admin API, logs, metrics and keys; it
	// is derived from the URL for configured subscribers.
	ID  string `json:"id"`
	URL string `json:"url"`
	// Reply lets the subscriber answer messages with {"reply":…} and
	// {"shutup":1} (spec §8.3).
	Reply bool `json:"reply"`
	// PostEvent: whether events (not messages) are posted; nil means true,
	// as the original's post_event.
	PostEvent *bool `json:"post_event,omitempty"`
	// PostEventList names the events posted; nil means
	// openqq.DefaultPostEventList.
	PostEventList []string `json:"post_event_list,omitempty"`
	// Timeout of one attempt; 0 means the dispatcher's default for
	// reply-capable or other subscribers.
	Timeout Duration  `json:"timeout,omitempty"`
	Source  string    `json:"source"`
	Created time.Time `json:"created"`
}

// Duration is a time.Duration that reads and writes JSON as "5s", and also
// reads a number of seconds.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "5s" or 5.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration: want \"5s\" or a number of seconds")
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// validID keeps ids safe inside Redis key names and URL paths.
var validID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// maxTimeout bounds a subscriber's attempt timeout.
const maxTimeout = 2 * time.Minute

// check validates the subscriber's options.
func (s *Subscriber) check() error {
	if !validID.MatchString(s.ID) {
		return fmt.Errorf("id %q: want 1 to 64 letters, digits, _ or -", s.ID)
	}
	if s.ID == StdoutID {
		return s.checkEvents()
	}
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want an absolute http or https URL", redactURL(s.URL))
	}
	if s.Timeout < 0 || time.Duration(s.Timeout) > maxTimeout {
		return fmt.Errorf("timeout %s: want 0 (default) to %s", time.Duration(s.Timeout), maxTimeout)
	}
	return s.checkEvents()
}

func (s *Subscriber) checkEvents() error {
	for _, e := range s.PostEventList {
		if e == "" {
			return fmt.Errorf("post_event_list: empty event name")
		}
	}
	return nil
}

// postsEvents reports whether events go to this subscriber at all.
func (s *Subscriber) postsEvents() bool { return s.PostEvent == nil || *s.PostEvent }

// wants reports whether a payload of this post type and event name goes to
// the subscriber: messages always, events when posted and listed (spec §8.2).
func (s *Subscriber) wants(postType, event string) bool {
	switch postType {
	case openqq.PostReceiveMessage, openqq.PostSendMessage:
		return true
	case openqq.PostEvent:
	default:
		return false
	}
	if !s.postsEvents() {
		return false
	}
	// The original never posts these two, even when listed (spec §8.2).
	if event == openqq.EventDiscussPropertyChange || event == openqq.EventDiscussMemberPropertyChange {
		return false
	}
	list := s.PostEventList
	if list == nil {
		list = openqq.DefaultPostEventList
	}
	return slices.Contains(list, event)
}

// group is the subscriber's consumer group on the events stream.
func (s *Subscriber) group() string { return "webhook:" + s.ID }

// ConfigID is the id of a configured subscriber: stable for a URL, so every
// instance and every restart agree on it.
func ConfigID(rawURL string) string {
	h := sha256.Sum256([]byte(rawURL))
	return "cfg-" + hex.EncodeToString(h[:6])
}

// newAPIID is a random id for a subscriber added through the admin API.
func newAPIID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "sub-" + hex.EncodeToString(b[:])
}

// redactURL drops user info and query from a URL for logs and errors: both
// may hold credentials.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

// encodeSubscriber is the registry's JSON form of s.
func encodeSubscriber(s Subscriber) ([]byte, error) { return json.Marshal(s) }

// decodeSubscriber reads a registry entry; the registry's id wins over the
// document's.
func decodeSubscriber(st store.WebhookSubscriber) (Subscriber, error) {
	var s Subscriber
	if err := json.Unmarshal(st.Config, &s); err != nil {
		return s, fmt.Errorf("subscriber %s: %w", st.ID, err)
	}
	s.ID = st.ID
	if err := s.check(); err != nil {
		return s, fmt.Errorf("subscriber %s: %w", st.ID, err)
	}
	return s, nil
}
