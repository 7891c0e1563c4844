package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openqq-relay/openqq"
)

// Defaults of HeartbeatOptions.
const (
	DefaultPollInterval    = 5 * time.Second
	DefaultPollTimeout     = 120 * time.Second
	DefaultPollCommandWait = 30 * time.Second
)

// maxPollBody bounds how much of a heartbeat answer is read (and dropped).
const maxPollBody = 1 << 20

// pollAPIs are the Openqq APIs a heartbeat redirect may run: the write APIs,
// which the command bus carries. Read APIs are pointless there (the answer
// is discarded, spec §9) and are ignored.
var pollAPIs = map[string]bool{
	openqq.APISendFriendMessage:  true,
	openqq.APISendGroupMessage:   true,
	openqq.APISendDiscussMessage: true,
	openqq.APISendSessMessage:    true,
	openqq.APIKickGroupMember:    true,
	openqq.APIShutupGroupMember:  true,
	openqq.APIRelogin:            true,
	openqq.APIStopClient:         true,
}

// pollReserved are query parameters that steer a request, never a command
// (the relay drops the same ones).
var pollReserved = map[string]bool{
	"client": true, "datatype": true, "callback": true, "_": true, "access_token": true, "async": true,
}

// Submitter runs a command on the account's connector and waits for its
// result; *store.DB satisfies it.
type Submitter interface {
	Submit(ctx context.Context, acct string, cmd *openqq.Command) (openqq.Result, error)
}

// HeartbeatOptions configure a Heartbeat. URL and Store are required; every
// other zero value means its default.
type HeartbeatOptions struct {
	URL      string        // the poll_api URL
	Interval time.Duration // wait after each request (poll_interval); DefaultPollInterval
	Timeout  time.Duration // one request; DefaultPollTimeout, as the original's 120 s
	// CommandWait is the deadline of a command a redirect asks for.
	CommandWait time.Duration
	Store       Submitter
	Account     string // DefaultAccount when empty
	HTTPClient  *http.Client
	UserAgent   string // "openqq-relay/<version>" when empty
	Logger      *slog.Logger
	Registry    prometheus.Registerer // nil: a private registry
}

// Heartbeat is the poll_api loop (spec §9): an outbound long poll that lets
// a server behind no inbound route drive the account. A server that wants an
// API called answers 302 with Location /openqq/<api>?<params> (any host);
// the call goes over the command bus, so it works wherever the relay runs
// (a Lambda function included), not only on the connector's host.
type Heartbeat struct {
	o       HeartbeatOptions
	client  *resty.Client
	log     *slog.Logger
	polls   *prometheus.CounterVec // by result: ok, error, redirect, ignored
	results *prometheus.CounterVec // commands run, by api and answer code
}

// NewHeartbeat checks o and builds a Heartbeat; it does no I/O.
func NewHeartbeat(o HeartbeatOptions) (*Heartbeat, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("connector: heartbeat: URL must be an absolute http or https URL")
	}
	if o.Store == nil {
		return nil, errors.New("connector: heartbeat: Store is required")
	}
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&o.Interval, DefaultPollInterval}, {&o.Timeout, DefaultPollTimeout}, {&o.CommandWait, DefaultPollCommandWait}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if o.UserAgent == "" {
		o.UserAgent = "openqq-relay/" + openqq.Version
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	h := &Heartbeat{
		o: o,
		client: resty.NewWithClient(pollClient(o.HTTPClient)).
			SetHeader("User-Agent", o.UserAgent).
			SetLogger(restyLogger{o.Logger}),
		log: o.Logger.With(openqq.LogKeyComponent, "heartbeat", openqq.LogKeyAccount, o.Account),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openqq_heartbeat_polls_total", Help: "poll_api requests, by result.",
		}, []string{"result"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openqq_heartbeat_commands_total", Help: "Commands run for poll_api redirects, by api and answer code.",
		}, []string{"api", "code"}),
	}
	reg := prometheus.WrapRegistererWith(prometheus.Labels{"account": o.Account}, o.Registry)
	for _, c := range []prometheus.Collector{h.polls, h.results} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("connector: heartbeat: %w", err)
		}
	}
	return h, nil
}

// pollClient copies c (or the default client) so that redirects come back
// as answers: they are instructions, not places to go.
func pollClient(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

// Run polls until ctx ends, then returns nil: one request, then Interval
// after it finished, whatever its outcome, as the original.
func (h *Heartbeat) Run(ctx context.Context) error {
	h.log.InfoContext(ctx, "poll_api heartbeat started", "interval", h.o.Interval)
	for ctx.Err() == nil {
		h.poll(ctx)
		t := time.NewTimer(h.o.Interval)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// poll makes one request and acts on a redirect.
func (h *Heartbeat) poll(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	// One attempt: the loop itself is the retry, Interval after each answer.
	resp, err := h.client.R().SetContext(rctx).SetDoNotParseResponse(true).Get(h.o.URL)
	if err != nil {
		if ctx.Err() == nil {
			h.polls.WithLabelValues("error").Inc()
			h.log.WarnContext(ctx, "poll_api request failed", openqq.LogKeyErr, redactPollErr(err))
		}
		return
	}
	body := resp.RawBody()
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxPollBody))
	body.Close()
	loc := resp.Header().Get("Location")
	if resp.StatusCode() < 300 || resp.StatusCode() > 399 || loc == "" {
		h.polls.WithLabelValues("ok").Inc()
		return
	}
	cmd, err := h.redirectCommand(resp.Request.RawRequest.URL, loc)
	if err != nil {
		h.polls.WithLabelValues("ignored").Inc()
		h.log.WarnContext(ctx, "poll_api redirect ignored", openqq.LogKeyErr, err)
		return
	}
	h.polls.WithLabelValues("redirect").Inc()
	h.run(ctx, cmd)
}

// redirectCommand turns a Location into a command: its path must be
// /openqq/<write api> (any host: the original's own API was on the client's
// host, ours is the command bus); its query gives the parameters.
func (h *Heartbeat) redirectCommand(base *url.URL, loc string) (*openqq.Command, error) {
	u, err := base.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("location is not a URL")
	}
	api, ok := strings.CutPrefix(u.Path, "/openqq/")
	if !ok || api == "" || strings.Contains(api, "/") {
		return nil, fmt.Errorf("location path %q is not /openqq/<api>", u.Path)
	}
	if !pollAPIs[api] {
		return nil, fmt.Errorf("api %q cannot run from a heartbeat redirect", api)
	}
	params := map[string]string{}
	for k, vs := range u.Query() {
		if !pollReserved[k] && len(vs) > 0 {
			params[k] = vs[0] // [GO] spec §6.2: the first value of a repeated parameter
		}
	}
	return &openqq.Command{API: api, Params: params}, nil
}

// run submits the command and waits for its result, up to CommandWait.
func (h *Heartbeat) run(ctx context.Context, cmd *openqq.Command) {
	now := time.Now()
	cmd.Created, cmd.Deadline = now, now.Add(h.o.CommandWait)
	sctx, cancel := context.WithTimeout(ctx, h.o.CommandWait+5*time.Second)
	defer cancel()
	res, err := h.o.Store.Submit(sctx, h.o.Account, cmd)
	if err != nil {
		code := "error"
		if oe, ok := errors.AsType[*openqq.Error](err); ok {
			code = strconv.Itoa(oe.Code)
		}
		h.results.WithLabelValues(cmd.API, code).Inc()
		if ctx.Err() == nil {
			h.log.WarnContext(ctx, "poll_api command failed", openqq.LogKeyAPI, cmd.API, openqq.LogKeyCommandID, cmd.ID, openqq.LogKeyErr, err)
		}
		return
	}
	h.results.WithLabelValues(cmd.API, strconv.Itoa(res.Code)).Inc()
	h.log.InfoContext(ctx, "poll_api command done", openqq.LogKeyAPI, cmd.API, openqq.LogKeyCommandID, cmd.ID, "code", res.Code)
}

// redactPollErr drops the URL from a transport error: its query may hold a
// token.
func redactPollErr(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s poll_api: %w", ue.Op, ue.Err)
	}
	return err
}

// restyLogger sends resty's own warnings to the heartbeat's logger.
type restyLogger struct{ log *slog.Logger }

func (l restyLogger) Errorf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l restyLogger) Warnf(format string, v ...any)  { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l restyLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
