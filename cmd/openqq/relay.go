package main

import (
	"context"
	"errors"
)

// runRelay is wired by its own issue; until then it says so.
func runRelay(ctx context.Context, args []string) error {
	return errors.New("openqq relay: not yet")
}
