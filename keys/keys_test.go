package keys

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// redisMatch reports whether Redis's glob matcher (stringmatchlen in
// src/util.c, as used by SCAN MATCH and KEYS, case-sensitive) matches s
// against pattern. It follows the C code step by step, including its reading
// of a NUL terminator past the end of the pattern and its signed chars in
// ranges.
func redisMatch(pattern, s string) bool {
	skipLongerMatches := false
	return redisMatchImpl(pattern, s, &skipLongerMatches, 0)
}

func redisMatchImpl(pat, str string, skipLongerMatches *bool, nesting int) bool {
	if nesting > 1000 { // protection against abusive patterns
		return false
	}
	// at mimics a C string: the byte past the end is NUL.
	at := func(i int) byte {
		if i < len(pat) {
			return pat[i]
		}
		return 0
	}
	p, s := 0, 0
	for p < len(pat) && s < len(str) {
		switch pat[p] {
		case '*':
			for p < len(pat) && at(p+1) == '*' {
				p++
			}
			if len(pat)-p == 1 {
				return true
			}
			for s < len(str) {
				if redisMatchImpl(pat[p+1:], str[s:], skipLongerMatches, nesting+1) {
					return true
				}
				if *skipLongerMatches {
					return false
				}
				s++
			}
			*skipLongerMatches = true
			return false
		case '?':
			s++
		case '[':
			p++
			not := at(p) == '^'
			if not {
				p++
			}
			match := false
			for {
				if at(p) == '\\' && len(pat)-p >= 2 {
					p++
					if pat[p] == str[s] {
						match = true
					}
				} else if at(p) == ']' {
					break
				} else if p >= len(pat) {
					p-- // unterminated class: the last byte ends it
					break
				} else if len(pat)-p >= 3 && pat[p+1] == '-' {
					// C compares plain (signed) chars here.
					start, end, c := int(int8(pat[p])), int(int8(pat[p+2])), int(int8(str[s]))
					if start > end {
						start, end = end, start
					}
					p += 2
					if c >= start && c <= end {
						match = true
					}
				} else if pat[p] == str[s] {
					match = true
				}
				p++
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s++
		case '\\':
			if len(pat)-p >= 2 {
				p++
			}
			fallthrough
		default:
			if pat[p] != str[s] {
				return false
			}
			s++
		}
		p++
		if s == len(str) {
			for at(p) == '*' {
				p++
			}
			break
		}
	}
	return p == len(pat) && s == len(str)
}

func TestRedisMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		// The examples of the Redis KEYS documentation.
		{"h?llo", "hello", true},
		{"h?llo", "hallo", true},
		{"h?llo", "hllo", false},
		{"h*llo", "hllo", true},
		{"h*llo", "heeeello", true},
		{"h*llo", "hellox", false},
		{"h[ae]llo", "hello", true},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hbllo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hallo", true},
		{"h[a-b]llo", "hbllo", true},
		{"h[a-b]llo", "hcllo", false},
		{"h[b-a]llo", "hallo", true}, // reversed range
		// Escapes.
		{`h\*llo`, "h*llo", true},
		{`h\*llo`, "hello", false},
		{`a\?`, "a?", true},
		{`a\?`, "ab", false},
		{`a\[b\]`, "a[b]", true},
		{`a\\b`, `a\b`, true},
		{`a\\*`, `a\bc`, true},
		{`a\\*`, `ab`, false},
		{`a\`, `a\`, true}, // a trailing backslash is literal
		{`[\]]`, "]", true},
		{`[\-]`, "-", true},
		{`[a\-z]`, "m", false},
		// Stars.
		{"*", "anything", true},
		{"*", "", false}, // the loop never runs on an empty string
		{"", "", true},
		{"a*", "a", true},
		{"a**", "a", true},
		{"*a", "ba", true},
		{"*a*b", "xaxxb", true},
		{"*a*b", "xaxxc", false},
		{"a*b*c", "abc", true},
		// Classes.
		{"[]", "a", false},
		{"[]", "", false},
		{"[]]", "]", false}, // "[]" is an empty class, then a literal ']'
		{"[^]", "a", true},
		{"[abc", "c", true}, // unterminated class
		{"[abc", "d", false},
		{"[a-]", "-", false}, // Redis reads "a-]" as the range ']'..'a'
		{"[a-]", "^", true},
		{"?", "", false},
		{"ab", "a", false},
		{"a", "ab", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.s, func(t *testing.T) {
			if got := redisMatch(tt.pattern, tt.s); got != tt.want {
				t.Errorf("redisMatch(%q, %q) = %v; want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

// parsed is a key taken apart by parseKey.
type parsed struct {
	name      string
	versioned bool
	version   uint64
	entity    string
	list      bool
	rest      string // the id, or the hash of a list key
}

// parseKey takes a key apart following the grammar in doc.go. It is the
// inverse of key building: that it exists is what makes building injective.
func parseKey(k string) (parsed, bool) {
	var p parsed
	nsPart, after, ok := strings.Cut(k, ":")
	if !ok {
		return p, false
	}
	name, ver, hasVersion := strings.Cut(nsPart, "@")
	p.name = name
	if hasVersion {
		digits, ok := strings.CutPrefix(ver, "v")
		if !ok {
			return p, false
		}
		v, err := strconv.ParseUint(digits, 10, 64)
		if err != nil || strconv.FormatUint(v, 10) != digits {
			return p, false
		}
		p.versioned, p.version = true, v
	}
	second, rest, ok := strings.Cut(after, ":")
	if !ok {
		return p, false
	}
	entity, kind, isList := strings.Cut(second, "#")
	if isList && kind != "q" {
		return p, false
	}
	p.entity, p.list, p.rest = entity, isList, rest
	return p, true
}

func mustNamespace(t testing.TB, name string) Namespace {
	t.Helper()
	n, err := NewNamespace(name)
	if err != nil {
		t.Fatalf("NewNamespace(%q) = _, %v; want nil error", name, err)
	}
	return n
}

// reservedInNames are characters that a namespace name or an entity may not
// hold (white space and controls aside).
var reservedInNames = []string{":", "@", "#", "*", "?", "[", "]", `\`, "{", "}"}

// nameCases are rejection cases shared by namespace names and entities.
func nameCases() []struct {
	name string
	part string
	want error
} {
	cases := []struct {
		name string
		part string
		want error
	}{
		{"empty", "", ErrEmptyPart},
		{"space", "a b", ErrInvalidChar},
		{"NUL", "a\x00", ErrInvalidChar},
		{"newline", "a\nb", ErrInvalidChar},
		{"tab", "\ta", ErrInvalidChar},
		{"DEL", "a\x7f", ErrInvalidChar},
		{"C1 control", "a\u0085", ErrInvalidChar},
		{"no-break space", "a\u00a0b", ErrInvalidChar},
		{"line separator", "a\u2028b", ErrInvalidChar},
		{"invalid UTF-8", "a\xffb", ErrInvalidChar},
		{"truncated UTF-8", "a\xc3", ErrInvalidChar},
		{"surrogate", "a\xed\xa0\x80", ErrInvalidChar},
	}
	for _, c := range reservedInNames {
		cases = append(cases, struct {
			name string
			part string
			want error
		}{"reserved " + c, "a" + c + "b", ErrInvalidChar})
	}
	return cases
}

func TestNewNamespace(t *testing.T) {
	for _, tt := range nameCases() {
		t.Run(tt.name, func(t *testing.T) {
			n, err := NewNamespace(tt.part)
			if !errors.Is(err, tt.want) {
				t.Fatalf("NewNamespace(%q) = %+v, %v; want error %v", tt.part, n, err, tt.want)
			}
			if n != (Namespace{}) {
				t.Errorf("NewNamespace(%q) = %+v on error; want the zero Namespace", tt.part, n)
			}
		})
	}
	t.Run("too long", func(t *testing.T) {
		name := strings.Repeat("n", MaxKeyBytes-3)
		if _, err := NewNamespace(name); !errors.Is(err, ErrTooLong) {
			t.Errorf("NewNamespace(<%d bytes>) error = %v; want %v", len(name), err, ErrTooLong)
		}
		name = name[1:]
		if _, err := NewNamespace(name); err != nil {
			t.Errorf("NewNamespace(<%d bytes>) error = %v; want nil", len(name), err)
		}
	})
	t.Run("error names the part", func(t *testing.T) {
		_, err := NewNamespace("a:b")
		if got, want := err.Error(), `keys: namespace "a:b": keys: invalid character in key part`; got != want {
			t.Errorf("NewNamespace(%q) error = %q; want %q", "a:b", got, want)
		}
	})
	for _, name := range []string{"app", "shop-eu.1", "Ünïcödé", "a/b", "x_y=z", "日本", "a^b-c", "a%b", `"q"`} {
		t.Run("ok "+name, func(t *testing.T) {
			n, err := NewNamespace(name)
			if err != nil {
				t.Fatalf("NewNamespace(%q) error = %v; want nil", name, err)
			}
			if got := n.Name(); got != name {
				t.Errorf("Name() = %q; want %q", got, name)
			}
			if got, want := n.Prefix(), name+":"; got != want {
				t.Errorf("Prefix() = %q; want %q", got, want)
			}
			if v, ok := n.Version(); v != 0 || ok {
				t.Errorf("Version() = %d, %v; want 0, false", v, ok)
			}
		})
	}
}

func TestKey(t *testing.T) {
	app := mustNamespace(t, "app")
	tests := []struct {
		ns         Namespace
		entity, id string
		want       string
	}{
		{app, "user", "42", "app:user:42"},
		{app, "user", "a:b", "app:user:a:b"},
		{app, "user", `*?[]\{}`, `app:user:*?[]\{}`},
		{app, "user", "@#", "app:user:@#"},
		{app, "user", "with space", "app:user:with space"},
		{app, "user", "é日本\u00a0", "app:user:é日本\u00a0"},
		{app, "user.lock", "1", "app:user.lock:1"},
		{app, "a^b-c", "1", "app:a^b-c:1"},
		{app.Versioned(0), "user", "42", "app@v0:user:42"},
		{app.Versioned(7), "user", "42", "app@v7:user:42"},
		{app.Versioned(1 << 63), "user", "42", "app@v9223372036854775808:user:42"},
		{app.Versioned(7).Versioned(8), "user", "42", "app@v8:user:42"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got, err := tt.ns.Key(tt.entity, tt.id)
			if err != nil || got != tt.want {
				t.Fatalf("Key(%q, %q) = %q, %v; want %q, nil", tt.entity, tt.id, got, err, tt.want)
			}
			if err := Validate(got); err != nil {
				t.Errorf("Validate(%q) = %v; want nil", got, err)
			}
			if !strings.HasPrefix(got, tt.ns.Prefix()) {
				t.Errorf("Key(%q, %q) = %q; want prefix %q", tt.entity, tt.id, got, tt.ns.Prefix())
			}
		})
	}
}

func TestKeyRejects(t *testing.T) {
	app := mustNamespace(t, "app")
	for _, tt := range nameCases() {
		t.Run("entity "+tt.name, func(t *testing.T) {
			got, err := app.Key(tt.part, "1")
			if !errors.Is(err, tt.want) || got != "" {
				t.Errorf("Key(%q, %q) = %q, %v; want \"\", %v", tt.part, "1", got, err, tt.want)
			}
		})
	}
	idCases := []struct {
		name string
		id   string
		want error
	}{
		{"empty", "", ErrEmptyPart},
		{"NUL", "a\x00", ErrInvalidChar},
		{"newline", "a\nb", ErrInvalidChar},
		{"CR", "a\r", ErrInvalidChar},
		{"ESC", "\x1b[0m", ErrInvalidChar},
		{"DEL", "\x7f", ErrInvalidChar},
		{"C1 control", "\u009f", ErrInvalidChar},
		{"invalid UTF-8", "\xff", ErrInvalidChar},
		{"overlong UTF-8", "\xc0\xaf", ErrInvalidChar},
		{"too long", strings.Repeat("x", MaxKeyBytes-len("app:user:")+1), ErrTooLong},
	}
	for _, tt := range idCases {
		t.Run("id "+tt.name, func(t *testing.T) {
			got, err := app.Key("user", tt.id)
			if !errors.Is(err, tt.want) || got != "" {
				t.Errorf("Key(%q, %.20q) = %q, %v; want \"\", %v", "user", tt.id, got, err, tt.want)
			}
		})
	}
	t.Run("longest id", func(t *testing.T) {
		id := strings.Repeat("x", MaxKeyBytes-len("app:user:"))
		got, err := app.Key("user", id)
		if err != nil || len(got) != MaxKeyBytes {
			t.Errorf("Key(%q, <%d bytes>) = <%d bytes>, %v; want <%d bytes>, nil", "user", len(id), len(got), err, MaxKeyBytes)
		}
	})
	t.Run("error names the part", func(t *testing.T) {
		_, err := app.Key("us:er", "1")
		if got, want := err.Error(), `keys: entity "us:er": keys: invalid character in key part`; got != want {
			t.Errorf("Key(%q, %q) error = %q; want %q", "us:er", "1", got, want)
		}
		_, err = app.Key("user", "a\n")
		if got, want := err.Error(), `keys: id "a\n": keys: invalid character in key part`; got != want {
			t.Errorf("Key(%q, %q) error = %q; want %q", "user", "a\n", got, want)
		}
	})
}

func TestZeroNamespace(t *testing.T) {
	var zero Namespace
	checks := []struct {
		name string
		call func() (string, error)
	}{
		{"Key", func() (string, error) { return zero.Key("user", "1") }},
		{"ListKey", func() (string, error) { return zero.ListKey("user", nil) }},
		{"ListKeyRaw", func() (string, error) { return zero.ListKeyRaw("user", "") }},
		{"ListPattern", func() (string, error) { return zero.ListPattern("user") }},
		{"EntityPattern", func() (string, error) { return zero.EntityPattern("user") }},
		{"IDPrefixPattern", func() (string, error) { return zero.IDPrefixPattern("user", "a") }},
		{"Versioned.Key", func() (string, error) { return zero.Versioned(1).Key("user", "1") }},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if got, err := c.call(); !errors.Is(err, ErrEmptyPart) || got != "" {
				t.Errorf("zero Namespace %s = %q, %v; want \"\", %v", c.name, got, err, ErrEmptyPart)
			}
		})
	}
	if got := zero.Prefix(); got != "" {
		t.Errorf("zero Prefix() = %q; want \"\"", got)
	}
	if got := zero.Versioned(3); got != zero {
		t.Errorf("zero Versioned(3) = %+v; want the zero Namespace", got)
	}
	pattern := zero.Pattern()
	if pattern == "" {
		t.Fatal(`zero Pattern() = ""; want a pattern that matches nothing (clients drop an empty MATCH)`)
	}
	for _, k := range []string{"", "a", "app:user:1", "[]", "*", "\x00"} {
		if redisMatch(pattern, k) {
			t.Errorf("zero Pattern() = %q matches %q; want no match", pattern, k)
		}
	}
}

func TestVersioned(t *testing.T) {
	app := mustNamespace(t, "app")
	tests := []struct {
		ns      Namespace
		prefix  string
		version uint64
		ok      bool
	}{
		{app, "app:", 0, false},
		{app.Versioned(0), "app@v0:", 0, true},
		{app.Versioned(1), "app@v1:", 1, true},
		{app.Versioned(10), "app@v10:", 10, true},
		{app.Versioned(1).Versioned(2), "app@v2:", 2, true},
		{app.Versioned(^uint64(0)), "app@v18446744073709551615:", ^uint64(0), true},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			if got := tt.ns.Prefix(); got != tt.prefix {
				t.Errorf("Prefix() = %q; want %q", got, tt.prefix)
			}
			if got := tt.ns.Name(); got != "app" {
				t.Errorf("Name() = %q; want %q", got, "app")
			}
			if v, ok := tt.ns.Version(); v != tt.version || ok != tt.ok {
				t.Errorf("Version() = %d, %v; want %d, %v", v, ok, tt.version, tt.ok)
			}
			if got, want := tt.ns.Pattern(), tt.prefix+"*"; got != want {
				t.Errorf("Pattern() = %q; want %q", got, want)
			}
		})
	}
	// Distinct versions give distinct keys, all distinct from the
	// unversioned ones, and no version's Pattern matches another's keys.
	spaces := []Namespace{app, app.Versioned(0), app.Versioned(1), app.Versioned(10), app.Versioned(11), app.Versioned(101)}
	for i, a := range spaces {
		ka, _ := a.Key("user", "1")
		for j, b := range spaces {
			kb, _ := b.Key("user", "1")
			if (i == j) != (ka == kb) {
				t.Errorf("keys %q and %q of namespaces %d and %d: equal = %v; want %v", ka, kb, i, j, ka == kb, i == j)
			}
			if got := redisMatch(a.Pattern(), kb); got != (i == j) {
				t.Errorf("redisMatch(%q, %q) = %v; want %v", a.Pattern(), kb, got, i == j)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want error
	}{
		{"simple", "app:user:1", nil},
		{"anything printable", `any*thing?[]\{} é`, nil},
		{"longest", strings.Repeat("k", MaxKeyBytes), nil},
		{"empty", "", ErrEmptyPart},
		{"too long", strings.Repeat("k", MaxKeyBytes+1), ErrTooLong},
		{"NUL", "a\x00", ErrInvalidChar},
		{"newline", "a\n", ErrInvalidChar},
		{"DEL", "\x7f", ErrInvalidChar},
		{"C1 control", "a\u0080", ErrInvalidChar},
		{"invalid UTF-8", "a\xfe", ErrInvalidChar},
		{"lone continuation byte", "\x80", ErrInvalidChar},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.key)
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Errorf("Validate(%.20q) = %v; want %v", tt.key, err, tt.want)
			}
		})
	}
}

func TestEscapeGlob(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"plain", "plain"},
		{"a*b", `a\*b`},
		{"?", `\?`},
		{"[x]", `\[x\]`},
		{`\`, `\\`},
		{`\*`, `\\\*`},
		{"*?[]\\", `\*\?\[\]\\`},
		{"^-{}:", "^-{}:"},
		{"é*日", `é\*日`},
		{"\xff*", "\xff\\*"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := EscapeGlob(tt.in)
			if got != tt.want {
				t.Errorf("EscapeGlob(%q) = %q; want %q", tt.in, got, tt.want)
			}
			// An escaped string matches itself and nothing else.
			if tt.in != "" && !redisMatch(got, tt.in) {
				t.Errorf("redisMatch(%q, %q) = false; want true", got, tt.in)
			}
			for _, other := range []string{tt.in + "x", "x" + tt.in, strings.Repeat("a", len(tt.in)), "plain"} {
				if other != tt.in && redisMatch(got, other) {
					t.Errorf("redisMatch(%q, %q) = true; want false", got, other)
				}
			}
		})
	}
}

// keyInfo is a key built by the test, with the parts that built it.
type keyInfo struct {
	key    string
	ns     int // index into the namespaces of the test
	entity string
	id     string // the id, or the raw query of a list key
	list   bool
}

// TestPatterns checks every pattern the package builds against every key of
// a set of namespaces, versions, entities and ids chosen to be confusable:
// each pattern must match exactly the keys it names.
func TestPatterns(t *testing.T) {
	var spaces []Namespace
	for _, name := range []string{"app", "ap", "app2"} {
		n := mustNamespace(t, name)
		spaces = append(spaces, n, n.Versioned(0), n.Versioned(1), n.Versioned(10))
	}
	entities := []string{"user", "users", "use", "u.ser", "q"}
	ids := []string{
		"1", "10", "a", "ab", "a*", "a*b", "a?c", "a?", "[x]", "[", "]", `\`, `\*`, `a\b`, `a\*`,
		":", "user:1", "*", "?", "**", "{t}1", "é*", "é", "#q:1", "@v1:user:1", "[^a]", "[a-z]",
	}
	var all []keyInfo
	for i, n := range spaces {
		for _, e := range entities {
			for _, id := range ids {
				k, err := n.Key(e, id)
				if err != nil {
					t.Fatalf("Key(%q, %q) error = %v", e, id, err)
				}
				all = append(all, keyInfo{k, i, e, id, false})
				l, err := n.ListKeyRaw(e, id)
				if err != nil {
					t.Fatalf("ListKeyRaw(%q, %q) error = %v", e, id, err)
				}
				all = append(all, keyInfo{l, i, e, id, true})
			}
		}
	}
	seen := make(map[string]keyInfo, len(all))
	for _, k := range all {
		if prev, dup := seen[k.key]; dup {
			t.Fatalf("key %q built twice: %+v and %+v", k.key, prev, k)
		}
		seen[k.key] = k
	}

	check := func(t *testing.T, pattern string, want func(keyInfo) bool) {
		t.Helper()
		matched := 0
		for _, k := range all {
			got := redisMatch(pattern, k.key)
			if got != want(k) {
				t.Errorf("redisMatch(%q, %q) = %v; want %v", pattern, k.key, got, !got)
			}
			if got {
				matched++
			}
		}
		if matched == 0 {
			t.Errorf("pattern %q matched no key; want some", pattern)
		}
	}
	prefixes := []string{"", "a", "a*", "a\\", "[", "*", "?", "user:", "é", "[^", "#q", "1"}
	for i, n := range spaces {
		t.Run(n.Prefix(), func(t *testing.T) {
			check(t, n.Pattern(), func(k keyInfo) bool { return k.ns == i })
			for _, e := range entities {
				p, err := n.EntityPattern(e)
				if err != nil {
					t.Fatalf("EntityPattern(%q) error = %v", e, err)
				}
				check(t, p, func(k keyInfo) bool { return k.ns == i && k.entity == e && !k.list })
				p, err = n.ListPattern(e)
				if err != nil {
					t.Fatalf("ListPattern(%q) error = %v", e, err)
				}
				check(t, p, func(k keyInfo) bool { return k.ns == i && k.entity == e && k.list })
				for _, prefix := range prefixes {
					p, err := n.IDPrefixPattern(e, prefix)
					if err != nil {
						t.Fatalf("IDPrefixPattern(%q, %q) error = %v", e, prefix, err)
					}
					check(t, p, func(k keyInfo) bool {
						return k.ns == i && k.entity == e && !k.list && strings.HasPrefix(k.id, prefix)
					})
				}
			}
		})
	}
}

func TestPatternForms(t *testing.T) {
	app := mustNamespace(t, "app")
	v2 := app.Versioned(2)
	tests := []struct {
		name string
		call func() (string, error)
		want string
	}{
		{"Pattern", func() (string, error) { return app.Pattern(), nil }, "app:*"},
		{"versioned Pattern", func() (string, error) { return v2.Pattern(), nil }, "app@v2:*"},
		{"EntityPattern", func() (string, error) { return app.EntityPattern("user") }, "app:user:*"},
		{"versioned EntityPattern", func() (string, error) { return v2.EntityPattern("user") }, "app@v2:user:*"},
		{"ListPattern", func() (string, error) { return app.ListPattern("user") }, "app:user#q:*"},
		{"IDPrefixPattern", func() (string, error) { return app.IDPrefixPattern("user", "ab") }, "app:user:ab*"},
		{"IDPrefixPattern empty", func() (string, error) { return app.IDPrefixPattern("user", "") }, "app:user:*"},
		{"IDPrefixPattern globs", func() (string, error) { return app.IDPrefixPattern("user", `a*?[]\`) }, `app:user:a\*\?\[\]\\*`},
		{"IDPrefixPattern colon", func() (string, error) { return app.IDPrefixPattern("user", "x:y") }, "app:user:x:y*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := tt.call(); err != nil || got != tt.want {
				t.Errorf("%s = %q, %v; want %q, nil", tt.name, got, err, tt.want)
			}
		})
	}
}

func TestPatternRejects(t *testing.T) {
	app := mustNamespace(t, "app")
	for _, tt := range nameCases() {
		t.Run("entity "+tt.name, func(t *testing.T) {
			if got, err := app.EntityPattern(tt.part); !errors.Is(err, tt.want) || got != "" {
				t.Errorf("EntityPattern(%q) = %q, %v; want \"\", %v", tt.part, got, err, tt.want)
			}
			if got, err := app.IDPrefixPattern(tt.part, "a"); !errors.Is(err, tt.want) || got != "" {
				t.Errorf("IDPrefixPattern(%q, %q) = %q, %v; want \"\", %v", tt.part, "a", got, err, tt.want)
			}
			if got, err := app.ListPattern(tt.part); !errors.Is(err, tt.want) || got != "" {
				t.Errorf("ListPattern(%q) = %q, %v; want \"\", %v", tt.part, got, err, tt.want)
			}
		})
	}
	prefixCases := []struct {
		name   string
		prefix string
		want   error
	}{
		{"NUL", "a\x00", ErrInvalidChar},
		{"newline", "\n", ErrInvalidChar},
		{"C1 control", "\u0085", ErrInvalidChar},
		{"invalid UTF-8", "a\xff", ErrInvalidChar},
		{"too long", strings.Repeat("p", MaxKeyBytes-len("app:user:")+1), ErrTooLong},
	}
	for _, tt := range prefixCases {
		t.Run("prefix "+tt.name, func(t *testing.T) {
			if got, err := app.IDPrefixPattern("user", tt.prefix); !errors.Is(err, tt.want) || got != "" {
				t.Errorf("IDPrefixPattern(%q, %.20q) = %q, %v; want \"\", %v", "user", tt.prefix, got, err, tt.want)
			}
		})
	}
	t.Run("longest entity", func(t *testing.T) {
		long := strings.Repeat("e", MaxKeyBytes-len("app:")-1) // no room for ":" and an id
		if _, err := app.EntityPattern(long); !errors.Is(err, ErrTooLong) {
			t.Errorf("EntityPattern(<%d bytes>) error = %v; want %v", len(long), err, ErrTooLong)
		}
		long = long[2:] // room for ":" and a one-byte id
		if _, err := app.EntityPattern(long); err != nil {
			t.Errorf("EntityPattern(<%d bytes>) error = %v; want nil", len(long), err)
		}
		if _, err := app.Key(long, "1"); err != nil {
			t.Errorf("Key(<%d bytes>, %q) error = %v; want nil", len(long), "1", err)
		}
	})
}

func TestListKey(t *testing.T) {
	app := mustNamespace(t, "app")
	mustParse := func(q string) url.Values {
		t.Helper()
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatalf("url.ParseQuery(%q) error = %v", q, err)
		}
		return v
	}
	listKey := func(n Namespace, entity string, q url.Values) string {
		t.Helper()
		k, err := n.ListKey(entity, q)
		if err != nil {
			t.Fatalf("ListKey(%q, %v) error = %v", entity, q, err)
		}
		return k
	}

	t.Run("form", func(t *testing.T) {
		k := listKey(app, "user", mustParse("page=2&sort=name"))
		hash, ok := strings.CutPrefix(k, "app:user#q:")
		if !ok || len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
			t.Errorf("ListKey = %q; want \"app:user#q:\" and 64 lower-case hex digits", k)
		}
		if err := Validate(k); err != nil {
			t.Errorf("Validate(%q) = %v; want nil", k, err)
		}
	})
	t.Run("golden", func(t *testing.T) {
		// Keys are shared between processes and releases: the hash must
		// never change.
		tests := []struct {
			got, want string
		}{
			{listKey(app, "user", nil), "app:user#q:4c94485e0c21ae6c41ce1dfe7b6bfaceea5ab68e40a2476f50208e526f506080"},
			{listKey(app, "user", mustParse("page=2&sort=name")), "app:user#q:" + goldenPageSort},
			{mustString(app.ListKeyRaw("user", "")), "app:user#q:" + goldenRawEmpty},
		}
		for _, tt := range tests {
			if tt.got != tt.want {
				t.Errorf("list key = %q; want %q", tt.got, tt.want)
			}
		}
	})
	tests := []struct {
		name   string
		a, b   url.Values
		wantEq bool
	}{
		{"param order does not matter", mustParse("a=1&b=2&c=3"), mustParse("c=3&a=1&b=2"), true},
		{"values order matters", mustParse("a=1&a=2"), mustParse("a=2&a=1"), false},
		{"nil and empty", nil, url.Values{}, true},
		{"no values differs from absent", url.Values{"a": {}}, url.Values{}, false},
		{"nil and empty values", url.Values{"a": nil}, url.Values{"a": {}}, true},
		{"empty value differs from no value", url.Values{"a": {""}}, url.Values{"a": {}}, false},
		{"name/value boundary", url.Values{"ab": {"c"}}, url.Values{"a": {"bc"}}, false},
		{"value split", url.Values{"a": {"b", "c"}}, url.Values{"a": {"bc"}}, false},
		{"value moved to another name", url.Values{"a": {"1"}, "b": {"2"}}, url.Values{"a": {"1", "2"}, "b": {}}, false},
		{"separators inside", url.Values{"a": {"1&b=2"}}, mustParse("a=1&b=2"), false},
		{"same", mustParse("q=x&n=10"), mustParse("q=x&n=10"), true},
		{"differs", mustParse("q=x"), mustParse("q=y"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := listKey(app, "user", tt.a), listKey(app, "user", tt.b)
			if (ka == kb) != tt.wantEq {
				t.Errorf("ListKey(%v) = %q, ListKey(%v) = %q: equal = %v; want %v", tt.a, ka, tt.b, kb, ka == kb, tt.wantEq)
			}
		})
	}
	t.Run("distinct from other keys", func(t *testing.T) {
		q := mustParse("a=1")
		keys := []string{
			listKey(app, "user", q),
			listKey(app, "users", q),
			listKey(app.Versioned(0), "user", q),
			listKey(app.Versioned(1), "user", q),
			mustString(app.ListKeyRaw("user", q.Encode())),
			mustString(app.ListKeyRaw("user", "")),
			mustString(app.ListKeyRaw("users", "a=1")),
			listKey(mustNamespace(t, "app2"), "user", q),
		}
		hash := strings.TrimPrefix(keys[0], "app:user#q:")
		keys = append(keys,
			mustString(app.Key("user", "#q:"+hash)),
			mustString(app.Key("user", hash)),
		)
		seen := map[string]int{}
		for i, k := range keys {
			if j, dup := seen[k]; dup {
				t.Errorf("keys %d and %d are both %q; want distinct", j, i, k)
			}
			seen[k] = i
		}
	})
	t.Run("rejects", func(t *testing.T) {
		for _, tt := range nameCases() {
			if got, err := app.ListKey(tt.part, nil); !errors.Is(err, tt.want) || got != "" {
				t.Errorf("ListKey(%q, nil) = %q, %v; want \"\", %v", tt.part, got, err, tt.want)
			}
			if got, err := app.ListKeyRaw(tt.part, "a=1"); !errors.Is(err, tt.want) || got != "" {
				t.Errorf("ListKeyRaw(%q, %q) = %q, %v; want \"\", %v", tt.part, "a=1", got, err, tt.want)
			}
		}
		long := strings.Repeat("e", MaxKeyBytes-len("app:")-len("#q:")-64+1)
		if _, err := app.ListKey(long, nil); !errors.Is(err, ErrTooLong) {
			t.Errorf("ListKey(<%d bytes>, nil) error = %v; want %v", len(long), err, ErrTooLong)
		}
		if k, err := app.ListKeyRaw(long[1:], "q"); err != nil || len(k) != MaxKeyBytes {
			t.Errorf("ListKeyRaw(<%d bytes>, %q) = <%d bytes>, %v; want <%d bytes>, nil", len(long)-1, "q", len(k), err, MaxKeyBytes)
		}
	})
	t.Run("raw accepts any query", func(t *testing.T) {
		for _, q := range []string{"", "\x00\xff\n", strings.Repeat("q", 10*MaxKeyBytes)} {
			if k, err := app.ListKeyRaw("user", q); err != nil || Validate(k) != nil {
				t.Errorf("ListKeyRaw(%q, %.20q) = %q, %v; want a valid key", "user", q, k, err)
			}
		}
	})
}

// mustString returns s and panics on err; for building test tables.
func mustString(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

// Hashes pinned by the golden test.
const (
	goldenPageSort = "a60532d3be76439c322e96a7eab3d16497aa35daed1f7686f9b8bf06de49835a"
	goldenRawEmpty = "454349e422f05297191ead13e21d3db520e5abef52055e4964b82fb213f593a1"
)

// fuzzTriple is the input of a key in FuzzKey; version counts only when
// versioned is set.
type fuzzTriple struct {
	ns        string
	versioned bool
	version   uint64
	entity    string
	id        string
}

func (f fuzzTriple) namespace() (Namespace, bool) {
	n, err := NewNamespace(f.ns)
	if err != nil {
		return Namespace{}, false
	}
	if f.versioned {
		n = n.Versioned(f.version)
	}
	return n, true
}

func (f fuzzTriple) normal() fuzzTriple {
	if !f.versioned {
		f.version = 0
	}
	return f
}

// isSentinel reports whether err wraps one of the package's errors.
func isSentinel(err error) bool {
	return errors.Is(err, ErrEmptyPart) || errors.Is(err, ErrInvalidChar) || errors.Is(err, ErrTooLong)
}

func FuzzKey(f *testing.F) {
	f.Add("app", "user", "1", uint64(0), false, "app", "user", "2", uint64(0), false)
	f.Add("app", "user", "a:b", uint64(0), false, "app", "user:a", "b", uint64(0), false)
	f.Add("app", "user", "1", uint64(0), true, "app", "user", "1", uint64(0), false)
	f.Add("app", "user", "1", uint64(1), true, "app", "user", "1", uint64(10), true)
	f.Add("app@v1", "user", "1", uint64(0), false, "app", "user", "1", uint64(1), true)
	f.Fuzz(func(t *testing.T, ns1, e1, id1 string, ver1 uint64, v1 bool, ns2, e2, id2 string, ver2 uint64, v2 bool) {
		in := [2]fuzzTriple{
			fuzzTriple{ns1, v1, ver1, e1, id1}.normal(),
			fuzzTriple{ns2, v2, ver2, e2, id2}.normal(),
		}
		var itemKeys, listKeys [2]string
		for i, tr := range in {
			n, ok := tr.namespace()
			if !ok {
				return
			}
			k, err := n.Key(tr.entity, tr.id)
			if err != nil {
				if !isSentinel(err) {
					t.Fatalf("Key(%q, %q) error = %v; want one of the package's errors", tr.entity, tr.id, err)
				}
				return
			}
			if err := Validate(k); err != nil {
				t.Fatalf("Validate(Key(%q, %q) = %q) = %v; want nil", tr.entity, tr.id, k, err)
			}
			got, ok := parseKey(k)
			want := parsed{tr.ns, tr.versioned, tr.version, tr.entity, false, tr.id}
			if !ok || got != want {
				t.Fatalf("parseKey(%q) = %+v, %v; want %+v, true", k, got, ok, want)
			}
			if p := n.Pattern(); !redisMatch(p, k) {
				t.Fatalf("Pattern() = %q does not match %q", p, k)
			}
			if p, err := n.EntityPattern(tr.entity); err != nil || !redisMatch(p, k) {
				t.Fatalf("EntityPattern(%q) = %q, %v; want a pattern matching %q", tr.entity, p, err, k)
			}
			l, err := n.ListKeyRaw(tr.entity, tr.id)
			if err != nil {
				if !errors.Is(err, ErrTooLong) {
					t.Fatalf("ListKeyRaw(%q, %q) error = %v; want nil or %v", tr.entity, tr.id, err, ErrTooLong)
				}
				return
			}
			if err := Validate(l); err != nil {
				t.Fatalf("Validate(ListKeyRaw(%q, %q) = %q) = %v; want nil", tr.entity, tr.id, l, err)
			}
			itemKeys[i], listKeys[i] = k, l
		}
		same := in[0] == in[1]
		if (itemKeys[0] == itemKeys[1]) != same {
			t.Errorf("Key of %+v = %q, Key of %+v = %q: equal = %v; want %v", in[0], itemKeys[0], in[1], itemKeys[1], !same, same)
		}
		if (listKeys[0] == listKeys[1]) != same {
			t.Errorf("ListKeyRaw of %+v = %q, of %+v = %q: equal = %v; want %v", in[0], listKeys[0], in[1], listKeys[1], !same, same)
		}
		for _, l := range listKeys {
			for _, k := range itemKeys {
				if l == k {
					t.Errorf("list key %q equals item key", l)
				}
			}
		}
	})
}

func FuzzIDPrefixPattern(f *testing.F) {
	f.Add("app", "user", "a", "bc", "b", uint64(0), false)
	f.Add("app", "user", "a*", "b", "ab", uint64(0), false)
	f.Add("app", "user", `\`, "x", `\\`, uint64(3), true)
	f.Add("app", "user", "[a-z]", "", "b", uint64(0), false)
	f.Add("app", "user", "", "", "anything", uint64(0), true)
	f.Fuzz(func(t *testing.T, ns, e, p, suffix, other string, version uint64, versioned bool) {
		n, ok := fuzzTriple{ns: ns, versioned: versioned, version: version}.namespace()
		if !ok {
			return
		}
		pattern, err := n.IDPrefixPattern(e, p)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("IDPrefixPattern(%q, %q) error = %v; want one of the package's errors", e, p, err)
			}
			return
		}
		if k, err := n.Key(e, p+suffix); err == nil {
			if !redisMatch(pattern, k) {
				t.Errorf("IDPrefixPattern(%q, %q) = %q does not match Key(%q, %q) = %q", e, p, pattern, e, p+suffix, k)
			}
			// Keys with the same id elsewhere never match.
			var elsewhere []string
			if k2, err := n.Key(e+"x", p+suffix); err == nil {
				elsewhere = append(elsewhere, k2)
			}
			if len(e) > 1 {
				if k2, err := n.Key(e[:len(e)-1], p+suffix); err == nil {
					elsewhere = append(elsewhere, k2)
				}
			}
			other := n.Versioned(version + 1)
			if versioned {
				other = mustNamespace(t, ns) // the unversioned namespace
			}
			if k2, err := other.Key(e, p+suffix); err == nil {
				elsewhere = append(elsewhere, k2)
			}
			if k2, err := n.ListKeyRaw(e, p+suffix); err == nil {
				elsewhere = append(elsewhere, k2)
			}
			for _, k2 := range elsewhere {
				if redisMatch(pattern, k2) {
					t.Errorf("IDPrefixPattern(%q, %q) = %q matches %q; want no match", e, p, pattern, k2)
				}
			}
		}
		if k, err := n.Key(e, other); err == nil {
			want := strings.HasPrefix(other, p)
			if got := redisMatch(pattern, k); got != want {
				t.Errorf("IDPrefixPattern(%q, %q) = %q against Key(%q, %q) = %q: match = %v; want %v", e, p, pattern, e, other, k, got, want)
			}
		}
	})
}
