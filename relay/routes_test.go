package relay

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// routeCase is one route as the API promises it (spec §6.3 and ours), with
// a query that makes it succeed.
type routeCase struct {
	path    string
	query   string
	methods []string
	write   bool // needs a read-write token
	effect  bool // sends, kicks, stops or consumes: HEAD must not run it
	open    bool // needs no token
	json    bool // answers JSON (so JSONP applies)
}

var (
	tGet     = []string{http.MethodGet}
	tGetPost = []string{http.MethodGet, http.MethodPost}
)

var routeCases = []routeCase{
	{path: "/openqq/get_user_info", methods: tGet, json: true},
	{path: "/openqq/get_friend_info", methods: tGet, json: true},
	{path: "/openqq/get_group_info", methods: tGet, json: true},
	{path: "/openqq/get_group_basic_info", methods: tGet, json: true},
	{path: "/openqq/get_discuss_info", methods: tGet, json: true},
	{path: "/openqq/send_friend_message", query: "id=2457053936&content=hi", methods: tGetPost, write: true, effect: true, json: true},
	{path: "/openqq/relogin", methods: tGet, write: true, effect: true, json: true},
	{path: "/openqq/send_group_message", query: "uid=67890&content=hi", methods: tGetPost, write: true, effect: true, json: true},
	{path: "/openqq/send_discuss_message", query: "id=4118239384&content=hi", methods: tGetPost, write: true, effect: true, json: true},
	{path: "/openqq/send_sess_message", query: "group_id=2617047292&id=2832277643&content=hi", methods: tGetPost, write: true, effect: true, json: true},
	{path: "/openqq/search_friend", query: "uid=123456", methods: tGetPost, json: true},
	{path: "/openqq/search_group", query: "uid=67890", methods: tGetPost, json: true},
	{path: "/openqq/kick_group_member", query: "group_uid=67890&member_uid=45678", methods: tGetPost, write: true, effect: true, json: true},
	{path: "/openqq/shutup_group_member", query: "group_uid=67890&member_uid=45678&time=1", methods: tGetPost, write: true, effect: true, json: true},
	{path: "/openqq/check_event", methods: tGetPost, effect: true, json: true},
	{path: "/openqq/get_client_info", methods: tGetPost, json: true},
	{path: "/openqq/stop_client", methods: tGetPost, write: true, effect: true, json: true},
	{path: "/openqq/get_qrcode", methods: tGet},
	{path: "/openqq/check_client", methods: tGet, json: true},
	{path: "/", methods: tGet},
	{path: "/healthz", methods: tGet, open: true, json: true},
	{path: "/metrics", methods: tGet},
}

func (rc routeCase) target(extra string) string {
	q := rc.query
	if extra != "" {
		if q != "" {
			q += "&"
		}
		q += extra
	}
	if q == "" {
		return rc.path
	}
	return rc.path + "?" + q
}

func isAPINotFound(r response) bool {
	return r.status == http.StatusForbidden && string(r.body) == "api not found" &&
		r.header.Get("Content-Type") == "text/html;charset=UTF-8"
}

func TestRouteMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t).seed()
	e.connector(defaultAnswer)
	all := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}
	for _, rc := range routeCases {
		for _, m := range all {
			res := e.do(request{method: m, target: rc.target("")})
			allowed := slices.Contains(rc.methods, m)
			if allowed == isAPINotFound(res) {
				t.Errorf("%s %s: allowed=%v, got %d %q", m, rc.path, allowed, res.status, res.body)
			}
			if res.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("%s %s: no CORS header", m, rc.path)
			}
		}
	}
	for _, target := range []string{"/openqq/", "/openqq/get_user_info/", "/nope", "/openqq/GET_USER_INFO"} {
		if res := e.do(get(target)); !isAPINotFound(res) {
			t.Errorf("GET %s: got %d %q, want 403 api not found", target, res.status, res.body)
		}
	}
}

func TestRouteHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t).seed()
	e.connector(defaultAnswer)
	pushPosts(e)
	for _, rc := range routeCases {
		res := e.do(request{method: http.MethodHead, target: rc.target("")})
		if res.status != http.StatusOK && !(rc.path == "/openqq/get_qrcode" && res.status == http.StatusNotFound) {
			t.Errorf("HEAD %s: status %d", rc.path, res.status)
		}
		if len(res.body) != 0 {
			t.Errorf("HEAD %s: body %q", rc.path, res.body)
		}
	}
	// No HEAD ran a command or took an event.
	if n := len(e.commands()); n != 0 {
		t.Errorf("HEAD requests ran %d commands", n)
	}
	var got []json.RawMessage
	if err := json.Unmarshal(e.do(get("/openqq/check_event")).body, &got); err != nil || len(got) != len(fixturePosts(t)) {
		t.Errorf("after HEAD check_event, the buffer holds %d events (%v), want %d", len(got), err, len(fixturePosts(t)))
	}
}

func TestRoutePreflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withTokens("s3cret")).seed()
	for _, rc := range routeCases {
		res := e.do(request{method: http.MethodOptions, target: rc.path})
		h := res.header
		if res.status != http.StatusOK || len(res.body) != 0 ||
			h.Get("Access-Control-Allow-Origin") != "*" ||
			h.Get("Access-Control-Allow-Methods") != "OPTIONS, HEAD, GET, POST" ||
			h.Get("Access-Control-Allow-Headers") != "X-Requested-With, X-Auth-Token, Content-Type, Content-Length, Authorization" {
			t.Errorf("OPTIONS %s: %d %q %v", rc.path, res.status, res.body, h)
		}
	}
}

func TestRouteAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withTokens("s3cret, viewer:ro")).seed()
	e.connector(defaultAnswer)
	for _, rc := range routeCases {
		m := rc.methods[0]
		none := e.do(request{method: m, target: rc.target("")})
		if rc.open {
			if none.status == http.StatusUnauthorized {
				t.Errorf("%s needs no token, got 401", rc.path)
			}
			continue
		}
		if none.status != http.StatusUnauthorized || none.code(t) != -6 || none.json(t)["status"] != "auth failure" {
			t.Errorf("%s without a token: %d %s", rc.path, none.status, none.body)
		}
		if wrong := e.do(request{method: m, target: rc.target("access_token=s3cre")}); wrong.status != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d", rc.path, wrong.status)
		}
		offers := []request{
			{method: m, target: rc.target(""), header: map[string]string{"Authorization": "Bearer s3cret"}},
			{method: m, target: rc.target(""), header: map[string]string{"Authorization": "bearer s3cret"}},
			{method: m, target: rc.target(""), header: map[string]string{"X-Auth-Token": "s3cret"}},
			{method: m, target: rc.target("access_token=s3cret")},
		}
		if slices.Contains(rc.methods, http.MethodPost) {
			offers = append(offers, postForm(rc.path, rc.target("access_token=s3cret")[len(rc.path)+1:]))
		}
		for _, req := range offers {
			if res := e.do(req); res.status == http.StatusUnauthorized || res.status == http.StatusForbidden {
				t.Errorf("%s %s %v: %d %s", req.method, req.target, req.header, res.status, res.body)
			}
		}
		ro := e.do(request{method: m, target: rc.target(""), header: map[string]string{"X-Auth-Token": "viewer"}})
		switch {
		case rc.write && (ro.status != http.StatusForbidden || ro.code(t) != -7 || ro.json(t)["status"] != "permission denied"):
			t.Errorf("%s with a read-only token: %d %s, want 403 permission denied", rc.path, ro.status, ro.body)
		case !rc.write && (ro.status == http.StatusForbidden || ro.status == http.StatusUnauthorized):
			t.Errorf("%s with a read-only token: %d %s", rc.path, ro.status, ro.body)
		}
	}
}

func TestRouteJSONP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withTokens("s3cret")).seed()
	e.connector(defaultAnswer)
	for _, rc := range routeCases {
		if !rc.json {
			continue
		}
		// Errors (here: the missing token) are JSONP too.
		for _, extra := range []string{"datatype=jsonp&callback=cb.on_event", "datatype=jsonp&callback=cb.on_event&access_token=s3cret"} {
			res := e.do(request{method: rc.methods[0], target: rc.target(extra)})
			body := string(res.body)
			inner, ok := strings.CutPrefix(body, "cb.on_event(")
			inner, ok2 := strings.CutSuffix(inner, ")")
			if !ok || !ok2 || !json.Valid([]byte(inner)) {
				t.Errorf("%s?%s: body %q is not JSONP", rc.path, extra, body)
			}
			if res.header.Get("Content-Type") != contentTypeJSON {
				t.Errorf("%s JSONP content type %q", rc.path, res.header.Get("Content-Type"))
			}
		}
		// datatype other than jsonp, or a callback without it, is plain JSON.
		for _, extra := range []string{"callback=cb&access_token=s3cret", "datatype=JSONP&callback=cb&access_token=s3cret"} {
			if res := e.do(request{method: rc.methods[0], target: rc.target(extra)}); !json.Valid(res.body) {
				t.Errorf("%s?%s: want plain JSON, got %q", rc.path, extra, res.body)
			}
		}
		bad := e.do(request{method: rc.methods[0], target: rc.target("datatype=jsonp&callback=%3Cscript%3E&access_token=s3cret")})
		if bad.status != http.StatusBadRequest || strings.Contains(string(bad.body), "script") || bad.json(t)["status"] != "invalid callback" {
			t.Errorf("%s with an unsafe callback: %d %q", rc.path, bad.status, bad.body)
		}
	}
}
