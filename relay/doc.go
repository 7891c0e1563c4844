// Package relay serves the Openqq HTTP API (Mojo-Webqq's /openqq/*) as one
// http.Handler, for a plain HTTP(S) server (Server) and for AWS Lambda
// (relay/lambda) alike. It keeps no state: contacts, the connector's state,
// the QR code and events are read from Redis (package store), and write
// requests travel to the connector as commands on the store's bus.
//
// # Routes
//
// As the original (spec §6.3), answering in its shapes, codes and texts:
//
//	GET       /openqq/get_user_info, get_friend_info, get_group_info,
//	          get_group_basic_info, get_discuss_info    from the contact snapshot
//	GET POST  /openqq/search_friend, search_group       every param but the reserved ones, ANDed
//	GET POST  /openqq/send_friend_message, send_group_message,
//	          send_discuss_message, send_sess_message    async=1 answers at once
//	GET POST  /openqq/kick_group_member, shutup_group_member
//	GET       /openqq/relogin
//	GET POST  /openqq/stop_client, get_client_info
//	GET POST  /openqq/check_event                       long poll (see below)
//
// From the Controller API (spec §10.3), for one relay serving many accounts:
//
//	GET  /openqq/get_qrcode     the QR code to scan (PNG), 404 when none
//	GET  /openqq/check_client   the connector state of one account (client=) or all
//
// The relay's own:
//
//	GET  /          a login page: the QR code and the live state (?access_token=…&client=…)
//	GET  /healthz   200 when Redis answers and the connector is alive and logged in, else 503
//	GET  /metrics   Prometheus metrics
//
// OPTIONS on any path answers a CORS preflight. An unknown path or a method a
// route does not take answers HTTP 403 "api not found" (text/html), as the
// original. HEAD is served wherever GET is, but never sends, kicks, stops or
// consumes events.
//
// # Parameters and answers
//
// Parameters come from the query string, a urlencoded or multipart form, or
// a JSON object body (our addition: numbers, strings, booleans and lists are
// accepted); the first value of a repeated name wins, query first (see
// ParseParams). Flags such as async use Perl truthiness: "" and "0" are
// false. The client parameter picks the account (else Options.Account); the
// reserved names client, datatype, callback, _, access_token and async are
// never search keys and never travel with a command.
//
// Answers are JSON as Mojo::JSON writes it (non-ASCII raw, "/" as "\/",
// keys of connector results sorted), with Access-Control-Allow-Origin: * on
// every response. datatype=jsonp wraps the body in callback(…), the callback
// defaulting to jsoncallback<epoch>; a callback that is not a JavaScript
// identifier path is refused with 400 {"code":400,"status":"invalid
// callback"}. Errors keep the Openqq shape {"code":…,"status":…}; where the
// original hung or crashed the relay answers instead ([GO] fixes, spec §11):
// empty content is {"code":400,"status":"content missing","id":null}, a
// connector that is down or not logged in is HTTP 503 {"code":503,"status":
// "client not ready"}, a command nobody ran by its deadline is HTTP 504
// {"code":504,…}, one whose outcome is unknown HTTP 504 {"code":520,…}.
//
// # Tokens
//
// With Options.Tokens set, every route but OPTIONS and /healthz needs a
// token, sent as "Authorization: Bearer <token>", "X-Auth-Token: <token>" or
// the access_token parameter; a missing or wrong one answers HTTP 401
// {"code":-6,"status":"auth failure"}. Read-only tokens may read and poll;
// sending, kicking, muting, relogin and stop_client answer them HTTP 403
// {"code":-7,"status":"permission denied"}.
//
// # check_event
//
// A poll returns every buffered event at once, else holds up to
// Options.CheckEventTimeout (shortened to end before a Lambda invocation
// does) for the next one, else answers []. Each event goes to exactly one
// poller, and never as null. With cursor=<id> (or cursor=0, or empty, for
// everything kept; cursor=$ for what comes next) a poll reads the events stream
// instead, so several pollers each see every event: the body is still a bare
// array, and the X-Openqq-Cursor response header carries the id to pass as
// the next cursor (count= caps an answer, 100 by default). The relay resolves
// "$" to the id of the stream's newest entry before it waits, so the cursor
// it answers is always a concrete id, and an event appended between two polls
// is never missed.
package relay
