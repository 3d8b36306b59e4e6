package middleware

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// maxRanges is the most ranges one request may ask for; a request for more
// (or for more bytes in all than the representation has, as overlapping
// ranges do) is answered with the whole representation (RFC 9110 §14.2
// lets a server ignore such a Range).
const maxRanges = 16

// byteRange is a satisfiable range of a representation: length bytes from
// start.
type byteRange struct{ start, length int64 }

// contentRange returns the Content-Range value of br in a representation
// of size bytes.
func (br byteRange) contentRange(size int64) string {
	b := make([]byte, 0, 48)
	b = append(b, "bytes "...)
	b = strconv.AppendInt(b, br.start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, br.start+br.length-1, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, size, 10)
	return string(b)
}

// parseRange parses a Range field (RFC 9110 §14.1.1, §14.2) for a
// representation of size bytes and appends the satisfiable ranges to buf:
//
//	ranges-specifier = range-unit "=" range-set
//	range-set        = 1#range-spec
//	range-spec       = first-pos "-" [ last-pos ] / "-" suffix-length
//
// ok is false when the field is not one line, not in bytes, or invalid (a
// last-pos before its first-pos, something not a number): then the Range
// is ignored. A valid field with no satisfiable range returns ok and no
// ranges: the answer is 416.
func parseRange(lines []string, size int64, buf []byteRange) (ranges []byteRange, ok bool) {
	if len(lines) != 1 {
		return nil, false
	}
	unit, set, found := strings.Cut(lines[0], "=")
	if !found || !strings.EqualFold(unit, "bytes") {
		return nil, false
	}
	ranges = buf
	specs := 0
	for spec := range strings.SplitSeq(set, ",") {
		spec = strings.Trim(spec, " \t")
		if spec == "" {
			continue // the list rule allows empty elements
		}
		specs++
		first, last, dash := strings.Cut(spec, "-")
		if !dash {
			return nil, false
		}
		if first == "" { // a suffix: the last n bytes
			n, ok := parseDigits(last)
			if !ok {
				return nil, false
			}
			if n > 0 && size > 0 {
				n = min(n, size)
				ranges = append(ranges, byteRange{start: size - n, length: n})
			}
			continue
		}
		start, ok := parseDigits(first)
		if !ok {
			return nil, false
		}
		end := int64(-1)
		if last != "" {
			if end, ok = parseDigits(last); !ok || end < start {
				return nil, false
			}
		}
		if start >= size {
			continue // unsatisfiable
		}
		if end < 0 || end >= size {
			end = size - 1
		}
		ranges = append(ranges, byteRange{start: start, length: end - start + 1})
	}
	return ranges, specs > 0
}

// parseDigits parses 1*DIGIT, saturating at the largest int64.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63-1-9)/10 {
			n = 1<<63 - 1
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// ifRangeMatches evaluates If-Range against the stored response e (RFC 9110
// §13.1.5): the Range applies only when the validator is e's strong ETag,
// or exactly e's Last-Modified where that is a strong validator (at least
// one second before Date). Without If-Range it applies.
func ifRangeMatches(r *http.Request, e *entry) bool {
	lines, ok := r.Header["If-Range"]
	if !ok {
		return true
	}
	if len(lines) != 1 {
		return false
	}
	v := lines[0]
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		return v == e.m.etag && !strings.HasPrefix(v, "W/")
	}
	t, ok := parseHTTPDate(v)
	lm := e.m.lastModified
	return ok && !lm.IsZero() && t.Equal(lm) && e.m.date.Sub(lm) >= time.Second
}

// serveRange answers a Range request from the stored 200 response e: 206
// with one part or a multipart/byteranges body, or 416 when no range is
// satisfiable. It reports false, having written nothing, when the Range is
// to be ignored (invalid, too many ranges, or If-Range does not match): the
// caller then sends the whole response.
func (c *Cache) serveRange(w http.ResponseWriter, r *http.Request, e *entry, age, status []string) bool {
	if e.Status != http.StatusOK || !ifRangeMatches(r, e) {
		return false
	}
	size := int64(len(e.Body))
	spec := r.Header["Range"]
	if m := e.m.lastRange.Load(); m != nil && len(spec) == 1 && spec[0] == m.spec {
		m.write(w, r, e, age, status)
		return true
	}
	var buf [2]byteRange
	ranges, ok := parseRange(spec, size, buf[:0])
	if !ok || len(ranges) > maxRanges {
		return false
	}
	var total int64
	for _, br := range ranges {
		total += br.length
	}
	if total > size {
		return false
	}
	h := w.Header()
	if len(ranges) == 0 {
		h["Content-Range"] = []string{"bytes */" + strconv.FormatInt(size, 10)}
		h["Content-Length"] = []string{"0"}
		h["Age"] = age
		h["Cache-Status"] = status
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return true
	}
	if len(ranges) == 1 {
		m := &rangeMemo{
			spec:          spec[0],
			br:            ranges[0],
			contentRange:  []string{ranges[0].contentRange(size)},
			contentLength: []string{strconv.FormatInt(ranges[0].length, 10)},
		}
		e.m.lastRange.Store(m)
		m.write(w, r, e, age, status)
		return true
	}
	for _, f := range e.m.fields {
		h[f.name] = f.values
	}
	h["Age"] = age
	h["Cache-Status"] = status
	body, boundary := multipartBody(e, ranges)
	h["Content-Type"] = []string{"multipart/byteranges; boundary=" + boundary}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusPartialContent)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return true
}

// rangeMemo is a single-range answer from a stored response, kept on the
// entry (the latest one), so that repeated requests for one range parse
// and allocate nothing. Its slices are shared, read-only, by the responses
// that carry them.
type rangeMemo struct {
	spec          string // the Range field value
	br            byteRange
	contentRange  []string
	contentLength []string
}

// write sends the 206 of m from e, with the header fields of e.
func (m *rangeMemo) write(w http.ResponseWriter, r *http.Request, e *entry, age, status []string) {
	h := w.Header()
	for _, f := range e.m.fields {
		h[f.name] = f.values
	}
	h["Age"] = age
	h["Cache-Status"] = status
	h["Content-Range"] = m.contentRange
	h["Content-Length"] = m.contentLength
	w.WriteHeader(http.StatusPartialContent)
	if r.Method != http.MethodHead {
		_, _ = w.Write(e.Body[m.br.start : m.br.start+m.br.length]) // a client gone away is not the cache's error
	}
}

// multipartBody returns the multipart/byteranges body of ranges of e (RFC
// 9110 §14.6) and its boundary.
func multipartBody(e *entry, ranges []byteRange) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	var rnd [12]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails on supported platforms
	boundary := hex.EncodeToString(rnd[:])
	_ = mw.SetBoundary(boundary) // hex digits: always a valid boundary
	size := int64(len(e.Body))
	ct := e.Header.Get("Content-Type")
	for _, br := range ranges {
		ph := textproto.MIMEHeader{"Content-Range": {br.contentRange(size)}}
		if ct != "" {
			ph["Content-Type"] = []string{ct}
		}
		pw, _ := mw.CreatePart(ph) // writes to a bytes.Buffer: no error
		_, _ = pw.Write(e.Body[br.start : br.start+br.length])
	}
	_ = mw.Close()
	return b.Bytes(), boundary
}
