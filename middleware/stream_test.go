package middleware

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// TestBodyCap: a response larger than MaxBodyBytes reaches the client whole
// and is not stored; one within the cap is.
func TestBodyCap(t *testing.T) {
	tests := []struct {
		name       string
		size       int
		chunks     int
		wantStored bool
	}{
		{"within cap", 1000, 1, true},
		{"at cap", 1024, 4, true},
		{"over cap, one write", 5000, 1, false},
		{"over cap, many writes", 5000, 50, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Repeat("x", tt.size)
			e := newEnv(t, &Config{MaxBodyBytes: 1024}, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				step := tt.size / tt.chunks
				for i := 0; i < tt.size; i += step {
					io.WriteString(w, body[i:min(i+step, tt.size)])
				}
			})
			first := e.get("/big")
			if first.body != body {
				t.Fatalf("first body: %d bytes; want %d", len(first.body), tt.size)
			}
			if contains(first.cacheStatus, "stored") != tt.wantStored {
				t.Errorf("Cache-Status %q; want stored %v", first.cacheStatus, tt.wantStored)
			}
			second := e.get("/big")
			if second.body != body || second.hit() != tt.wantStored {
				t.Errorf("second: %d bytes, %q; want %d bytes, hit %v", len(second.body), second.cacheStatus, tt.size, tt.wantStored)
			}
		})
	}
}

// TestStreaming: a response over the cap streams through: the client reads
// the first part while the handler still holds the rest, and the handler's
// Flush and ResponseController calls work through the middleware.
func TestStreaming(t *testing.T) {
	for _, useController := range []bool{false, true} {
		name := "Flusher"
		if useController {
			name = "ResponseController"
		}
		t.Run(name, func(t *testing.T) {
			part := strings.Repeat("a", 2048) + "\n"
			release := make(chan struct{})
			handlerErr := make(chan error, 1)
			e := newEnv(t, &Config{MaxBodyBytes: 1024}, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, part)
				var err error
				if useController {
					rc := http.NewResponseController(w)
					if err = rc.SetWriteDeadline(time.Now().Add(10 * time.Second)); err == nil {
						err = rc.Flush()
					}
				} else {
					w.(http.Flusher).Flush()
				}
				handlerErr <- err
				<-release
				io.WriteString(w, "end\n")
			})
			resp, err := e.client.Get(e.srv.URL + "/stream")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			line, err := br.ReadString('\n')
			if err != nil || line != part {
				t.Fatalf("first part: %d bytes, %v; want %d bytes", len(line), err, len(part))
			}
			if err := <-handlerErr; err != nil {
				t.Errorf("handler's flush: %v", err)
			}
			close(release)
			rest, _ := io.ReadAll(br)
			if string(rest) != "end\n" {
				t.Errorf("rest = %q; want end", rest)
			}
		})
	}
}

// TestFlushWithinCap: a handler that flushes a small response still gets
// it stored.
func TestFlushWithinCap(t *testing.T) {
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "part1 ")
		w.(http.Flusher).Flush()
		io.WriteString(w, "part2")
	})
	if got := e.get("/f"); got.body != "part1 part2" {
		t.Fatalf("body %q", got.body)
	}
	if got := e.get("/f"); got.body != "part1 part2" || !got.hit() {
		t.Errorf("second: %q %q; want a hit", got.body, got.cacheStatus)
	}
}

// TestHandlerCutShort: a handler that declares a Content-Length and writes
// less is not stored.
func TestHandlerCutShort(t *testing.T) {
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "short")
	})
	for range 2 {
		resp, err := e.client.Get(e.srv.URL + "/short")
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body) // an unexpected EOF: the body is cut short
		resp.Body.Close()
	}
	if n := e.calls.Load(); n != 2 {
		t.Errorf("origin calls = %d; want 2 (nothing stored)", n)
	}
}

// TestInterimResponses: the fields of a 1xx (103 Early Hints) reach the
// client with the 1xx only, never in the final response, stored or not.
func TestInterimResponses(t *testing.T) {
	e := newEnv(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link") // as httputil.ReverseProxy does after a 1xx
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "page")
	})
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, h.Get("Link"))
		return nil
	}}
	for i, wantHit := range []bool{false, true} {
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", e.srv.URL+"/hints", nil)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if l := resp.Header.Get("Link"); l != "" {
			t.Errorf("response %d: Link %q leaked from the 103 into the final response", i, l)
		}
		if hit := strings.Contains(resp.Header.Get("Cache-Status"), "; hit"); hit != wantHit {
			t.Errorf("response %d: Cache-Status %q; want hit %v", i, resp.Header.Get("Cache-Status"), wantHit)
		}
	}
	if len(hints) != 1 || hints[0] != "</style.css>; rel=preload" {
		t.Errorf("103 responses seen: %q; want one with the Link", hints)
	}
}
