package main

import (
	"context"
	"errors"
)

// runDispatch is wired by its own issue; until then it says so.
func runDispatch(ctx context.Context, args []string) error {
	return errors.New("openqq dispatch: not yet")
}
