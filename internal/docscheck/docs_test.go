// Package docscheck checks that the identifiers the documentation names
// (README.md and docs/*.md) exist in the code: a renamed or removed field,
// function or metric fails this test instead of leaving the docs untrue.
package docscheck

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// root is the repository root, from this package's directory.
const root = "../.."

// code is what the repository's Go code declares.
type code struct {
	// pkgs maps a package name to its exported top-level names.
	pkgs map[string]map[string]bool
	// members maps an exported type name to its exported fields and
	// methods (merged over the packages that declare a type of that name).
	members map[string]map[string]bool
	// names holds every exported name: top-level, field or method.
	names map[string]bool
	// metrics holds the string literals of the packages that name metric
	// families (metrics, observability/...).
	metrics map[string]bool
	// defaults maps X to the value of a constant DefaultX (durations in
	// nanoseconds, sizes in bytes), for the constants simple enough to
	// evaluate.
	defaults map[string]float64
}

// parseCode parses every Go file of the repository (of test files, only
// their top-level function names count).
func parseCode(t *testing.T) *code {
	t.Helper()
	c := &code{pkgs: map[string]map[string]bool{}, members: map[string]map[string]bool{}, names: map[string]bool{}, metrics: map[string]bool{}, defaults: map[string]float64{}}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, "_test.go") {
			// Tests and benchmarks the docs name (TestX, BenchmarkX, or X
			// in a benchmark report) are declared here.
			for _, decl := range f.Decls {
				if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil {
					c.names[fn.Name.Name] = true
					if b, ok := strings.CutPrefix(fn.Name.Name, "Benchmark"); ok {
						c.names[b] = true
					}
				}
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		c.add(f, strings.HasPrefix(rel, "metrics"+string(filepath.Separator)) || strings.HasPrefix(rel, "observability"+string(filepath.Separator)))
		return nil
	})
	if err != nil {
		t.Fatalf("parse the code: %v", err)
	}
	return c
}

func (c *code) add(f *ast.File, metrics bool) {
	pkg := c.pkgs[f.Name.Name]
	if pkg == nil {
		pkg = map[string]bool{}
		c.pkgs[f.Name.Name] = pkg
	}
	member := func(typ, name string) {
		if !ast.IsExported(name) {
			return
		}
		if c.members[typ] == nil {
			c.members[typ] = map[string]bool{}
		}
		c.members[typ][name] = true
		c.names[name] = true
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				if d.Name.IsExported() {
					pkg[d.Name.Name] = true
					c.names[d.Name.Name] = true
				}
				continue
			}
			recv := d.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			switch r := recv.(type) {
			case *ast.IndexExpr:
				recv = r.X
			case *ast.IndexListExpr:
				recv = r.X
			}
			if id, ok := recv.(*ast.Ident); ok {
				member(id.Name, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						pkg[s.Name.Name] = true
						c.names[s.Name.Name] = true
					}
					if st, ok := s.Type.(*ast.StructType); ok {
						for _, fld := range st.Fields.List {
							for _, n := range fld.Names {
								member(s.Name.Name, n.Name)
							}
							if len(fld.Names) == 0 { // embedded: its name is a member
								typ := fld.Type
								if star, ok := typ.(*ast.StarExpr); ok {
									typ = star.X
								}
								if sel, ok := typ.(*ast.SelectorExpr); ok {
									member(s.Name.Name, sel.Sel.Name)
								} else if id, ok := typ.(*ast.Ident); ok {
									member(s.Name.Name, id.Name)
								}
							}
						}
					}
					if it, ok := s.Type.(*ast.InterfaceType); ok {
						for _, m := range it.Methods.List {
							for _, n := range m.Names {
								member(s.Name.Name, n.Name)
							}
						}
					}
				case *ast.ValueSpec:
					for i, n := range s.Names {
						if n.IsExported() {
							pkg[n.Name] = true
							c.names[n.Name] = true
						}
						if x, ok := strings.CutPrefix(n.Name, "Default"); ok && d.Tok == token.CONST && i < len(s.Values) {
							if v, ok := eval(s.Values[i]); ok {
								c.defaults[x] = v
							}
						}
					}
				}
			}
		}
	}
	// Metric families declared once, in the tags of tier.Stats's fields.
	ast.Inspect(f, func(n ast.Node) bool {
		if field, ok := n.(*ast.Field); ok && field.Tag != nil {
			if tag, err := strconv.Unquote(field.Tag.Value); err == nil {
				if name := reflect.StructTag(tag).Get("metric"); name != "" {
					c.metrics[name] = true
				}
			}
		}
		return true
	})
	if metrics {
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					c.metrics[s] = true
				}
			}
			return true
		})
	}
}

var (
	// codeSpan is inline code, or a fenced block's body.
	codeSpan = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```|`([^`\n]+)`")
	// qualified is pkg.Name or pkg.Type.Member (or Type.Member).
	qualified = regexp.MustCompile(`\b([A-Za-z][A-Za-z0-9]*)\.([A-Z][A-Za-z0-9]*)(?:\.([A-Z][A-Za-z0-9]*))?\b`)
	// bare is a lone exported-looking Go name: a code span of one word,
	// upper case first, with a lower-case letter in it.
	bare = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$`)
	// metricName is a Prometheus or OpenTelemetry family of ours.
	metricName = regexp.MustCompile(`\btiercache([._])([a-z][a-z0-9_.]*[a-z0-9])`)
	// bareMetric is a family named without the namespace.
	bareMetric = regexp.MustCompile(`^[a-z][a-z0-9_]*_(total|seconds)$`)
)

// eval evaluates a constant expression made of numbers, time units, * and
// <<; durations come out in nanoseconds.
func eval(e ast.Expr) (float64, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		v, err := strconv.ParseFloat(e.Value, 64)
		return v, err == nil
	case *ast.ParenExpr:
		return eval(e.X)
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && x.Name == "time" {
			v, ok := timeUnits[e.Sel.Name]
			return v, ok
		}
	case *ast.BinaryExpr:
		x, okx := eval(e.X)
		y, oky := eval(e.Y)
		if !okx || !oky {
			return 0, false
		}
		switch e.Op {
		case token.MUL:
			return x * y, true
		case token.SHL:
			return x * float64(uint64(1)<<uint(y)), true
		}
	}
	return 0, false
}

var timeUnits = map[string]float64{
	"Nanosecond": 1, "Microsecond": 1e3, "Millisecond": 1e6, "Second": 1e9, "Minute": 60e9, "Hour": 3600e9,
}

// docUnits turns a unit the docs write after a number into the unit eval
// gives (nanoseconds, bytes).
var docUnits = map[string]float64{
	"": 1, "ns": 1, "µs": 1e3, "ms": 1e6, "s": 1e9, "min": 60e9, "minute": 60e9, "minutes": 60e9,
	"h": 3600e9, "hour": 3600e9, "hours": 3600e9, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "%": 0.01,
}

// documentedValue is "`Name` (5 s)", "`Name` (default 5 s)" or "`Name` = 5 s".
var documentedValue = regexp.MustCompile("`([A-Z][A-Za-z0-9]*)` (?:\\((?:default )?([0-9][0-9.]*) ?(ns|µs|ms|s|min|minutes?|h|hours?|KiB|MiB|GiB|%)?\\)|= ([0-9][0-9.]*) ?(ns|µs|ms|s|min|minutes?|h|hours?|KiB|MiB|GiB|%)?\\b)")

// checkValues returns the documented defaults of text that differ from the
// code's DefaultX constants.
func (c *code) checkValues(text string) []string {
	var bad []string
	for _, m := range documentedValue.FindAllStringSubmatch(text, -1) {
		name, num, unit := m[1], m[2]+m[4], m[3]+m[5]
		want, ok := c.defaults[name]
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			continue
		}
		if got := v * docUnits[unit]; got != want {
			bad = append(bad, fmt.Sprintf("%q says %s is %s %s; Default%s is %v", m[0], name, num, unit, name, want))
		}
	}
	return bad
}

// external are names the docs use that other code declares (go-redis's
// options, the standard library, ristretto): not ours to check.
var external = map[string]bool{
	// go-redis options and types
	"ContextTimeoutEnabled": true, "ReadTimeout": true, "WriteTimeout": true, "PoolTimeout": true,
	"PoolSize": true, "DialTimeout": true, "DialerRetries": true, "MaxRetryBackoff": true,
	"MaxRetries": true, "MinIdleConns": true, "UniversalClient": true, "ClusterClient": true,
	"NewClient": true, "NewClusterClient": true, "NewFailoverClient": true, "FailoverOptions": true,
	"SetLogger": true, "Disable": true, "Options": true, "PubSub": true, "ForEachMaster": true,
	"ForEachShard": true,
	// standard library
	"RoundTripper": true, "Handler": true, "ServeHTTP": true, "RoundTrip": true, "Context": true,
	"WithoutCancel": true, "Logger": true, "Is": true, "As": true, "Once": true,
	// golang.org/x/sync/singleflight, eko/gocache, the Prometheus client
	"DoChan": true, "LoadableCache": true, "Observe": true,
	// HTTP header fields
	"Age": true, "Authorization": true, "Connection": true, "Cookie": true, "Date": true,
	"Expires": true, "Location": true, "Range": true, "Trailer": true, "Upgrade": true,
	"Vary": true, "ETag": true, "Pragma": true, "Warning": true,
	// ristretto
	"MaxCost": true, "NumCounters": true, "BufferItems": true,
}

// ours are the packages whose qualified names are checked.
var ours = []string{"tier", "strategy", "middleware", "metrics", "codec", "keys", "tierprom", "tierotel", "redistest", "debugpage"}

// docs returns README.md and docs/*.md.
func docs(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, filepath.Join(root, "README.md"))
	out := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = string(b)
	}
	return out
}

// TestDocumentedIdentifiersExist checks every Go name and metric family the
// docs put in code spans against the code.
func TestDocumentedIdentifiersExist(t *testing.T) {
	c := parseCode(t)
	for _, p := range ours[:len(ours)-1] {
		if len(c.pkgs[p]) == 0 {
			t.Fatalf("package %s not found under %s: the checker parses the wrong tree", p, root)
		}
	}
	for path, text := range docs(t) {
		var bad []string
		for _, m := range codeSpan.FindAllStringSubmatch(text, -1) {
			span := m[1] + m[2]
			bad = append(bad, c.check(span, m[2] != "")...)
		}
		bad = append(bad, c.checkValues(text)...)
		slices.Sort(bad)
		for _, b := range slices.Compact(bad) {
			t.Errorf("%s: %s", path, b)
		}
	}
}

// check returns what span names that the code does not declare. inline is
// true for an inline code span (where a lone word is a name).
func (c *code) check(span string, inline bool) []string {
	var bad []string
	for _, q := range qualified.FindAllStringSubmatch(span, -1) {
		x, name, member := q[1], q[2], q[3]
		switch {
		case slices.Contains(ours, x):
			if !c.pkgs[x][name] {
				bad = append(bad, x+"."+name+" is not declared in package "+x)
			} else if member != "" && c.members[name] != nil && !c.members[name][member] {
				bad = append(bad, x+"."+name+"."+member+": "+name+" has no field or method "+member)
			}
		case c.members[x] != nil && ast.IsExported(x) && !external[x]:
			if !c.members[x][name] {
				bad = append(bad, x+"."+name+": "+x+" has no field or method "+name)
			}
		}
	}
	if w := strings.TrimSuffix(strings.TrimSpace(span), "()"); inline && bare.MatchString(w) && !c.names[w] && !external[w] {
		bad = append(bad, w+" is not declared anywhere")
	}
	if w := strings.TrimSpace(span); inline && bareMetric.MatchString(w) && !strings.HasPrefix(w, "tiercache_") && !c.metrics[w] {
		bad = append(bad, "metric "+w+" is not exported by metrics, tierprom or tierotel")
	}
	for _, m := range metricName.FindAllStringSubmatch(span, -1) {
		if !c.metric(m[1], m[2]) {
			bad = append(bad, "metric tiercache"+m[1]+m[2]+" is not exported by metrics, tierprom or tierotel")
		}
	}
	return bad
}

// metric reports whether a family of that name is exported: Prometheus
// names (sep "_") are Namespace + "_" + a family; OpenTelemetry names (sep
// ".") drop "_total" and "_seconds".
func (c *code) metric(sep, name string) bool {
	if sep == "_" {
		return c.metrics[name]
	}
	if c.metrics["."+name] {
		return true
	}
	for lit := range c.metrics {
		if strings.TrimSuffix(strings.TrimSuffix(lit, "_total"), "_seconds") == name {
			return true
		}
	}
	return false
}

// TestCheckCatches feeds the checker names that do not exist, so that it is
// known to fail on them, and names that do, so that it is known to pass.
func TestCheckCatches(t *testing.T) {
	c := parseCode(t)
	tests := []struct {
		span   string
		inline bool
		bad    bool
	}{
		{"tier.Foo", true, true},
		{"tier.Stats", true, false},
		{"Stats.Bar", true, true},
		{"Stats.L2Errors", true, false},
		{"tier.Config.Baz", true, true},
		{"tier.Config.L2Timeout", true, false},
		{"strategy.NewCacheAside", true, false},
		{"s := tier.Nope(ctx)", false, true},
		{"RefreshSec", true, true},
		{"NegativeTTL", true, false},
		{"tiercache_reads_total", true, false},
		{"tiercache_redis_errorz_total", true, true},
		{"redis_errors_total", true, false},
		{"redis_errorz_total", true, true},
		{"tiercache.read.duration", true, false},
		{"tiercache.reads", true, false},
		{"tiercache.readz", true, true},
		{"ContextTimeoutEnabled", true, false},
	}
	for _, tt := range []struct {
		text string
		bad  bool
	}{
		{"`L2Timeout` (100 ms)", false},
		{"`L2Timeout` (default 250 ms)", true},
		{"`FillLockTTL` = 5 s", false},
		{"`BreakerFailures` (6)", true},
		{"`L1MaxCostBytes` (default 64 MiB)", false},
		{"`HeuristicFraction` (10 %)", false},
		{"`ClaimIdle` (default 6 s)", false},
		{"`ClaimIdle` (default 1 minute)", true},
	} {
		if got := c.checkValues(tt.text); (len(got) > 0) != tt.bad {
			t.Errorf("checkValues(%q) = %q; want bad = %v", tt.text, got, tt.bad)
		}
	}
	for _, tt := range tests {
		if got := c.check(tt.span, tt.inline); (len(got) > 0) != tt.bad {
			t.Errorf("check(%q) = %q; want bad = %v", tt.span, got, tt.bad)
		}
	}
}

// TestExamplesSelfContained checks that every runnable Example of the
// repository is one a pkg.go.dev reader can run as shown: go/doc can build
// a program from it alone (it uses no helper declared in another test
// file), and it has an Output comment.
func TestExamplesSelfContained(t *testing.T) {
	var n int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, ex := range doc.Examples(f) {
			n++
			if ex.Play == nil {
				t.Errorf("%s: Example%s uses something declared outside it and its file's declarations: pkg.go.dev cannot show it whole", rel, ex.Name)
			}
			if ex.Output == "" && !ex.EmptyOutput {
				t.Errorf("%s: Example%s has no // Output: comment, so go test does not run it", rel, ex.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no examples found under %s", root)
	}
}
