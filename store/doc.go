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
//	openqq:{a}:done:{id}         STRING  started marker, PX
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
// (Consume), claims it (Start), runs it and answers (Reply: marker, LPUSH +
// PEXPIRE, XACK in one script). The connector does the first two in one
// round trip (ConsumeAndStart: the read and a claim script in one pipeline,
// run back to back by Redis), and answers with the posts the command caused
// (PublishAndReply). The started marker settles every race:
//
//   - At its deadline the relay runs one script: a reply that just came is
//     taken; a command that never started is marked "abandoned" — Submit
//     answers openqq.ErrTimeout, and a later Start gets ErrExpired, so the
//     command provably never runs; a started one gets ReplyGrace more for its
//     reply, then openqq.ErrOutcomeUnknown.
//   - Start refuses a command past its deadline (ErrExpired) or one that had
//     started (ErrDuplicate: a redelivery after a crash, or the same id
//     queued twice). The connector answers a duplicate with
//     openqq.ErrOutcomeUnknown and never runs it twice.
//   - Reply pushes only the first answer of a command, and none for an
//     abandoned one or for a duplicate entry of a command another delivery
//     runs.
//
// Blocking reads (BLPOP, XREAD(GROUP) BLOCK) use their own client and pool,
// so short commands never wait behind them; every block is bounded (≤ 5 s,
// within the context's deadline) because go-redis does not abort a blocked
// read when its context is cancelled.
package store
