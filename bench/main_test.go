package bench

import (
	"fmt"
	"os"
	"testing"

	"github.com/tiercache/tiercache/internal/redistest"
)

// redisServer is the redis-server every benchmark of the run shares.
var redisServer *redistest.Server

func TestMain(m *testing.M) {
	srv, err := redistest.StartServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	redisServer = srv
	code := m.Run()
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}
