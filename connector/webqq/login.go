package webqq

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/openqq-relay/openqq"
)

// loginState collects what one login learns before it is committed.
type loginState struct {
	uid        int64
	ptwebqq    string
	ptwebqqSet bool
	vfwebqq    string
	psessionid string
}

type nopObserver struct{}

func (nopObserver) QRCode([]byte)            {}
func (nopObserver) State(openqq.ClientState) {}
func (nopObserver) CookiesChanged([]byte)    {}

var (
	errNoCookies = errors.New("no saved session cookies")
	errNoResume  = errors.New("saved session not resumable")
)

// Login logs in: with the imported cookies when ptlogin still accepts them
// (scanned=false), else by QR code (scanned=true). obs hears about QR
// codes, the scaning/confirming states and every later cookie change; it
// may be nil. When a password is set, the ext authorisation runs on every
// login ([GO] spec §4.7: the original lost it after the first relogin); its
// failure only disables the ext features.
func (c *Client) Login(ctx context.Context, obs openqq.LoginObserver) (scanned bool, err error) {
	if c.hostsErr != nil {
		return false, c.hostsErr
	}
	if obs == nil {
		obs = nopObserver{}
	}
	c.mu.Lock()
	c.obs = obs
	c.sess = session{}
	c.mu.Unlock()

	if err := c.prepare(ctx); err != nil {
		return false, err
	}
	ls, err := c.cookieLogin(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		c.log.InfoContext(ctx, "cookie login not possible, using qr code", "err", err)
		if !errors.Is(err, errNoCookies) {
			_ = c.logoutRequest(ctx) // spec §15.1: a failed resume logs out first
		}
		if ls, err = c.qrLogin(ctx, obs); err != nil {
			return false, err
		}
		scanned = true
	}
	c.mu.Lock()
	c.sess = session{loggedIn: true, uid: ls.uid, psessionid: ls.psessionid, vfwebqq: ls.vfwebqq,
		ptwebqq: ls.ptwebqq, ptwebqqSet: ls.ptwebqqSet}
	c.mu.Unlock()
	c.log.InfoContext(ctx, "logged in", "scanned", scanned)

	if c.pwMD5 != "" {
		if err := c.extLogin(ctx, ls.uid); err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			c.log.WarnContext(ctx, "ext authorisation failed, no qq numbers, kick or mute", "err", err)
		} else {
			c.mu.Lock()
			c.sess.ext = true
			c.mu.Unlock()
		}
	}
	return scanned, nil
}

// prepare fetches w.qq.com and the xlogin page for their cookies (spec §15.0).
func (c *Client) prepare(ctx context.Context) error {
	if _, err := c.do(ctx, call{api: "w.qq.com", host: hostW, path: "/"}); err != nil && ctx.Err() != nil {
		return ctx.Err() // the answer is ignored, only a cancel matters
	}
	_, err := c.do(ctx, call{api: "xlogin", host: hostXUI, path: pathXLogin, query: queryXLogin,
		referer: refW, attempts: loginAttempts})
	return err
}

// cookieLogin resumes the session of the imported cookies (spec §15.1):
// pt4_auth must hand out a check_sig URL.
func (c *Client) cookieLogin(ctx context.Context) (loginState, error) {
	st, ok1 := c.jar.Get("supertoken")
	su, ok2 := c.jar.Get("superuin")
	if !ok1 || !ok2 || st == "" || su == "" {
		return loginState{}, errNoCookies
	}
	resp, err := c.do(ctx, call{api: "pt4_auth", host: hostSSL, path: "/pt4_auth",
		query:   "daid=" + daID + "&appid=" + appID + "&auth_token=" + strconv.FormatUint(uint64(time33(st)), 10),
		referer: refXLogin, attempts: loginAttempts})
	if err != nil {
		return loginState{}, err
	}
	p, err := parsePtui(resp.body)
	if err != nil {
		return loginState{}, fmt.Errorf("%w: %w", errNoResume, err)
	}
	sig, ok := c.hosts.checkSig(p.arg(1) + checkSigSuffix)
	if !ok {
		return loginState{}, fmt.Errorf("%w: pt4_auth code %d", errNoResume, p.Code)
	}
	var ls loginState
	if v, ok := c.jar.Get("ptwebqq"); ok {
		ls.ptwebqq, ls.ptwebqqSet = v, true
	}
	if err := c.finishLogin(ctx, sig.String(), &ls); err != nil {
		return loginState{}, err
	}
	return ls, nil
}

// qrLogin runs the QR code login (spec §15.2).
func (c *Client) qrLogin(ctx context.Context, obs openqq.LoginObserver) (loginState, error) {
	if err := c.showQR(ctx, obs); err != nil {
		return loginState{}, err
	}
	expired := 0
	var state openqq.ClientState
	report := func(s openqq.ClientState) {
		if s != state {
			state = s
			c.log.InfoContext(ctx, "qr login", openqq.LogKeyState, s)
			obs.State(s)
		}
	}
	for {
		p, err := c.qrCheck(ctx)
		if err != nil {
			return loginState{}, err
		}
		switch p.Code {
		case 66:
			report(openqq.StateScaning)
		case 67:
			report(openqq.StateConfirming)
		case 65:
			expired++
			c.log.InfoContext(ctx, "qr code expired", "count", expired)
			if expired >= c.qrLimit {
				return loginState{}, fmt.Errorf("webqq: qr login: expired %d times: %w", expired, openqq.ErrQRCodeExpired)
			}
			if err := c.showQR(ctx, obs); err != nil {
				return loginState{}, err
			}
			continue
		case 0:
			return c.qrDone(ctx, p)
		default:
			return loginState{}, fmt.Errorf("webqq: qr login: %s (code %d)", p.arg(4), p.Code)
		}
		if err := sleep(ctx, c.qrInterval); err != nil {
			return loginState{}, err
		}
	}
}

// showQR downloads a QR code and hands it to the observer.
func (c *Client) showQR(ctx context.Context, obs openqq.LoginObserver) error {
	resp, err := c.do(ctx, call{api: "ptqrshow", host: hostSSL, path: "/ptqrshow",
		query:   "appid=" + appID + "&e=2&l=M&s=3&d=72&v=4&t=" + randT() + "&daid=" + daID + "&pt_3rd_aid=0",
		referer: refXLogin, attempts: loginAttempts})
	if err != nil {
		return err
	}
	if len(resp.body) == 0 {
		return fmt.Errorf("webqq: qr login: ptqrshow: empty image")
	}
	obs.QRCode(resp.body)
	return nil
}

func (c *Client) qrCheck(ctx context.Context) (ptui, error) {
	qrsig, ok := c.jar.Get("qrsig")
	if !ok {
		return ptui{}, fmt.Errorf("webqq: qr login: ptqrshow set no qrsig cookie")
	}
	sig, _ := c.jar.Get("pt_login_sig")
	q := "u1=http%3A%2F%2Fw.qq.com%2Fproxy.html&ptqrtoken=" + strconv.FormatInt(hash33(qrsig), 10) +
		"&ptredirect=0&h=1&t=1&g=1&from_ui=1&ptlang=" + ptLang + "&action=" + qrAction +
		"&js_ver=" + jsVer + "&js_type=" + jsType + "&login_sig=" + sig + "&pt_uistyle=" + ptUIStyle +
		"&aid=" + appID + "&daid=" + daID + "&mibao_css=m_webqq&"
	resp, err := c.do(ctx, call{api: "ptqrlogin", host: hostSSL, path: "/ptqrlogin", query: q,
		referer: refXLogin, attempts: loginAttempts})
	if err != nil {
		return ptui{}, err
	}
	p, err := parsePtui(resp.body)
	if err != nil {
		return ptui{}, err
	}
	return p, nil
}

// qrDone completes a scanned login: uid from the uin cookie, then check_sig,
// getvfwebqq and login2.
func (c *Client) qrDone(ctx context.Context, p ptui) (loginState, error) {
	var ls loginState
	uin, _ := c.jar.Get("uin")
	uid, err := parseUinCookie(uin)
	if err != nil {
		return ls, fmt.Errorf("webqq: qr login: %w", err)
	}
	if acct, err := strconv.ParseInt(c.account, 10, 64); err == nil && acct != uid {
		return ls, fmt.Errorf("webqq: qr login: scanned by %d, not by account %s", uid, c.account)
	}
	ls.uid = uid
	sig, ok := c.hosts.checkSig(p.arg(2))
	if !ok {
		return ls, fmt.Errorf("webqq: qr login: bad check_sig url %q", redactURL(p.arg(2)))
	}
	if v, ok := c.jar.Get("ptwebqq"); ok {
		ls.ptwebqq, ls.ptwebqqSet = v, true
	}
	if err := c.finishLogin(ctx, sig.String(), &ls); err != nil {
		return ls, err
	}
	return ls, nil
}

// parseUinCookie reads the uin cookie ("o0123456789": drop the first
// character) as a QQ number.
func parseUinCookie(v string) (int64, error) {
	if len(v) < 2 {
		return 0, fmt.Errorf("uin cookie %q missing or short", v)
	}
	n, err := strconv.ParseInt(v[1:], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("uin cookie %q is not a qq number", v)
	}
	return n, nil
}

// finishLogin runs check_sig, getvfwebqq and login2 (spec §15.1d–f).
func (c *Client) finishLogin(ctx context.Context, checkSig string, ls *loginState) error {
	if _, err := c.do(ctx, call{api: "check_sig", rawURL: checkSig, attempts: loginAttempts}); err != nil {
		return err
	}
	if v, ok := c.jar.Get("ptwebqq"); ok && !ls.ptwebqqSet {
		ls.ptwebqq, ls.ptwebqqSet = v, true
	}
	vf, err := c.getVFWebQQ(ctx, ls)
	if err != nil {
		return err
	}
	ls.vfwebqq = vf
	return c.login2(ctx, ls)
}

func (c *Client) getVFWebQQ(ctx context.Context, ls *loginState) (string, error) {
	var ans struct {
		Retcode int `json:"retcode"`
		Result  struct {
			VFWebQQ jsonString `json:"vfwebqq"`
		} `json:"result"`
	}
	err := c.getJSON(ctx, call{api: "getvfwebqq", host: hostS, path: "/api/getvfwebqq",
		query:   "ptwebqq=" + ls.ptwebqq + "&clientid=" + strconv.Itoa(clientID) + "&psessionid=" + ls.psessionid + "&t=" + epoch(),
		referer: refS, timeout: vfTimeout, attempts: modelAttempts}, &ans)
	if err != nil {
		return "", err
	}
	if ans.Retcode != 0 {
		return "", &RetcodeError{API: "getvfwebqq", Retcode: ans.Retcode}
	}
	if ans.Result.VFWebQQ == "" {
		return "", fmt.Errorf("webqq: getvfwebqq: no vfwebqq in answer")
	}
	return string(ans.Result.VFWebQQ), nil
}

// login2Answer is the result of login2 (and of the relink login2).
type login2Answer struct {
	Retcode int `json:"retcode"`
	Result  struct {
		UIN        openqq.ID  `json:"uin"`
		PSessionID jsonString `json:"psessionid"`
		VFWebQQ    jsonString `json:"vfwebqq"`
		PTWebQQ    *string    `json:"ptwebqq"`
		SKey       *string    `json:"skey"`
	} `json:"result"`
}

// login2 opens the channel session (spec §15.4).
func (c *Client) login2(ctx context.Context, ls *loginState) error {
	form, err := rForm(map[string]any{"clientid": clientID, "psessionid": nil,
		"ptwebqq": nullable(ls.ptwebqq, ls.ptwebqqSet), "status": onlineState})
	if err != nil {
		return err
	}
	var ans login2Answer
	err = c.getJSON(ctx, call{api: "login2", method: http.MethodPost, host: hostD1, path: "/channel/login2",
		form: form, referer: refD1, attempts: loginAttempts}, &ans)
	if err != nil {
		return err
	}
	if ans.Retcode != 0 {
		return &RetcodeError{API: "login2", Retcode: ans.Retcode}
	}
	uin := int64(ans.Result.UIN)
	switch {
	case uin == 0 && ls.uid == 0:
		return fmt.Errorf("webqq: login2: no uin in answer")
	case uin != 0 && ls.uid != 0 && uin != ls.uid:
		return fmt.Errorf("webqq: login2: logged in as %d, expected %d", uin, ls.uid)
	case uin != 0:
		ls.uid = uin
	}
	if ans.Result.PSessionID == "" {
		return fmt.Errorf("webqq: login2: no psessionid in answer")
	}
	ls.psessionid = string(ans.Result.PSessionID)
	c.proxyCookies()
	return nil
}

// proxyCookies copies p_skey and p_uin to w.qq.com (spec §15.4).
func (c *Client) proxyCookies() {
	pskey, ok1 := c.jar.Get("p_skey")
	puin, ok2 := c.jar.Get("p_uin")
	if !ok1 || !ok2 {
		return
	}
	c.setDomainCookie(hostW, &http.Cookie{Name: "p_skey", Value: pskey, Path: "/"})
	c.setDomainCookie(hostW, &http.Cookie{Name: "p_uin", Value: puin, Path: "/"})
}

// Logout ends the session upstream (spec §21) and forgets it locally. The
// cookie jar is kept: the server's answer expires what it wants expired.
func (c *Client) Logout(ctx context.Context) error {
	err := c.logoutRequest(ctx)
	c.mu.Lock()
	c.sess = session{}
	c.mu.Unlock()
	return err
}

func (c *Client) logoutRequest(ctx context.Context) error {
	token, _ := c.jar.Get("pt4_token")
	skey, _ := c.jar.Get("skey")
	ptcz, _ := c.jar.Get("ptcz")
	q := "pt4_token=" + token + "&pt4_hkey=" + strconv.FormatUint(uint64(time33(skey)), 10) +
		"&pt4_ptcz=" + strconv.FormatInt(hash33(ptcz), 10) + "&deep_logout=1"
	_, err := c.do(ctx, call{api: "logout", host: hostPT, path: "/logout", query: q, referer: refW})
	return err
}
