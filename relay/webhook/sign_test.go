package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verifyStandard is an independent Standard Webhooks verifier (spec v1.0.0,
// as the reference libraries do it): it does not use Signer.
func verifyStandard(h http.Header, body []byte, secret string, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s outside tolerance", ts)
	}
	key := []byte(secret)
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if key, err = base64.StdEncoding.DecodeString(rest); err != nil {
			return err
		}
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no matching v1 signature")
}

// verifyOneBot checks X-Signature as OneBot v11 receivers do.
func verifyOneBot(h http.Header, body []byte, secret string) error {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	if want := "sha1=" + hex.EncodeToString(mac.Sum(nil)); h.Get("X-Signature") != want {
		return fmt.Errorf("X-Signature %q, want %q", h.Get("X-Signature"), want)
	}
	return nil
}

func TestSignerRotationAndFormats(t *testing.T) {
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	s, err := NewSigner([]string{"newer-plain", " ", whsec})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"post_type":"receive_message","content":"你好"}`)
	now := time.Unix(1_700_000_000, 0)
	h := http.Header{}
	s.Sign(h, "msg_1", now, body)
	if got := len(strings.Fields(h.Get("webhook-signature"))); got != 2 {
		t.Fatalf("%d signatures, want one per secret: %q", got, h.Get("webhook-signature"))
	}
	for _, sec := range []string{"newer-plain", whsec} {
		if err := verifyStandard(h, body, sec, now); err != nil {
			t.Errorf("secret %.8s…: %v", sec, err)
		}
	}
	if err := verifyStandard(h, body, "wrong", now); err == nil {
		t.Error("a wrong secret verified")
	}
	if err := verifyStandard(h, append(body, ' '), "newer-plain", now); err == nil {
		t.Error("a changed body verified")
	}
	if err := verifyOneBot(h, body, "newer-plain"); err != nil {
		t.Error(err)
	}
	if h.Get("webhook-timestamp") != "1700000000" || h.Get("webhook-id") != "msg_1" {
		t.Errorf("headers = %v", h)
	}
}

func TestSignerWithoutSecretsSendsOnlyTheID(t *testing.T) {
	s, err := NewSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	s.Sign(h, "msg_x", time.Now(), []byte(`{}`))
	if h.Get("webhook-id") != "msg_x" || h.Get("webhook-signature") != "" || h.Get("X-Signature") != "" {
		t.Errorf("headers = %v", h)
	}
}

func TestSignerRejectsBadWhsecWithoutEchoingIt(t *testing.T) {
	_, err := NewSigner([]string{"ok", "whsec_not*base64"})
	if err == nil || strings.Contains(err.Error(), "not*base64") || !strings.Contains(err.Error(), "secret 2") {
		t.Errorf("err = %v", err)
	}
}

func TestMessageIDStableAndDistinct(t *testing.T) {
	a := MessageID("acct", "sub-1", "1700000000000-0")
	if a != MessageID("acct", "sub-1", "1700000000000-0") {
		t.Error("not stable")
	}
	for _, other := range []string{
		MessageID("acct", "sub-2", "1700000000000-0"),
		MessageID("acct2", "sub-1", "1700000000000-0"),
		MessageID("acct", "sub-1", "1700000000000-1"),
	} {
		if other == a {
			t.Errorf("collision: %s", a)
		}
	}
}
