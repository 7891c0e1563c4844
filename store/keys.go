package store

// Every Redis key of OpenQQ Relay, in one place. Per-account keys share the
// hash tag {account}, so all keys of one account live on one Cluster slot and
// every script and MULTI below touches a single slot.

// Names of consumer groups the store creates itself.
const (
	connectorGroup = "connector" // commands stream: the connector(s) of an account
)

const accountsKey = "openqq:accounts" // SET of account ids

// accountPrefix is the prefix of every key of account a.
func accountPrefix(a string) string { return "openqq:{" + a + "}:" }

// Session.
func cookiesKey(a string) string { return accountPrefix(a) + "cookies" } // STRING: cookie jar (JSON)
func stateKey(a string) string   { return accountPrefix(a) + "state" }   // HASH: see stateFields
func qrcodeKey(a string) string  { return accountPrefix(a) + "qrcode" }  // STRING: PNG, PX while scanning

// Contact snapshots, written together in one MULTI.
func userKey(a string) string      { return accountPrefix(a) + "user" }      // STRING: JSON openqq.User
func friendsKey(a string) string   { return accountPrefix(a) + "friends" }   // STRING: JSON []openqq.Friend
func groupsKey(a string) string    { return accountPrefix(a) + "groups" }    // STRING: JSON []openqq.Group
func discussesKey(a string) string { return accountPrefix(a) + "discusses" } // STRING: JSON []openqq.Discuss

// contactsVersionKey counts snapshot writes, so readers can keep a decoded
// snapshot until it changes. Like the lease token it survives DeleteAccount:
// a version must never come back with other contacts behind it.
func contactsVersionKey(a string) string { return accountPrefix(a) + "contacts_version" } // STRING counter (INCR)

// Command bus.
func commandsKey(a string) string { return accountPrefix(a) + "commands" } // STREAM, MAXLEN ~; group "connector"

// replyKey holds the result of one command until its relay pops it.
func replyKey(a, cmd string) string { return accountPrefix(a) + "reply:" + cmd } // LIST, PX

// markerKey is the idempotency key of a command id its caller chose: the
// stream id of the entry queued under it, until the deadline and a slack
// (see enqueueOnceScript).
func markerKey(a, cmd string) string { return accountPrefix(a) + "done:" + cmd } // STRING, PX

// Events.
func checkEventsKey(a string) string { return accountPrefix(a) + "check_event" } // LIST, LTRIM to max size
func eventsKey(a string) string      { return accountPrefix(a) + "events" }      // STREAM, MAXLEN ~ / MINID ~

// deadLettersKey holds the events one webhook subscriber (consumer group of
// the events stream) gave up on.
func deadLettersKey(a, group string) string { return accountPrefix(a) + "dlq:" + group } // STREAM, MAXLEN ~

// Lease.
func leaseKey(a string) string      { return accountPrefix(a) + "lease" }       // STRING "<token>:<owner>", PX
func leaseTokenKey(a string) string { return accountPrefix(a) + "lease_token" } // STRING counter (INCR)

// fixedKeys are the account's keys that do not depend on a command id or a
// group. The lease token counter is not among them: fencing tokens must keep
// increasing even across a DeleteAccount.
func fixedKeys(a string) []string {
	return []string{
		cookiesKey(a), stateKey(a), qrcodeKey(a),
		userKey(a), friendsKey(a), groupsKey(a), discussesKey(a),
		commandsKey(a), checkEventsKey(a), eventsKey(a), leaseKey(a),
	}
}

// Webhook dispatcher (relay/webhook; operations in webhook.go). The
// subscriber registry is shared by every dispatcher instance of the account;
// the other keys are per subscriber id.
func webhookSubscribersKey(a string) string { return accountPrefix(a) + "webhook:subscribers" }  // HASH: id → config JSON
func webhookStatusKey(a string) string      { return accountPrefix(a) + "webhook:status" }       // HASH: id → WebhookStatus JSON
func webhookLeaseKey(a, id string) string   { return accountPrefix(a) + "webhook:lease:" + id }  // STRING owner, PX
func webhookRetryKey(a, id string) string   { return accountPrefix(a) + "webhook:retry:" + id }  // STRING WebhookRetry JSON, PX
func webhookReplayKey(a, id string) string  { return accountPrefix(a) + "webhook:replay:" + id } // SET of dead-letter ids to replay

// webhookReplyKey records which subscriber's reply to an event acts.
func webhookReplyKey(a, event string) string { return accountPrefix(a) + "webhook:replied:" + event } // STRING subscriber id, PX
