// Package webqq is a client of the SmartQQ (WebQQ) web protocol as
// Mojo-Webqq spoke it: QR and cookie-reuse login, contact loading, the poll2
// long poll, sending, and the qun.qq.com "ext" features (real QQ numbers,
// kick and mute).
//
// A Client is one account's session. It satisfies connector.Backend without
// importing the connector: everything it returns is an openqq type. The
// service itself is gone, so Options.Endpoint or Options.Hosts point the
// client at a protocol simulator (connector/sandbox) instead of Tencent's
// hosts.
//
// Wire details follow the original client exactly (headers, Referers, query
// strings built without escaping, r= JSON with sorted keys and "\/"). Where
// the original had a bug, the client does what was intended and the code
// cites the spec section ("[GO] spec §…").
package webqq
