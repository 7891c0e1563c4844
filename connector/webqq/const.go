package webqq

// Protocol constants (spec §13).
const (
	appID       = "501004106"
	daID        = "164"
	clientID    = 53999199
	extAppID    = "715030901"
	extDaID     = "73"
	jsVer       = "10233"
	jsType      = "1"
	ptUIStyle   = "40"
	ptJSToken   = "485008785"
	ptLang      = "2052"
	qrAction    = "0-0-1516082717616"
	extAction   = "1-14-1515074375763"
	userAgent   = "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/37.0.2062"
	onlineState = "online"
)

// Real hosts. Options.Hosts and Options.Endpoint map them to other base URLs.
const (
	hostW      = "w.qq.com"
	hostXUI    = "xui.ptlogin2.qq.com"
	hostSSL    = "ssl.ptlogin2.qq.com"
	hostPT     = "ptlogin2.qq.com"
	hostS      = "s.web2.qq.com"
	hostD1     = "d1.web2.qq.com"
	hostQun    = "qun.qq.com"
	hostQinfo  = "qinfo.clt.qq.com"
	domainQQ   = "qq.com"
	checkSigRe = `^https?://[^/]+\.qq\.com/check_sig`
)

// realHosts lists every fixed host the client talks to; cookies the client
// sets on a domain reach the override of each host under it.
var realHosts = []string{hostW, hostXUI, hostSSL, hostPT, hostS, hostD1, hostQun, hostQinfo}

// Referers (spec §13).
const (
	refXLogin   = "https://xui.ptlogin2.qq.com/cgi-bin/xlogin?daid=164&target=self&style=40&pt_disable_pwd=1&mibao_css=m_webqq&appid=501004106&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert&strong_login=1&login_state=10&t=20131024001"
	refS        = "https://s.web2.qq.com/proxy.html?v=20130916001&callback=1&id=1"
	refD1       = "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2"
	refW        = "http://w.qq.com/"
	refQunHome  = "http://qun.qq.com/"
	refQun      = "http://qun.qq.com/member.html"
	refQinfo    = "http://qinfo.clt.qq.com/member.html"
	refQinfo3   = "http://qinfo.clt.qq.com/qinfo_v3/member.html"
	refExtLogin = "https://xui.ptlogin2.qq.com/cgi-bin/xlogin?appid=715030901&daid=73&pt_no_auth=1&s_url=http%3A%2F%2Fqun.qq.com%2F"
)

// Paths and query strings of the xlogin pages, which are fetched as well as
// sent as Referers.
const (
	pathXLogin     = "/cgi-bin/xlogin"
	queryXLogin    = "daid=164&target=self&style=40&pt_disable_pwd=1&mibao_css=m_webqq&appid=501004106&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert&strong_login=1&login_state=10&t=20131024001"
	queryExtLogin  = "appid=715030901&daid=73&pt_no_auth=1&s_url=http%3A%2F%2Fqun.qq.com%2F"
	checkSigSuffix = "&regmaster=&aid=501004106&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html"
)
