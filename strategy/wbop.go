package strategy

import "time"

// wbOp is one id's queued write: the newest value (or delete) plus what it
// stands for.
type wbOp[V any] struct {
	id        string
	value     V
	del       bool
	order     order  // the newest write's position
	firstSeq  uint64 // the oldest local write it stands for (Flush waits for it)
	attempts  int    // failed attempts of this value
	notBefore time.Time
	queuedAt  time.Time // when the oldest write it stands for was accepted
	journal   []string  // entry IDs to acknowledge once written
	claimed   bool      // taken over from another instance
	// dirty marks a write whose cache update failed: Redis may hold an
	// older value, dropped once the source has the write.
	dirty bool
}

// absorb makes op stand for older, a write of its id that it replaces:
// op's write acknowledges older's journal entries, and Flush and the age
// of the queue count from the older of the two.
func (op *wbOp[V]) absorb(older *wbOp[V]) {
	op.journal = append(op.journal, older.journal...)
	op.firstSeq = min(op.firstSeq, older.firstSeq)
	if older.queuedAt.Before(op.queuedAt) {
		op.queuedAt = older.queuedAt
	}
	op.dirty = op.dirty || older.dirty
}
