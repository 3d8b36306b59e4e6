package tier

import "errors"

var (
	// ErrNotFound is returned when the source of truth has no value for a
	// key, whether that answer came from the source or from a cached
	// negative entry. It is the same value as strategy.ErrNotFound.
	ErrNotFound = errors.New("tiercache: not found")
	// ErrClosed is returned by a Store that has been closed. It is the same
	// value as strategy.ErrClosed and middleware.ErrClosed, so one errors.Is
	// test matches whichever layer was closed.
	ErrClosed = errors.New("tiercache: closed")
	// ErrNoContextTimeout is returned by New for a go-redis client whose
	// options do not set ContextTimeoutEnabled: without it a call's context
	// deadline does not bound the socket read, and a slow Redis would hold
	// every reader for the client's ReadTimeout.
	ErrNoContextTimeout = errors.New("tier: redis client must set ContextTimeoutEnabled")
	// ErrCorrupt is reported (through Stats and the logger) for an L2 entry
	// that could not be decoded; such an entry is a miss, never an error to
	// the caller.
	ErrCorrupt = errors.New("tier: corrupt entry")
	// ErrInvalidGroup is wrapped by the errors NewGroup returns for a
	// configuration it cannot build keys from.
	ErrInvalidGroup = errors.New("tier: invalid group")
	// ErrNoLoader is returned by Get on a miss when no loader was given.
	ErrNoLoader = errors.New("tier: miss and no loader")
	// ErrBreakerOpen is wrapped by the errors of Redis calls refused because
	// the circuit breaker around Redis is open: Set and Delete return it at
	// once, without waiting on Redis. Reads never return it; they go on to
	// the loader.
	ErrBreakerOpen = errors.New("tier: redis circuit breaker open")
	// ErrRepairPending is wrapped, with the Redis error, by the error of a
	// Set, Delete or SetMany whose Redis write failed and whose keys the
	// Store remembers: once Redis answers again it deletes them from L2
	// and announces it on the bus, so that every instance loads them from
	// the source (see Config.MaxRepairKeys). A strategy whose source took
	// the write treats it as success.
	ErrRepairPending = errors.New("tier: redis write failed; repair pending")
	// ErrPattern is returned by DeletePattern for a pattern whose namespace
	// (the part before the first ':') is empty or holds glob characters:
	// the invalidation must know which namespace's channel to use.
	ErrPattern = errors.New("tier: pattern must start with a literal namespace")
	// ErrPanic is wrapped by the error that stands for a panic in user code
	// (a loader, a source's writer) run by the library: the panic is
	// recovered, never crashes the process, and its value and stack are in
	// the error's text.
	ErrPanic = errors.New("tiercache: panic in user code")
)
