package redistest

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Main runs a package's tests against one redis-server they share, stored
// in *shared before the first test runs; after the tests it runs cleanups
// (for servers the package started lazily, say), stops the server, and
// fails the run if goroutines are left (with LeakOptions). It calls
// os.Exit. Use it as the whole TestMain:
//
//	var shared *redistest.Server
//
//	func TestMain(m *testing.M) { redistest.Main(m, &shared) }
func Main(m *testing.M, shared **Server, cleanups ...func() error) {
	srv, err := StartServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*shared = srv
	code := m.Run()
	for _, cleanup := range cleanups {
		if err := cleanup(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(LeakOptions()...); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}
