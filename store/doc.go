// Package store keeps every piece of OpenQQ Relay's shared state in Redis:
// the contract between the connector, the relays and the webhook dispatcher,
// which meet nowhere else. keys.go is the one list of keys; every key of an
// account carries the hash tag {account} (openqq:{a}:…), so each script and
// MULTI touches one Cluster slot.
//
//	openqq:accounts              SET     known accounts
//	openqq:{a}:cookies           STRING  cookie jar
//	openqq:{a}:state             HASH    connector state, heartbeat, lease owner
//	openqq:{a}:qrcode            STRING  QR code PNG, PX
//	openqq:{a}:user … :discusses STRING  contact snapshot (JSON), one MULTI
//	openqq:{a}:commands          STREAM  relay → connector, group "connector"
//	openqq:{a}:done:{id}         STRING  idempotency marker of a caller's id, PX
//	openqq:{a}:reply:{id}        LIST    connector → relay result, PX
//	openqq:{a}:check_event       LIST    check_event buffer, LTRIM
//	openqq:{a}:events            STREAM  every message and event, MAXLEN ~ / MINID ~
//	openqq:{a}:dlq:{group}       STREAM  dead letters of one webhook subscriber
//	openqq:{a}:lease             STRING  "<token>:<owner>", PX
//	openqq:{a}:lease_token       STRING  fencing token counter
//	openqq:{a}:webhook:…         webhook dispatcher state (webhook.go)
//
// # The command round trip
//
// A relay's Submit adds the command to the stream and waits on its reply list
// (XADD and the first BLPOP in one round trip). The connector reads it
// (ConsumeAndStart), runs it and answers (Reply: LPUSH + PEXPIRE of the
// result and XACK in one MULTI; PublishAndReply adds the posts the command
// caused). No script runs on the way: each leg is one plain round trip.
//
// A command read is a command started. The consumer group hands every entry
// to one connector once, and from that read on the upstream call may go out
// at any moment, so the pending list is the started marker:
//
//   - At its deadline the relay runs one script: a reply that just came is
//     taken; an entry no connector has read (its id is after the group's
//     last-delivered-id) is deleted — Submit answers openqq.ErrTimeout, and
//     the command provably never runs; a read one gets ReplyGrace more for
//     its reply, then openqq.ErrOutcomeUnknown. A cancelled caller's command
//     is deleted the same way unless it was read.
//   - The connector never runs a command past its deadline by its own clock
//     (ErrExpired) and answers it openqq.ErrTimeout.
//   - What a connector that died had read, a live one takes over with
//     XAUTOCLAIM (ReclaimAndStart) as ErrDuplicate: it answers
//     openqq.ErrOutcomeUnknown and never runs it twice.
//   - The XADD is never retried by the client (a second one would queue the
//     command twice). When it fails in a way that leaves open whether it
//     was queued, Submit waits for a result all the same and answers
//     openqq.ErrOutcomeUnknown at the deadline if none came.
//   - An id the caller chooses (the webhook dispatcher's, derived from the
//     event) is an idempotency key: a script queues the command only if no
//     marker done:{id} exists, and sets it, so a command enqueued twice runs
//     once. Generated ids are unique and need none.
//
// Blocking reads (BLPOP, XREAD(GROUP) BLOCK) use their own client and pool,
// so short commands never wait behind them; every block is bounded (≤ 5 s,
// within the context's deadline) because go-redis does not abort a blocked
// read when its context is cancelled.
package store
