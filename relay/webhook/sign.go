package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openqq-relay/openqq"
)

// Signature headers. The Standard Webhooks trio (webhook-id, -timestamp,
// -signature) is what new receivers should verify; X-Signature is the
// OneBot v11 / go-cqhttp form for receivers written for those.
const (
	HeaderID        = "Webhook-Id"
	HeaderTimestamp = "Webhook-Timestamp"
	HeaderSignature = "Webhook-Signature"
	HeaderOneBotSig = "X-Signature"
)

// secretPrefix marks a Standard Webhooks secret: the rest is base64.
const secretPrefix = "whsec_"

// Signer signs payloads with one or more secrets. Several secrets allow
// rotation without downtime: every payload carries one signature per secret.
// The zero Signer signs nothing.
type Signer struct {
	keys []signingKey
}

type signingKey struct {
	hmacKey []byte        // Standard Webhooks key: base64-decoded for whsec_ secrets
	raw     openqq.Secret // the secret as written: the OneBot HMAC-SHA1 key
}

// NewSigner parses a list of secrets. A secret that starts with "whsec_" is
// the base64 of the key, as Standard Webhooks tools print it; any other
// secret is used as it is written. Errors name the position, never the value.
func NewSigner(secrets []string) (*Signer, error) {
	s := &Signer{}
	for i, sec := range secrets {
		sec = strings.TrimSpace(sec)
		if sec == "" {
			continue
		}
		k := signingKey{hmacKey: []byte(sec), raw: openqq.Secret(sec)}
		if b64, ok := strings.CutPrefix(sec, secretPrefix); ok {
			key, err := base64.StdEncoding.DecodeString(b64)
			if err != nil || len(key) == 0 {
				return nil, fmt.Errorf("webhook: secret %d: whsec_ secret is not base64", i+1)
			}
			k.hmacKey = key
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// Enabled reports whether any secret is configured.
func (s *Signer) Enabled() bool { return s != nil && len(s.keys) > 0 }

// Sign sets the signature headers of one attempt. msgID is stable across
// the attempts of one event to one subscriber; ts is the time of this
// attempt. webhook-id is set even without secrets, as the idempotency key.
func (s *Signer) Sign(h http.Header, msgID string, ts time.Time, body []byte) {
	h.Set(HeaderID, msgID)
	if !s.Enabled() {
		return
	}
	unix := strconv.FormatInt(ts.Unix(), 10)
	h.Set(HeaderTimestamp, unix)
	sigs := make([]string, 0, len(s.keys))
	for _, k := range s.keys {
		sigs = append(sigs, "v1,"+standardSignature(k.hmacKey, msgID, unix, body))
	}
	h.Set(HeaderSignature, strings.Join(sigs, " "))
	// OneBot receivers know one secret: sign with the first (the newest).
	mac := hmac.New(sha1.New, []byte(s.keys[0].raw))
	mac.Write(body)
	h.Set(HeaderOneBotSig, "sha1="+hex.EncodeToString(mac.Sum(nil)))
}

// standardSignature is base64(HMAC-SHA256(key, id "." timestamp "." body)).
func standardSignature(key []byte, msgID, unix string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write([]byte(unix))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// MessageID is the webhook-id of one event for one subscriber: the same on
// every attempt and every replay, different per subscriber and per account.
func MessageID(account, subscriber, entryID string) string {
	h := sha256.New()
	h.Write([]byte(account))
	h.Write([]byte{0})
	h.Write([]byte(subscriber))
	h.Write([]byte{0})
	h.Write([]byte(entryID))
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:16])
}
