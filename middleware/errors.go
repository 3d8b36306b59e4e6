package middleware

import "errors"

var (
	// ErrNoStore is returned by New without a Store.
	ErrNoStore = errors.New("middleware: nil store")
	// ErrClosed is returned by a Transport's round trips after Close.
	ErrClosed = errors.New("middleware: cache closed")
	// ErrBadPurge is returned for a purge URL that is not absolute (it needs
	// a scheme and a host).
	ErrBadPurge = errors.New("middleware: bad purge request")
	// ErrHandlerPanic wraps a panic of the wrapped handler, or of a
	// Transport's base RoundTripper, that ran on a goroutine the Cache owns
	// (a background revalidation, a Transport round trip). The error
	// carries the panic value and stack.
	ErrHandlerPanic = errors.New("middleware: handler panicked")
)
