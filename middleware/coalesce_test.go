package middleware

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// storm sends n concurrent GETs of path and returns their replies. The
// origin is held until the n-1 others wait for the first one's flight.
func storm(t *testing.T, e *env, n int, path string, fields ...string) []reply {
	t.Helper()
	var wg sync.WaitGroup
	replies := make([]reply, n)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
			for _, f := range fields {
				name, value, _ := strings.Cut(f, ":")
				req.Header.Add(name, strings.TrimSpace(value))
			}
			resp, err := e.client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				errs <- err
				return
			}
			replies[i] = reply{status: resp.StatusCode, header: resp.Header, body: string(b), cacheStatus: resp.Header.Get("Cache-Status")}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("request: %v", err)
	}
	return replies
}

// heldEnv returns an env whose origin answers with respond(...) only once
// waiters requests wait for its flight; it counts as the origin call.
func heldEnv(t *testing.T, waiters int, origin http.HandlerFunc) *env {
	joined := make(chan struct{}, waiters)
	first := make(chan struct{})
	var once sync.Once
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		isFirst := false
		once.Do(func() { isFirst = true; close(first) })
		if isFirst {
			for range waiters {
				<-joined
			}
		}
		origin(w, r)
	})
	e.cache.flights.onWait = func() { joined <- struct{}{} }
	client := *e.client
	client.Transport = &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0}
	t.Cleanup(client.Transport.(*http.Transport).CloseIdleConnections)
	e.client = &client
	return e
}

// TestMissStorm: 256 concurrent misses of one key call the origin once and
// all get its response.
func TestMissStorm(t *testing.T) {
	const n = 256
	e := heldEnv(t, n-1, respond(200, "shared body", "Cache-Control: max-age=60"))
	replies := storm(t, e, n, "/storm")
	if got := e.calls.Load(); got != 1 {
		t.Errorf("origin calls = %d; want 1", got)
	}
	collapsed := 0
	for i, r := range replies {
		if r.status != 200 || r.body != "shared body" {
			t.Fatalf("reply %d: %d %q; want 200 shared body", i, r.status, r.body)
		}
		if contains(r.cacheStatus, "collapsed") {
			collapsed++
		}
	}
	if collapsed != n-1 {
		t.Errorf("%d collapsed replies; want %d", collapsed, n-1)
	}
}

// TestStormUncacheable: when the leader's response turns out not to be
// storable (here private), the waiters must not get it: each forwards on
// its own.
func TestStormUncacheable(t *testing.T) {
	const n = 32
	e := heldEnv(t, n-1, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60")
		io.WriteString(w, "for "+r.Header.Get("X-Client"))
	})
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/private", nil)
			req.Header.Set("X-Client", string(rune('A'+i%26))+string(rune('0'+i/26)))
			resp, err := e.client.Do(req)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			bodies[i] = string(b)
		}()
	}
	wg.Wait()
	for i, b := range bodies {
		want := "for " + string(rune('A'+i%26)) + string(rune('0'+i/26))
		if b != want {
			t.Errorf("client %d got %q; want %q (its own response)", i, b, want)
		}
	}
	if got := e.calls.Load(); got != n {
		t.Errorf("origin calls = %d; want %d", got, n)
	}
}

// TestStormVary: waiters that select another variant than the leader's
// forward on their own; those that select the same share it.
func TestStormVary(t *testing.T) {
	const n = 16
	e := heldEnv(t, n-1, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "lang="+r.Header.Get("Accept-Language"))
	})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lang := "en"
			if i%2 == 1 {
				lang = "fr"
			}
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v", nil)
			req.Header.Set("Accept-Language", lang)
			resp, err := e.client.Do(req)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "lang="+lang {
				t.Errorf("request %d (%s) got %q", i, lang, b)
			}
		}()
	}
	wg.Wait()
	if got := e.calls.Load(); got < 2 || got > n/2+1 {
		t.Errorf("origin calls = %d; want between 2 and %d", got, n/2+1)
	}
}
