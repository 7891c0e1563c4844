package openqq

// ClientState is the connector's lifecycle state (spec §3). The spelling
// "scaning" is the original's and is kept on the wire.
type ClientState string

// The states in their usual order.
const (
	StateInit       ClientState = "init"
	StateLoading    ClientState = "loading"
	StateScaning    ClientState = "scaning"
	StateConfirming ClientState = "confirming"
	StateUpdating   ClientState = "updating"
	StateRunning    ClientState = "running"
	StateStop       ClientState = "stop"
)

// Version is the client version reported by get_client_info.
const Version = "0.1.0"
