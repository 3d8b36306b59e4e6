package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
)

// recovered turns a panic of user code (the wrapped handler, a Transport's
// base) on a goroutine the Cache owns into an error wrapping
// ErrHandlerPanic, with the panic value and stack, and counts and reports
// it. http.ErrAbortHandler, the handler's way to abort a response on
// purpose, is neither counted nor reported. Call it as
// defer func() { err = c.recovered(what, recover()) }() or with the value
// of a recover in a deferred function.
func (c *Cache) recovered(what string, v any) error {
	if v == nil {
		return nil
	}
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		return fmt.Errorf("%w: %s: %w", ErrHandlerPanic, what, err)
	}
	err := fmt.Errorf("%w: %s: %v\n%s", ErrHandlerPanic, what, v, debug.Stack())
	c.stats.panics.Add(1)
	if c.cfg.Logger != nil {
		c.cfg.Logger.Error("tiercache/middleware: "+what+" panicked", "error", err.Error())
	}
	return err
}
