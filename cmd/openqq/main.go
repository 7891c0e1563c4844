// Command openqq is the one OpenQQ Relay binary:
//
//	openqq up          connector, relay and webhook dispatcher in one process,
//	                   on an embedded Redis and the sandbox unless configured
//	openqq connector   the long-running QQ session for one account
//	openqq relay       the Openqq HTTP API (a Lambda function when
//	                   AWS_LAMBDA_RUNTIME_API is set)
//	openqq dispatch    the post_api webhook dispatcher alone
//	openqq sandbox     the SmartQQ sandbox server alone
//	openqq healthcheck probe /healthz (for container health checks)
//	openqq version     print the version
//
// Configuration comes from the environment; the README lists every variable.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/openqq-relay/openqq"
)

// subcommands maps each subcommand to its entry point. Each lives in its own
// file with its configuration.
var subcommands = map[string]func(ctx context.Context, args []string) error{
	"up":          runUp,
	"connector":   runConnector,
	"relay":       runRelay,
	"dispatch":    runDispatch,
	"sandbox":     runSandbox,
	"healthcheck": runHealthcheck,
	"version": func(context.Context, []string) error {
		fmt.Println("openqq", openqq.Version)
		return nil
	},
}

func main() {
	args := os.Args[1:]
	// Lambda starts its bootstrap without arguments: the same binary then
	// serves the relay.
	if len(args) == 0 && os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		args = []string{"relay"}
	}
	if len(args) == 0 {
		usage()
		os.Exit(2)
	}
	run, ok := subcommands[args[0]]
	if !ok {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := loadSSMParameters(ctx); err != nil {
		slog.Error("openqq "+args[0]+" failed", openqq.LogKeyErr, err)
		os.Exit(1)
	}
	if err := run(ctx, args[1:]); err != nil && !errors.Is(err, context.Canceled) {
		slog.Error("openqq "+args[0]+" failed", openqq.LogKeyErr, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: openqq up|connector|relay|dispatch|sandbox|healthcheck|version")
}
