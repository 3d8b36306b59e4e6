package strategy

import "time"

// Defaults of WriteBehindConfig's zero fields.
const (
	DefaultQueueSize       = 10000
	DefaultBatchSize       = 100
	DefaultFlushInterval   = 100 * time.Millisecond
	DefaultWriteTimeout    = 10 * time.Second
	DefaultMaxAttempts     = 5
	DefaultRetryBackoff    = 100 * time.Millisecond
	DefaultMaxRetryBackoff = 10 * time.Second
	DefaultClaimIdle       = time.Minute
)

// WriteBehindConfig configures a WriteBehind's queue, flusher and journal.
// Every zero field means the documented default.
type WriteBehindConfig[V any] struct {
	// QueueSize bounds the distinct ids waiting to be written. A Set of an
	// id already waiting never waits; a Set of a new id waits, as long as its
	// context allows, while the queue is full. Zero means DefaultQueueSize.
	QueueSize int
	// BatchSize is the most writes the flusher hands the source at once; a
	// queue this long is flushed without waiting for FlushInterval. Zero
	// means DefaultBatchSize.
	BatchSize int
	// FlushInterval is how long a write may wait in the queue, coalescing
	// with later writes of its id. Zero means DefaultFlushInterval.
	FlushInterval time.Duration
	// WriteTimeout bounds each source call and each journal call of the
	// flusher. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration

	// MaxAttempts is how many times a write is tried before it is handed to
	// DeadLetter. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// RetryBackoff is the wait before the first retry; each retry doubles
	// it, up to MaxRetryBackoff, with jitter (a random 50-100 % of it).
	// Retries run on the flusher's ticks, so the wait is at least
	// FlushInterval. Zero means DefaultRetryBackoff and
	// DefaultMaxRetryBackoff.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// DeadLetter receives every write that failed MaxAttempts times, and
	// every write Shutdown could not finish in time (without Durable). It is
	// called from the flusher or from Shutdown, never under a lock; it
	// should not block for long. Nil means such writes are only counted
	// (WriteBehindStats.DeadLettered): set it to keep them.
	DeadLetter func(FailedWrite[V])

	// Durable journals every write in a Redis Stream before Set returns, and
	// acknowledges it only once the source has it. Writes of a process that
	// dies are claimed by another instance's flusher after ClaimIdle and
	// written then: at least once, so source writes must be idempotent. It
	// needs a Store with Redis.
	Durable bool
	// ClaimIdle is how long a journaled write must have been left alone
	// before another instance claims it. A live instance refreshes its own
	// writes every ClaimIdle/3. It must be more than twice WriteTimeout.
	// Zero means DefaultClaimIdle.
	ClaimIdle time.Duration
	// Consumer names this instance in the journal's consumer group. Empty
	// means the Store's InstanceID.
	Consumer string
}

func (c WriteBehindConfig[V]) withDefaults() WriteBehindConfig[V] {
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MaxRetryBackoff <= 0 {
		c.MaxRetryBackoff = DefaultMaxRetryBackoff
	}
	if c.ClaimIdle <= 0 {
		c.ClaimIdle = DefaultClaimIdle
	}
	return c
}

// FailedWrite is a write WriteBehind gave up on, handed to
// WriteBehindConfig.DeadLetter.
type FailedWrite[V any] struct {
	ID       string // the id given to Set or Delete
	Key      string // its cache key
	Value    V      // the value (zero for a delete)
	Delete   bool   // a Delete, not a Set
	Attempts int    // how many times it was tried
	Err      error  // the last error
}

// WriteBehindStats counts what a WriteBehind did since it was created.
type WriteBehindStats struct {
	Queued        uint64 // Sets and Deletes accepted
	Coalesced     uint64 // writes replaced by a later write of the same id before reaching the source
	Written       uint64 // writes the source took
	Batches       uint64 // flusher batches
	Retries       uint64 // writes put back for a retry
	DeadLettered  uint64 // writes given up (handed to DeadLetter)
	Claimed       uint64 // journaled writes taken over from other instances
	JournalErrors uint64 // failed journal acknowledgements, heartbeats and claims
	Pending       int    // distinct ids waiting or being written now
	// Oldest is the age of the oldest write not yet in the source, counted
	// from its Set or Delete (for a claimed write, from its journal entry),
	// however many later writes of its id replaced it; zero when none waits.
	Oldest time.Duration
}
