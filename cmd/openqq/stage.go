package main

// The stages of `openqq up`: parts that start and stop together, one stage
// after the other, and serveHTTP for its plain listeners (the sandbox's).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// stage is a set of parts that start and stop together; up stops its
// stages one after the other. Any part that returns tells ended.
type stage struct {
	ctx    context.Context
	cancel context.CancelFunc
	ended  chan<- string
	wg     sync.WaitGroup
	mu     sync.Mutex // guards errs
	errs   []error
}

func newStage(base context.Context, ended chan<- string) *stage {
	ctx, cancel := context.WithCancel(base)
	return &stage{ctx: ctx, cancel: cancel, ended: ended}
}

// Go runs part in the stage.
func (st *stage) Go(name string, part func(context.Context) error) {
	st.wg.Go(func() {
		if err := part(st.ctx); err != nil && !errors.Is(err, context.Canceled) {
			st.mu.Lock()
			st.errs = append(st.errs, fmt.Errorf("%s: %w", name, err))
			st.mu.Unlock()
		}
		select {
		case st.ended <- name:
		default: // a shutdown is under way already
		}
	})
}

// stop cancels the stage and waits for its parts.
func (st *stage) stop() error {
	st.cancel()
	st.wg.Wait()
	st.mu.Lock()
	defer st.mu.Unlock()
	return errors.Join(st.errs...)
}

// serveHTTP serves srv on ln until ctx ends, then calls before (to end
// long polls) and shuts down, giving requests in flight grace to finish.
func serveHTTP(ctx context.Context, ln net.Listener, srv *http.Server, grace time.Duration, before func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if before != nil {
		before()
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("shutdown: %w", err), srv.Close())
	}
	<-errc
	return err
}
