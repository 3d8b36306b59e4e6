package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPurgeHandler(t *testing.T) {
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		switch r.URL.Path {
		case "/p/1", "/p/2":
			w.Header().Set("Surrogate-Key", "products "+strings.TrimPrefix(r.URL.Path, "/p/"))
		}
		io.WriteString(w, r.URL.Path)
	})
	purge := httptest.NewServer(e.cache.PurgeHandler())
	t.Cleanup(purge.Close)
	paths := []string{"/p/1", "/p/2", "/other"}
	fill := func() {
		for _, p := range paths {
			for _, lang := range []string{"en", "fr"} {
				e.get(p, "Accept-Language: "+lang)
				if got := e.get(p, "Accept-Language: "+lang); !got.hit() {
					t.Fatalf("setup: %s (%s) not stored", p, lang)
				}
			}
		}
	}
	stored := func() map[string]bool {
		m := map[string]bool{}
		for _, p := range paths {
			m[p] = e.get(p, "Accept-Language: en").hit()
		}
		return m
	}
	tests := []struct {
		name       string
		form       url.Values
		wantResult PurgeResult
		wantGone   []string
	}{
		{"by URL", url.Values{"url": {e.srv.URL + "/p/1"}}, PurgeResult{URLs: 1}, []string{"/p/1"}},
		{"by tag", url.Values{"tag": {"products"}}, PurgeResult{Tagged: 2}, []string{"/p/1", "/p/2"}},
		{"by narrow tag", url.Values{"tag": {"2"}}, PurgeResult{Tagged: 1}, []string{"/p/2"}},
		{"both", url.Values{"url": {e.srv.URL + "/other"}, "tag": {"1"}}, PurgeResult{URLs: 1, Tagged: 1}, []string{"/other", "/p/1"}},
		{"unknown tag", url.Values{"tag": {"nothing"}}, PurgeResult{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fill()
			resp, err := http.PostForm(purge.URL, tt.form)
			if err != nil {
				t.Fatal(err)
			}
			var res PurgeResult
			err = json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
			if resp.StatusCode != 200 || err != nil || res != tt.wantResult {
				t.Errorf("purge: %d %+v %v; want 200 %+v", resp.StatusCode, res, err, tt.wantResult)
			}
			got := stored()
			for _, p := range paths {
				gone := contains(strings.Join(tt.wantGone, " ")+" ", p+" ")
				if got[p] == gone {
					t.Errorf("after purge, %s stored = %v; want %v", p, got[p], !gone)
				}
			}
		})
	}
}

func TestPurgeHandlerRejects(t *testing.T) {
	e := newEnv(t, nil, respond(200, "x"))
	h := e.cache.PurgeHandler()
	tests := []struct {
		method, target string
		want           int
	}{
		{"GET", "/?url=http://a/b", http.StatusMethodNotAllowed},
		{"POST", "/", http.StatusBadRequest},
		{"POST", "/?url=/relative", http.StatusBadRequest},
		{"POST", "/?url=%zz", http.StatusBadRequest},
		{"PURGE", "/?url=http://a/b", http.StatusOK},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.want {
			t.Errorf("%s %s = %d; want %d", tt.method, tt.target, rec.Code, tt.want)
		}
	}
}

// TestPurgeReachesOtherInstances: a purge through one instance removes the
// response from Redis and, through the Store's invalidation bus, from the
// L1 of another instance that holds it.
func TestPurgeReachesOtherInstances(t *testing.T) {
	prefix := fmt.Sprintf("shared%d:", prefixSeq.Add(1))
	a := newEnv(t, &Config{KeyPrefix: prefix}, respond(200, "x", "Cache-Control: max-age=60", "Surrogate-Key: t1"))
	b := newEnv(t, &Config{KeyPrefix: prefix}, respond(200, "x", "Cache-Control: max-age=60", "Surrogate-Key: t1"))
	// b's Store subscribes to the namespace's invalidations on its first
	// read of a key in it.
	if _, err := b.store.Get(context.Background(), prefix+"warm", nil, func(context.Context, string) (any, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	for _, purge := range []struct {
		name string
		do   func() error
	}{
		{"tag", func() error {
			n, err := a.cache.PurgeTag(context.Background(), "t1")
			if err == nil && n != 1 {
				err = fmt.Errorf("purged %d URLs; want 1", n)
			}
			return err
		}},
		{"url", func() error { return a.cache.PurgeURL(context.Background(), "http://site.example/x") }},
	} {
		t.Run(purge.name, func(t *testing.T) {
			received, sets := b.store.Stats().InvalidationsReceived, a.store.Stats().Sets
			a.get("/x", "Host: site.example")
			if a.store.Stats().Sets > sets {
				// a's store published its write; let it reach b before b
				// fills its L1, or it would (harmlessly) drop b's entry.
				waitFor(t, func() bool { return b.store.Stats().InvalidationsReceived > received })
			}
			if got := b.get("/x", "Host: site.example"); !got.hit() {
				t.Fatalf("instance b: %q; want a hit", got.cacheStatus)
			}
			b.store.WaitL1()
			if got := b.get("/x", "Host: site.example"); !contains(got.cacheStatus, "detail=l1") {
				t.Fatalf("instance b: %q; want an L1 hit", got.cacheStatus)
			}
			before := b.store.Stats().InvalidationsReceived
			if err := purge.do(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return b.store.Stats().InvalidationsReceived > before })
			if got := b.get("/x", "Host: site.example"); got.hit() {
				t.Errorf("instance b after purge: %q; want a miss", got.cacheStatus)
			}
		})
	}
	if err := a.cache.PurgeURL(context.Background(), "relative/x"); !errors.Is(err, ErrBadPurge) {
		t.Errorf("PurgeURL(relative) = %v; want ErrBadPurge", err)
	}
}

// waitFor polls cond (a counter another goroutine advances) until it
// holds, for at most five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestTagIndexTTL: the tag set in Redis expires, a little after the
// longest-lived response in it.
func TestTagIndexTTL(t *testing.T) {
	e := newEnv(t, nil, respond(200, "x", "Cache-Control: max-age=100", "Surrogate-Key: ttl-tag"))
	e.get("/a")
	ttl, err := e.store.Redis().TTL(context.Background(), e.cache.tagKey("ttl-tag")).Result()
	if err != nil || ttl <= 0 || ttl > 100*1e9+tagTTLSlack {
		t.Errorf("tag set TTL = %v, %v; want within (0, 100s + slack]", ttl, err)
	}
}

// TestStoredTTL: an entry is kept in Redis for its remaining freshness,
// plus its stale windows, plus RevalidateKeep when it has a validator,
// capped at MaxTTL.
func TestStoredTTL(t *testing.T) {
	const keep = 10 * time.Minute
	tests := []struct {
		name   string
		fields []string
		want   time.Duration
	}{
		{"max-age", []string{"Cache-Control: max-age=100"}, 100 * time.Second},
		{"with validator", []string{"Cache-Control: max-age=100", `ETag: "x"`}, 100*time.Second + keep},
		{"stale windows", []string{"Cache-Control: max-age=100, stale-while-revalidate=50, stale-if-error=200"}, 300 * time.Second},
		{"must-revalidate drops windows", []string{"Cache-Control: max-age=100, stale-if-error=200, must-revalidate"}, 100 * time.Second},
		{"capped", []string{"Cache-Control: max-age=31536000"}, DefaultMaxTTL},
		{"no-cache with validator", []string{"Cache-Control: no-cache, max-age=0", "Last-Modified: " + httpDate(-time.Hour)}, keep},
		{"heuristic with validator", []string{"Last-Modified: " + httpDate(-time.Hour)}, 6*time.Minute + keep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, respond(200, "x", tt.fields...))
			e.get("/ttl")
			u, _ := url.Parse(e.srv.URL + "/ttl")
			key := e.cache.keyFor("http", u.Host, u)
			got, err := e.store.Redis().PTTL(context.Background(), key).Result()
			// (HTTP dates have whole seconds: a heuristic lifetime derived
			// from them may round up by one)
			if err != nil || got > tt.want+time.Second || got < tt.want-5*time.Second {
				t.Errorf("PTTL = %v, %v; want about %v", got, err, tt.want)
			}
		})
	}
}
