// Package openqq holds the domain types of OpenQQ Relay: the QQ contacts,
// messages and events that the Openqq HTTP API speaks, the commands that
// relays queue for the connector, and the Openqq response codes.
//
// Data flows one way through the packages:
//
//	QQ service ⇄ connector (connector/webqq) → Redis (store) ← relay, relay/webhook
//
// The connector keeps the QQ session and writes contacts, events and command
// results into Redis; stateless relays serve /openqq/* from there. This
// package imports nothing but the standard library, so every layer can share
// these types without depending on each other.
//
// JSON follows the examples of the original Openqq API document: ids, uids
// and times are strings on the wire, codes are numbers. Decoding accepts both
// strings and numbers (see ID and Int).
package openqq
