package webqq

import (
	"context"
	"fmt"
	"strconv"
)

// extLogin is the password login to qun.qq.com that the ext features need
// (spec §17.1): xlogin for appid 715030901, check, login with the encrypted
// password, check_sig.
func (c *Client) extLogin(ctx context.Context, uid int64) error {
	_, err := c.do(ctx, call{api: "ext xlogin", host: hostXUI, path: pathXLogin, query: queryExtLogin,
		referer: refQunHome, attempts: loginAttempts})
	if err != nil {
		return err
	}
	qq := c.account
	if _, err := strconv.ParseInt(qq, 10, 64); err != nil {
		qq = strconv.FormatInt(uid, 10)
	}
	sig, _ := c.jar.Get("pt_login_sig")
	chk, err := c.extCheck(ctx, qq, sig)
	if err != nil {
		return err
	}
	vc, vs, randSalt := chk.arg(1), chk.arg(3), chk.arg(4)
	if vs == "" {
		vs, _ = c.jar.Get("verifysession")
	}
	if randSalt == "" {
		randSalt = "0"
	}
	salt, err := unescapeJS(chk.arg(2))
	if err != nil {
		return fmt.Errorf("webqq: ext login: salt: %w", err)
	}
	p, err := encryptPassword(c.pwMD5, salt, vc, c.pwKey, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, call{api: "ext login", host: hostSSL, path: "/login",
		query: "u=" + qq + "&verifycode=" + vc + "&pt_vcode_v1=0&pt_verifysession_v1=" + vs + "&p=" + p +
			"&pt_randsalt=" + randSalt + "&pt_jstoken=" + ptJSToken + "&u1=http%3A%2F%2Fqun.qq.com%2F" +
			"&ptredirect=1&h=1&t=1&g=1&from_ui=1&ptlang=" + ptLang + "&action=" + extAction + "&js_ver=" + jsVer +
			"&js_type=" + jsType + "&login_sig=" + sig + "&pt_uistyle=" + ptUIStyle + "&aid=" + extAppID +
			"&daid=" + extDaID + "&has_onekey=1&",
		referer: refExtLogin, attempts: loginAttempts})
	if err != nil {
		return err
	}
	res, err := parsePtui(resp.body)
	if err != nil {
		return err
	}
	if res.Code != 0 {
		return fmt.Errorf("%w (%s)", &RetcodeError{API: "ext login", Retcode: res.Code}, res.arg(4))
	}
	u, ok := c.hosts.checkSig(res.arg(2))
	if !ok {
		return fmt.Errorf("webqq: ext login: bad check_sig url %q", redactURL(res.arg(2)))
	}
	_, err = c.do(ctx, call{api: "ext check_sig", rawURL: u.String(), attempts: loginAttempts})
	return err
}

// extCheck asks ptlogin for the salt and verify code of the account:
// 'retcode','verifycode','md5_salt','verifysession','is_rand_salt'.
func (c *Client) extCheck(ctx context.Context, qq, loginSig string) (ptui, error) {
	resp, err := c.do(ctx, call{api: "ext check", host: hostSSL, path: "/check",
		query: "regmaster=&pt_tea=2&pt_vcode=1&uin=" + qq + "&appid=" + extAppID + "&js_ver=" + jsVer +
			"&js_type=" + jsType + "&login_sig=" + loginSig + "&u1=http%3A%2F%2Fqun.qq.com%2F&r=" + randT() +
			"&pt_uistyle=" + ptUIStyle + "&pt_jstoken=" + ptJSToken,
		referer: refExtLogin, attempts: loginAttempts})
	if err != nil {
		return ptui{}, err
	}
	chk, err := parsePtui(resp.body)
	if err != nil {
		return ptui{}, err
	}
	if chk.Code != 0 {
		// Usually "login environment changed" (issue #183 of the original).
		return ptui{}, &RetcodeError{API: "ext check", Retcode: chk.Code}
	}
	return chk, nil
}
