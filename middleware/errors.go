package middleware

import (
	"errors"

	"github.com/tiercache/tiercache/tier"
)

var (
	// ErrNoStore is returned by New without a Store.
	ErrNoStore = errors.New("middleware: nil store")
	// ErrClosed is returned by a Transport's round trips after Close. It is
	// tier.ErrClosed, so errors.Is matches it whether the Transport or its
	// Store was closed.
	ErrClosed = tier.ErrClosed
	// ErrBadPurge is returned for a purge URL that is not absolute (it needs
	// a scheme and a host).
	ErrBadPurge = errors.New("middleware: bad purge request")
	// ErrHandlerPanic wraps a panic of the wrapped handler, or of a
	// Transport's base RoundTripper, that ran on a goroutine the Cache owns
	// (a background revalidation, a Transport round trip). The error
	// carries the panic value and stack.
	ErrHandlerPanic = errors.New("middleware: handler panicked")
)
