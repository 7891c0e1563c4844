package main

import (
	"context"
	"errors"
)

// runConnector is wired by its own issue; until then it says so.
func runConnector(ctx context.Context, args []string) error {
	return errors.New("openqq connector: not yet")
}
