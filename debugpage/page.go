package debugpage

// pageTemplate is the HTML page: one document, its style inline, its chart
// inline SVG drawn by newChart, and no script.
const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{{- if .Refresh}}
<meta http-equiv="refresh" content="{{.Refresh}}">
{{- end}}
<title>tiercache</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
h1 { font-size: 1.5em; margin: 0 0 .2em; }
h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .6em 0 1em; }
th, td { padding: .2em .8em; text-align: right; border-bottom: 1px solid #eee; }
th:first-child, td:first-child { text-align: left; }
.summary th { text-align: left; font-weight: normal; color: #555; }
.summary td { text-align: left; }
.l1 { fill: #2f9e44; } .l2 { fill: #1c7ed6; } .source { fill: #f08c00; } .miss { fill: #adb5bd; } .none { fill: #e03131; }
.meter-bg { fill: #e9ecef; }
.state-closed, .up { color: #2f9e44; } .state-open, .down { color: #e03131; font-weight: bold; } .state-half-open { color: #f08c00; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
.note { color: #666; font-size: .9em; }
</style>
</head>
<body>
<h1>tiercache</h1>
<p class="note">{{.Time.Format "2006-01-02 15:04:05 MST"}}{{if .Refresh}} · reloads every {{.Refresh}} s{{end}} · <a href="?format=json">JSON</a></p>
{{- range .Stores}}
{{- $s := .}}
<section class="store" data-store="{{.Name}}">
<h2>Store {{.Name}}</h2>
<table class="summary">
{{- if .Closed}}
<tr><th>state</th><td data-field="closed">closed: the figures are final</td></tr>
{{- end}}
<tr><th>circuit breaker</th><td class="state-{{.Breaker}}" data-field="breaker">{{.Breaker}}</td></tr>
{{- with .L1}}
<tr><th>L1 fill</th><td data-field="l1" data-used="{{.UsedBytes}}" data-max="{{.MaxBytes}}"><svg width="200" height="10" class="meter"><rect class="meter-bg" width="200" height="10"/><rect class="l2" width="{{meter .UsedBytes .MaxBytes 200}}" height="10"/></svg> {{bytes .UsedBytes}} of {{bytes .MaxBytes}} ({{percent .UsedBytes .MaxBytes}} %)</td></tr>
{{- end}}
{{- with .Bus}}
<tr><th>invalidation bus</th><td data-field="bus">
{{- if .Enabled}}on · {{len .Subscriptions}} subscription{{if ne (len .Subscriptions) 1}}s{{end}}{{range .Subscriptions}} · <span class="{{if .Up}}up{{else}}down{{end}}" data-namespace="{{.Namespace}}">{{.Namespace}} {{if .Up}}subscribed{{else}}not subscribed{{end}}</span>{{end}}
 · messages sent {{$s.Stats.MessagesSent}}, received {{$s.Stats.MessagesReceived}} · keys sent {{$s.Stats.InvalidationsSent}}, received {{$s.Stats.InvalidationsReceived}}
{{- else}}off{{end}}</td></tr>
{{- end}}
<tr><th>reads</th><td>L1 {{.Stats.L1Hits}} hits, {{.Stats.L1Misses}} misses · L2 {{.Stats.L2Hits}} hits, {{.Stats.L2Misses}} misses · loads {{.Stats.Loads}} ({{.Stats.LoadErrors}} failed) · stale served {{.Stats.StaleServed}}</td></tr>
<tr><th>errors</th><td>Redis {{.Stats.L2Errors}} · corrupt entries {{.Stats.Corrupt}} · breaker opened {{.Stats.BreakerOpens}} times</td></tr>
</table>
{{- with chart .}}
<svg class="chart" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="reads by the tier that answered">
{{- $countX := .CountX}}
{{- range .Rows}}
{{- $row := .}}
<g class="row" data-label="{{.Label}}" data-total="{{.Total}}">
<text x="0" y="{{.TextY}}">{{.Label}}</text>
{{- range .Segments}}
<rect class="{{.Tier}}" data-tier="{{.Tier}}" data-count="{{.Count}}" x="{{.X}}" y="{{$row.Y}}" width="{{.W}}" height="16"><title>{{.Tier}}: {{.Count}}</title></rect>
{{- end}}
<text x="{{$countX}}" y="{{.TextY}}">{{.Total}}</text>
</g>
{{- end}}
{{- range .Legend}}
<rect class="{{.Tier}}" x="{{.X}}" y="{{.Y}}" width="12" height="12"/><text x="{{.TextX}}" y="{{.Y}}" dy="11">{{.Label}}</text>
{{- end}}
</svg>
{{- end}}
<p class="note">The first bar counts the Store's reads as its Stats do (L2 hits and misses once per shared Redis read); a data type's bar counts every read of its Groups under the tier that answered it.</p>
{{- if .Types}}
<table class="types">
<tr><th>data type</th><th>reads</th><th>L1</th><th>L2</th><th>source</th><th>failed</th><th>not found</th><th>stale</th><th>loads</th><th>load errors</th><th>p50</th><th>p90</th><th>p99</th></tr>
{{- range .Types}}
<tr data-namespace="{{.Namespace}}" data-entity="{{.Entity}}"><td>{{.Namespace}}{{if .Entity}}/{{.Entity}}{{end}}</td><td>{{.Reads}}</td><td>{{.L1Hits}}</td><td>{{.L2Hits}}</td><td>{{.SourceHits}}</td><td>{{.Failed}}</td><td>{{.NotFound}}</td><td>{{.StaleServed}}</td><td>{{.Loads}}</td><td>{{.LoadErrors}}</td><td data-field="p50">{{latency .P50}}</td><td data-field="p90">{{latency .P90}}</td><td data-field="p99">{{latency .P99}}</td></tr>
{{- end}}
</table>
<p class="note">Latency percentiles are estimated from fixed buckets (1 µs to 10 s); L1 hits are not timed and count in the first bucket (at most 1 µs).</p>
{{- else}}
<p class="note">No data type: this Store is read by key, not through Groups.</p>
{{- end}}
</section>
{{- else}}
<p>No Store registered.</p>
{{- end}}
{{- if .Queues}}
<h2>Write-behind queues</h2>
<table class="queues">
<tr><th>queue</th><th>depth</th><th>oldest write</th></tr>
{{- range .Queues}}
<tr data-queue="{{.Name}}"><td>{{.Name}}</td><td data-field="depth">{{.Depth}}</td><td data-field="oldest">{{dur .Oldest}}</td></tr>
{{- end}}
</table>
{{- end}}
</body>
</html>
`
