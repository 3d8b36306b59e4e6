package metrics

import "time"

// QueueReader is what the adapters read a write-behind queue from;
// *strategy.WriteBehind[V] is one, of any V.
type QueueReader interface {
	// QueueStats returns the number of writes waiting for the source or
	// being written to it (coalesced by id), and the age of the oldest write
	// among them (zero when there is none).
	QueueStats() (depth int, oldest time.Duration)
}

// Names and help of the write-behind queue gauges, labelled by strategy.
const (
	QueueDepthName  = "writebehind_queue_depth"
	QueueDepthHelp  = "Write-behind writes (coalesced by id) waiting for the source or being written to it."
	QueueOldestName = "writebehind_oldest_age_seconds"
	QueueOldestHelp = "Age of the oldest write-behind write not yet in the source (0 when the queue is empty)."
)
