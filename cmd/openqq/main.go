// Command openqq is the one OpenQQ Relay binary:
//
//	openqq up          connector, relay and webhook dispatcher in one process,
//	                   on an embedded Redis and the sandbox unless configured
//	openqq connector   the long-running QQ session for one account
//	openqq relay       the Openqq HTTP API (a Lambda function when
//	                   AWS_LAMBDA_RUNTIME_API is set)
//	openqq dispatch    the post_api webhook dispatcher alone
//	openqq sandbox     the SmartQQ sandbox server alone
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
	"up":        runUp,
	"connector": runConnector,
	"relay":     runRelay,
	"dispatch":  runDispatch,
	"sandbox":   runSandbox,
	"version": func(context.Context, []string) error {
		fmt.Println("openqq", openqq.Version)
		return nil
	},
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	run, ok := subcommands[os.Args[1]]
	if !ok {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[2:]); err != nil && !errors.Is(err, context.Canceled) {
		slog.Error("openqq "+os.Args[1]+" failed", openqq.LogKeyErr, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: openqq up|connector|relay|dispatch|sandbox|version")
}
