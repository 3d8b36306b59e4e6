package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// PurgeURL removes the stored responses (every variant) of a GET of
// rawURL, an absolute URL, from Redis and from every instance's L1.
func (c *Cache) PurgeURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute URL", ErrBadPurge, rawURL)
	}
	key := c.keyFor(u.Scheme, u.Host, u)
	c.flights.forget(key)
	if err := c.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("middleware: purge %q: %w", rawURL, err)
	}
	return nil
}

// PurgeTag removes every stored response whose Surrogate-Key field listed
// tag, and returns how many URLs it purged.
func (c *Cache) PurgeTag(ctx context.Context, tag string) (int, error) {
	n := 0
	for {
		keys, err := c.tags.take(ctx, c, tag, defaultPurgeBatch)
		if err != nil {
			return n, err
		}
		if len(keys) == 0 {
			return n, nil
		}
		c.flights.forget(keys...)
		if err := c.store.Delete(ctx, keys...); err != nil {
			return n, fmt.Errorf("middleware: purge tag %q: %w", tag, err)
		}
		n += len(keys)
	}
}

// PurgeResult is the JSON body of a purge handler's answer.
type PurgeResult struct {
	// URLs is the number of URLs purged by URL.
	URLs int `json:"urls"`
	// Tagged is the number of URLs purged through their tags.
	Tagged int `json:"tagged"`
}

// PurgeHandler returns an http.Handler that purges by URL and by tag:
//
//	POST /purge?url=https://example.com/a&url=...&tag=product-42&tag=...
//
// (or the same fields in an application/x-www-form-urlencoded body; PURGE
// is accepted as the method too). It answers 200 with a PurgeResult, 400
// for a request without a URL or tag or with a relative URL, 405 for another
// method, and 503 when Redis fails. The handler does no authentication:
// mount it behind your own.
func (c *Cache) PurgeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != "PURGE" {
			w.Header().Set("Allow", "POST, PURGE")
			http.Error(w, "purge: method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, defaultMaxPurgeRequestBody)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "purge: "+err.Error(), http.StatusBadRequest)
			return
		}
		urls, tags := r.Form["url"], r.Form["tag"]
		if len(urls) == 0 && len(tags) == 0 {
			http.Error(w, "purge: give url= or tag=", http.StatusBadRequest)
			return
		}
		var res PurgeResult
		for _, u := range urls {
			if err := c.PurgeURL(r.Context(), u); err != nil {
				purgeError(w, err)
				return
			}
			res.URLs++
		}
		for _, tag := range tags {
			n, err := c.PurgeTag(r.Context(), tag)
			res.Tagged += n
			if err != nil {
				purgeError(w, err)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
	})
}

func purgeError(w http.ResponseWriter, err error) {
	code := http.StatusServiceUnavailable
	if errors.Is(err, ErrBadPurge) {
		code = http.StatusBadRequest
	}
	http.Error(w, err.Error(), code)
}
