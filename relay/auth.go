package relay

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/openqq-relay/openqq"
)

// Token is one API token. A read-only token may read and poll but not send,
// kick, mute, relogin or stop.
type Token struct {
	Value    openqq.Secret
	ReadOnly bool
}

// ParseTokens reads a comma-separated token list such as "s3cret,view:ro":
// a ":ro" suffix makes a read-only token (":rw", the default, may be
// written too). Blank entries are skipped; a token with spaces, or an
// unknown suffix that leaves an empty token, is an error naming its position
// only, never its value.
func ParseTokens(s string) ([]Token, error) {
	var out []Token
	for i, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		t := Token{Value: openqq.Secret(raw)}
		if v, ok := strings.CutSuffix(raw, ":ro"); ok {
			t = Token{Value: openqq.Secret(v), ReadOnly: true}
		} else if v, ok := strings.CutSuffix(raw, ":rw"); ok {
			t.Value = openqq.Secret(v)
		}
		if t.Value == "" {
			return nil, fmt.Errorf("token %d is empty", i+1)
		}
		if strings.ContainsAny(string(t.Value), " \t\r\n") {
			return nil, fmt.Errorf("token %d contains white space", i+1)
		}
		out = append(out, t)
	}
	return out, nil
}

// keyring holds the configured tokens as SHA-256 digests, so that comparing
// takes the same time whatever the length or value of the offered token.
type keyring struct {
	digests  [][sha256.Size]byte
	readOnly []bool
}

func newKeyring(tokens []Token) keyring {
	var k keyring
	for _, t := range tokens {
		k.digests = append(k.digests, sha256.Sum256([]byte(t.Value)))
		k.readOnly = append(k.readOnly, t.ReadOnly)
	}
	return k
}

func (k keyring) enabled() bool { return len(k.digests) > 0 }

// check returns whether the offered token is known and whether it is
// read-only. Every configured token is compared, found or not.
func (k keyring) check(offered string) (ok, readOnly bool) {
	d := sha256.Sum256([]byte(offered))
	match := -1
	for i := range k.digests {
		if subtle.ConstantTimeCompare(d[:], k.digests[i][:]) == 1 && match < 0 {
			match = i
		}
	}
	if match < 0 || offered == "" {
		return false, false
	}
	return true, k.readOnly[match]
}

// offeredToken finds the caller's token: Authorization: Bearer, then
// X-Auth-Token, then the access_token parameter.
func offeredToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if scheme, tok, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
	}
	if t := r.Header.Get("X-Auth-Token"); t != "" {
		return t
	}
	return paramsOf(r)["access_token"]
}

// authorize checks the caller's token against the route's needs: nil when
// the call may go on, else the Openqq error to answer.
func (h *Handler) authorize(r *http.Request, write bool) error {
	if !h.keys.enabled() {
		return nil
	}
	ok, readOnly := h.keys.check(offeredToken(r))
	if !ok {
		return openqq.ErrAuthFailure
	}
	if write && readOnly {
		return openqq.ErrPermissionDenied
	}
	return nil
}
