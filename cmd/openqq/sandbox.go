package main

import (
	"context"
	"errors"
)

// runSandbox is wired by its own issue; until then it says so.
func runSandbox(ctx context.Context, args []string) error {
	return errors.New("openqq sandbox: not yet")
}
