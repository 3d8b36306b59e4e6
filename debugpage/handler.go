package debugpage

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tiercache/tiercache/metrics"
	"github.com/tiercache/tiercache/tier"
)

// DefaultRefresh is how often the page reloads itself when Config.Refresh
// is zero.
const DefaultRefresh = 5 * time.Second

// Config configures a Handler.
type Config struct {
	// Registry holds the Stores and write-behind queues the page shows: a
	// Registry of your own, or the one a tierprom.Collector or
	// tierotel.Metrics embeds. Nil shows an empty page.
	Registry *metrics.Registry
	// Refresh is how often the HTML page reloads itself (a meta refresh).
	// Zero means DefaultRefresh (5 s); negative turns reloading off.
	Refresh time.Duration
}

// Handler serves the page (see the package documentation). It is safe for
// concurrent use.
type Handler struct {
	// Written once by New, only read after.
	reg     *metrics.Registry
	refresh int // seconds; 0: no reload
	tmpl    *template.Template
	tmplErr error
}

var _ http.Handler = (*Handler)(nil)

// New returns the Handler of cfg.
func New(cfg Config) *Handler {
	h := &Handler{reg: cfg.Registry}
	switch {
	case cfg.Refresh == 0:
		h.refresh = int(DefaultRefresh / time.Second)
	case cfg.Refresh > 0:
		h.refresh = max(1, int(math.Round(cfg.Refresh.Seconds())))
	}
	h.tmpl, h.tmplErr = template.New("page").Funcs(template.FuncMap{
		"bytes":   formatBytes,
		"dur":     formatDuration,
		"latency": formatLatency,
		"percent": percent,
		"meter":   meter,
		"chart":   newChart,
	}).Parse(pageTemplate)
	return h
}

// ServeHTTP answers a GET or HEAD with the page, or with its Snapshot as
// JSON for ?format=json or an Accept header that names application/json.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Add("Vary", "Accept")
	snap := Take(h.reg)
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(snap) // a failed write is the client's to notice
		return
	}
	if h.tmplErr != nil {
		http.Error(w, h.tmplErr.Error(), http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := h.tmpl.Execute(&b, page{Snapshot: snap, Refresh: h.refresh}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

// page is what the template renders.
type page struct {
	Snapshot
	Refresh int // seconds; 0: no meta refresh
}

// wantsJSON reports whether r asks for the JSON form.
func wantsJSON(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return f == "json"
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/json" {
			return true
		}
	}
	return false
}

// formatBytes formats a size in B, KiB, MiB or GiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB"} {
		if f < unit {
			break
		}
		f, suffix = f/unit, s
	}
	return fmt.Sprintf("%.1f %s", f, suffix)
}

// formatDuration rounds d to three significant digits or so.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Microsecond:
		return d.String()
	case d < time.Millisecond:
		return d.Round(10 * time.Nanosecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// formatLatency formats a latency quantile: one in the first bucket of a
// tier.LatencyHistogram, where the L1 hits are counted without being
// timed, is "≤ 1µs" rather than an interpolation.
func formatLatency(d time.Duration) string {
	if d > 0 && d <= tier.LatencyBound(0) {
		return "≤ " + tier.LatencyBound(0).String()
	}
	return formatDuration(d)
}

// percent is 100 * part / whole, to one decimal ("0.0" for an empty
// whole).
func percent(part, whole int64) string {
	if whole <= 0 {
		return "0.0"
	}
	return fmt.Sprintf("%.1f", 100*float64(part)/float64(whole))
}

// meter is the width of the part of a bar of width full that part of whole
// fills.
func meter(part, whole int64, full int) string {
	if whole <= 0 {
		return "0"
	}
	return num(float64(full) * min(1, float64(part)/float64(whole)))
}
