package main

import (
	"context"
	"errors"
)

// runUp is wired by its own issue; until then it says so.
func runUp(ctx context.Context, args []string) error {
	return errors.New("openqq up: not yet")
}
