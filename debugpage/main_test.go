package debugpage_test

import (
	"testing"

	"github.com/tiercache/tiercache/internal/redistest"
)

// shared is the redis-server the package's tests share.
var shared *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &shared) }
