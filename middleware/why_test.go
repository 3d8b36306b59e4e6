package middleware

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWhyNotStored: a forward whose response the cache does not keep says
// why in its Cache-Status detail, one short token per request.
func TestWhyNotStored(t *testing.T) {
	tests := []struct {
		name   string
		cfg    *Config
		status int
		fields []string // response fields
		req    []string // request fields
		want   string   // the Cache-Status after the cache's name
	}{
		{name: "stored", fields: []string{"Cache-Control: max-age=60"}, want: "fwd=uri-miss; fwd-status=200; stored"},
		{name: "heuristic", fields: []string{"Last-Modified: " + httpDate(-time.Hour)}, want: "fwd=uri-miss; fwd-status=200; stored; detail=heuristic"},
		{name: "no freshness", status: 302, fields: []string{"Location: /x"}, want: "fwd=uri-miss; fwd-status=302; detail=no-freshness"},
		{name: "no freshness heuristic", fields: []string{"Content-Type: text/plain"}, want: "fwd=uri-miss; fwd-status=200; detail=no-freshness"},
		{name: "stale on arrival", fields: []string{"Cache-Control: max-age=0"}, want: "fwd=uri-miss; fwd-status=200; detail=stale-on-arrival"},
		{name: "no-store", fields: []string{"Cache-Control: no-store"}, want: "fwd=uri-miss; fwd-status=200; detail=no-store"},
		{name: "request no-store", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Cache-Control: no-store"}, want: "fwd=uri-miss; fwd-status=200; detail=request-no-store"},
		{name: "private", fields: []string{"Cache-Control: private, max-age=60"}, want: "fwd=uri-miss; fwd-status=200; detail=private"},
		{name: "set-cookie", fields: []string{"Cache-Control: max-age=60", "Set-Cookie: a=b"}, want: "fwd=uri-miss; fwd-status=200; detail=set-cookie"},
		{name: "authorization", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Authorization: Bearer x"}, want: "fwd=uri-miss; fwd-status=200; detail=authorization"},
		{name: "cookie", fields: []string{"Cache-Control: max-age=60"}, req: []string{"Cookie: s=1"}, want: "fwd=uri-miss; fwd-status=200; detail=cookie"},
		{name: "vary star", fields: []string{"Cache-Control: max-age=60", "Vary: *"}, want: "fwd=uri-miss; fwd-status=200; detail=vary-star"},
		{name: "trailer", fields: []string{"Cache-Control: max-age=60", "Trailer: X-Sum"}, want: "fwd=uri-miss; fwd-status=200; detail=trailer"},
		{name: "incomplete", fields: []string{"Cache-Control: max-age=60", "Content-Length: 50"}, want: "fwd=uri-miss; fwd-status=200; detail=incomplete"},
		{name: "too large", cfg: &Config{MaxBodyBytes: 2}, fields: []string{"Cache-Control: max-age=60"}, want: "fwd=uri-miss; fwd-status=200; detail=too-large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == 0 {
				status = 200
			}
			e := newEnv(t, tt.cfg, func(w http.ResponseWriter, r *http.Request) {
				for _, f := range tt.fields {
					name, value, _ := strings.Cut(f, ":")
					w.Header().Add(name, strings.TrimSpace(value))
				}
				w.WriteHeader(status)
				w.Write([]byte("body")) // shorter than a declared Content-Length of 50
			})
			e.client.Transport = &http.Transport{} // a short body is the test's point
			t.Cleanup(e.client.Transport.(*http.Transport).CloseIdleConnections)
			resp, err := e.client.Do(newGet(t, e.srv.URL+"/w", tt.req))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Cache-Status"); got != "tiercache; "+tt.want {
				t.Errorf("Cache-Status %q; want %q", got, "tiercache; "+tt.want)
			}
		})
	}
}

// TestWhyNotServed: a stored response that is not served says why: the
// request's directive or the response's staleness, heuristic or explicit.
func TestWhyNotServed(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		req    []string
		want   string
	}{
		{"request no-cache", []string{"Cache-Control: max-age=60"}, []string{"Cache-Control: no-cache"}, "fwd=request; fwd-status=200; stored; detail=no-cache"},
		{"request max-age", []string{"Cache-Control: max-age=60", "Age: 10"}, []string{"Cache-Control: max-age=5"}, "fwd=request; fwd-status=200; stored; detail=max-age"},
		{"request min-fresh", []string{"Cache-Control: max-age=60"}, []string{"Cache-Control: min-fresh=600"}, "fwd=request; fwd-status=200; stored; detail=min-fresh"},
		{"response no-cache", []string{"Cache-Control: no-cache", `ETag: "e"`}, nil, "fwd=stale; fwd-status=200; stored; detail=no-cache"},
		{"expired", []string{"Cache-Control: max-age=1", "Age: 5", `ETag: "e"`}, nil, "fwd=stale; fwd-status=200; stored; detail=expired"},
		{"must-revalidate", []string{"Cache-Control: max-age=1, must-revalidate", "Age: 5", `ETag: "e"`}, nil, "fwd=stale; fwd-status=200; stored; detail=must-revalidate"},
		// An origin sending only Last-Modified (a static file server):
		// fresh for a tenth of the file's age, here already past.
		{"heuristic expired", []string{"Last-Modified: " + httpDate(-time.Minute), "Age: 10"}, nil, "fwd=stale; fwd-status=200; stored; detail=heuristic-expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, respond(200, "x", tt.fields...))
			e.get("/n")
			if got := e.get("/n", tt.req...); got.cacheStatus != "tiercache; "+tt.want {
				t.Errorf("Cache-Status %q; want %q", got.cacheStatus, "tiercache; "+tt.want)
			}
		})
	}
}

func newGet(t *testing.T, url string, fields []string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		name, value, _ := strings.Cut(f, ":")
		req.Header.Add(name, strings.TrimSpace(value))
	}
	return req
}
