// Package webhook is the post_api dispatcher: it fans the account's events
// stream out to several HTTP subscribers, durably, and turns their
// {"reply":…} answers into commands for the connector.
//
// # Subscribers
//
// Subscribers come from configuration (OPENQQ_POST_API, registered by Sync
// at every start) and from the admin API (AdminHandler). Both live in Redis,
// so every dispatcher instance of an account sees the same set. Each
// subscriber has its own consumer group on the events stream ("webhook:<id>")
// and its own goroutine, so a slow or dead subscriber never delays another.
// A per-subscriber lease in Redis makes one instance at a time deliver to a
// subscriber; another takes over within the lease TTL when it dies.
//
// # What is posted
//
// The body is the stream entry's bytes: exactly the original's payload
// (spec §8.2), with Content-Type: application/json and User-Agent
// openqq-relay/<version>. Messages always go; events only when the
// subscriber's post_event is on and the event is in its post_event_list
// (openqq.DefaultPostEventList by default).
//
// # Delivery guarantees
//
// At least once: an event leaves a subscriber's queue only when it was
// answered 2xx, was filtered out, or was moved to the subscriber's dead
// letters (one MULTI: moved and acknowledged together). A dispatcher that
// stops or dies while an event is in flight leaves it pending; the next
// holder of the lease delivers it again with the same webhook-id, which
// receivers use to drop duplicates.
//
// Order: per subscriber, events are delivered one at a time in stream order,
// and an event is first attempted only after every earlier one was
// delivered, filtered or dead-lettered. While the head event is being
// retried, the subscriber's newer events wait (its own queue only). Two
// exceptions: replayed dead letters are delivered when an operator replays
// them, between newer events; and a redelivery after a crash repeats events
// that had been delivered but not yet acknowledged (at most one batch).
//
// At shutdown, Drain waits until the subscribers that can take events have
// delivered everything up to the stream's newest entry, so that a process
// whose Redis goes away with it (openqq up's embedded one) loses nothing it
// could have sent.
//
// # Retries
//
// Connect errors, timeouts, 408, 429 and 5xx are retried on a schedule
// (DefaultSchedule: at once, 1 s, 5 s, 30 s, 2 min, 10 min, 1 h), each wait
// drawn with full jitter from [0, step] and never shorter than the
// receiver's Retry-After (seconds or an HTTP date, capped). 410 Gone disables
// the subscriber until it is resumed. Any other status (including 3xx:
// redirects are not followed) dead-letters the event at once. An event is
// never attempted after its TTL (24 h by default, counted from its append).
// After the last attempt it goes to the dead letters, which the admin API
// lists, replays and purges. A breaker per subscriber opens after several
// failures in a row; while it is open nothing is sent, then one probe goes
// out, so a dead endpoint costs one request per open period.
//
// # Signatures
//
// With secrets configured every attempt carries Standard Webhooks headers
// (webhook-id, webhook-timestamp, webhook-signature: one "v1,<base64
// HMAC-SHA256 of id.timestamp.body>" per secret, for rotation; a "whsec_"
// secret is the base64 of its key) and the OneBot v11 header X-Signature:
// sha1=<hex HMAC-SHA1 of the body>, keyed with the first secret as written,
// as OneBot receivers configure it. webhook-id is sent even unsigned: it is
// the idempotency key. Receivers should reject timestamps more than 5 min
// away from their clock.
//
// # Replies
//
// A reply-capable subscriber (the first configured URL by default) may
// answer a message post 2xx with a JSON body {"reply":"…"} and, for group
// messages, {"shutup":1,"shutup_time":<seconds>} (spec §8.3). The first
// subscriber to answer an event with an action wins; its commands go to the
// connector over the command bus with ids derived from the event, so a
// redelivery never sends twice. Replies to send_message reports are ignored
// unless Options.ReplyToSent is set: a receiver that always replies would
// otherwise loop forever (issue #237). Replies to messages older than
// Options.ReplyMaxAge are dropped.
package webhook
