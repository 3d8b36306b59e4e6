//go:build !unix

package bench

import (
	"testing"
	"time"
)

// processCPU is not measured here: cpu-µs/op reads 0.
func processCPU(*testing.B) time.Duration { return 0 }
