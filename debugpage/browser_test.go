package debugpage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiercache/tiercache/debugpage"
)

// chromium returns the path of a Chromium to run headless. A missing
// browser fails the test, as a missing redis-server fails the others:
// test.sh installs both.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not on the PATH: run ./test.sh, which installs it, or apt-get install -y --no-install-recommends chromium")
	return ""
}

// runChromium runs a headless Chromium with a profile of its own and
// returns its standard output.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestBrowser renders the page in a real headless Chromium, next to a
// Store with traffic on a real Redis: the DOM the browser built holds the
// chart's bars with the Store's counts and the data types' rows, the JSON
// form holds the same figures, and a screenshot is taken (written to
// $DEBUGPAGE_SCREENSHOT when set, as docs/debugpage.png was).
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	store, reg, names := trafficStore(t)
	srv := httptest.NewServer(debugpage.New(debugpage.Config{Registry: reg, Refresh: -1}))
	defer srv.Close()

	dom := string(runChromium(t, bin, "--dump-dom", srv.URL+"/debug/tiercache"))
	if !strings.Contains(dom, `<svg class="chart"`) {
		t.Fatalf("the browser's DOM has no chart:\n%s", dom)
	}
	checkPage(t, dom, store, names)

	jsonDOM := string(runChromium(t, bin, "--dump-dom", srv.URL+"/debug/tiercache?format=json"))
	// Chromium shows JSON as text in a <pre>: take the object out of it.
	start, end := strings.Index(jsonDOM, "{"), strings.LastIndex(jsonDOM, "}")
	if start < 0 || end < start {
		t.Fatalf("no JSON in the browser's DOM:\n%s", jsonDOM)
	}
	var snap debugpage.Snapshot
	if err := json.Unmarshal([]byte(jsonDOM[start:end+1]), &snap); err != nil {
		t.Fatalf("JSON in the browser: %v\n%s", err, jsonDOM)
	}
	checkSnapshot(t, snap, store, names)

	shot := os.Getenv("DEBUGPAGE_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "page.png")
	} else {
		abs, err := filepath.Abs(shot)
		if err != nil {
			t.Fatalf("DEBUGPAGE_SCREENSHOT %q: %v", shot, err)
		}
		shot = abs
	}
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars", srv.URL+"/debug/tiercache")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("screenshot is %dx%d; want 1200x900", b.Dx(), b.Dy())
	}
	// The bars are drawn: the L1 and L2 colours (.l1, .l2) are on screen.
	for _, c := range []color.RGBA{{0x2f, 0x9e, 0x44, 0xff}, {0x1c, 0x7e, 0xd6, 0xff}} {
		if n := pixels(img, c); n < 100 {
			t.Errorf("screenshot has %d pixels of %v; want a bar's worth", n, c)
		}
	}
}

// pixels counts the pixels of img of colour c.
func pixels(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(bl>>8) == c.B {
				n++
			}
		}
	}
	return n
}
