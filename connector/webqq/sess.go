package webqq

import (
	"context"
	"strconv"
	"time"

	"github.com/openqq-relay/openqq"
)

// sessSigTTL is how long a sess signature is reused (spec §19.1).
const sessSigTTL = 300 * time.Second

type sigKey struct {
	id, to      openqq.ID
	serviceType int
}

type sessSig struct {
	value string
	at    time.Time
}

// sessSig returns the signature for a temporary message to t.id through the
// group or discussion t.via: cached for 300 s, the cache cleared by Login.
func (c *Client) sessSig(ctx context.Context, s session, t sendTarget) (string, error) {
	key := sigKey{id: t.via, to: t.id, serviceType: t.serviceType}
	c.mu.Lock()
	if sig, ok := c.sess.sessSigs[key]; ok && time.Since(sig.at) < sessSigTTL {
		c.mu.Unlock()
		return sig.value, nil
	}
	c.mu.Unlock()
	var a struct {
		Retcode openqq.Int `json:"retcode"`
		Result  *struct {
			Value jsonString `json:"value"`
		} `json:"result"`
	}
	err := c.getJSON(ctx, call{api: "get_c2cmsg_sig2", host: hostD1, path: "/channel/get_c2cmsg_sig2",
		query: "id=" + strconv.FormatInt(int64(t.via), 10) + "&to_uin=" + strconv.FormatInt(int64(t.id), 10) +
			"&service_type=" + strconv.Itoa(t.serviceType) + "&clientid=" + strconv.Itoa(clientID) +
			"&psessionid=" + s.psessionid + "&t=" + epoch(),
		referer: refD1, attempts: modelAttempts}, &a)
	if err != nil {
		return "", err
	}
	if a.Retcode != 0 || a.Result == nil || a.Result.Value == "" {
		return "", &RetcodeError{API: "get_c2cmsg_sig2", Retcode: int(a.Retcode)}
	}
	c.mu.Lock()
	if c.sess.sessSigs == nil {
		c.sess.sessSigs = map[sigKey]sessSig{}
	}
	c.sess.sessSigs[key] = sessSig{value: string(a.Result.Value), at: time.Now()}
	c.mu.Unlock()
	return string(a.Result.Value), nil
}
