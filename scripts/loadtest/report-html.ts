import type { ProcessUsage } from './process-meter.js';
import type { Summary } from './summary.js';
import { formatBytes, formatMs, formatPercent } from './units.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a <script> element (no `</script>`, no HTML comment openers). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const CHART_SCRIPT = `
(function () {
  var s = JSON.parse(document.getElementById('loadtest-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function chart(id, lines, unit) {
    if (!document.getElementById(id)) return;
    var W = 900, H = 260, L = 60, R = 20, T = 16, B = 30;
    var pts = s.series;
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img' });
    var maxT = pts.length ? pts[pts.length - 1].t : 1;
    var maxY = 0;
    lines.forEach(function (l) { pts.forEach(function (p) { if (p[l.key] !== null && p[l.key] > maxY) maxY = p[l.key]; }); });
    if (maxY <= 0) maxY = 1;
    maxY *= 1.1;
    var x = function (t) { return L + (W - L - R) * (t / (maxT || 1)); };
    var y = function (v) { return H - B - (H - T - B) * (v / maxY); };
    svg.appendChild(el('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: '#fff', stroke: '#ccc' }));
    for (var i = 0; i <= 4; i++) {
      var v = maxY * i / 4;
      svg.appendChild(el('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#eee' }));
      svg.appendChild(el('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11 }, (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + unit));
    }
    for (var j = 0; j <= 5; j++) {
      var t = maxT * j / 5;
      svg.appendChild(el('text', { x: x(t), y: H - 10, 'text-anchor': 'middle', 'font-size': 11 }, t.toFixed(0) + 's'));
    }
    lines.forEach(function (l, k) {
      var d = '', pen = false;
      pts.forEach(function (p) {
        var v = p[l.key];
        if (v === null || v === undefined) { pen = false; return; }
        d += (pen ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(v).toFixed(1) + ' ';
        pen = true;
      });
      svg.appendChild(el('path', { d: d, fill: 'none', stroke: l.color, 'stroke-width': 1.8 }));
      svg.appendChild(el('text', { x: L + 10 + k * 120, y: T + 14, fill: l.color, 'font-size': 12 }, l.label));
    });
    document.getElementById(id).appendChild(svg);
  }
  chart('chart-relay', [{ key: 'relayP50', label: 'relay p50', color: '#2b7' }, { key: 'relayP90', label: 'relay p90', color: '#e90' }, { key: 'relayP99', label: 'relay p99', color: '#d33' }], 'ms');
  chart('chart-setup', [{ key: 'setupP50', label: 'setup p50', color: '#27c' }, { key: 'setupP99', label: 'setup p99', color: '#c3c' }], 'ms');
  chart('chart-active', [{ key: 'activeCalls', label: 'active calls', color: '#27c' }, { key: 'setupsPerSec', label: 'setups/s', color: '#2b7' }], '');
  chart('chart-errors', [{ key: 'errorsPerSec', label: 'errors/s', color: '#d33' }], '');
  chart('chart-frames', [{ key: 'framesPerSec', label: 'frames/s', color: '#555' }], '');
  chart('chart-generator', [{ key: 'generatorCpuPct', label: 'all processes', color: '#27c' }, { key: 'maxWorkerCpuPct', label: 'busiest worker', color: '#d33' }], '%');
})();
`;

function generatorSection(s: Summary): string {
  const g = s.generator;
  if (!g) return '';
  const cells = (name: string, u: ProcessUsage, sockets: string, perSocket: string) => `<tr><th>${escapeHtml(name)}</th><td>${u.cpuSec.toFixed(1)}</td><td>${u.cpuPct}%</td><td>${u.peakCpuPct}%</td><td>${u.busySec}</td>`
    + `<td>${formatBytes(u.peakRssBytes)}</td><td>${sockets}</td><td>${perSocket}</td><td>${formatMs(u.eventLoopDelayP99Ms)} / ${formatMs(u.eventLoopDelayMaxMs)}</td>`
    + `<td>${u.peakOpenFds ?? '-'} / ${u.fdLimit ?? '-'}</td></tr>`;
  const rows = [cells('parent', g.parent, '-', '-'), ...g.workers.map((w) => cells(`worker ${w.worker}`, w, String(w.peakSockets), w.rssPerSocketBytes === null ? '-' : formatBytes(w.rssPerSocketBytes)))].join('');
  const warnings = g.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('');
  return `<section><h2>Generator</h2>
<p>${g.cores} core(s)${g.machineBusyPct !== null ? `, machine ${g.machineBusyPct}% busy over the run` : ''}; ${g.cpuSec.toFixed(1)} CPU-seconds in all${g.rssPerSocketBytes !== null ? `; ${formatBytes(g.rssPerSocketBytes)} RSS per held socket` : ''}.
CPU shares are of one core; busy seconds are one-second samples at 90 % or more.</p>
<table><tr><th>process</th><th>CPU s</th><th>CPU % (run)</th><th>peak CPU % (1 s)</th><th>busy s</th><th>peak RSS</th><th>sockets at peak</th><th>RSS per socket</th><th>loop delay p99 / max</th><th>fds peak / limit</th></tr>${rows}</table>
${warnings ? `<h3>Warnings</h3><ul class="fail">${warnings}</ul>` : '<p class="pass">No sign that the generator limited the run.</p>'}
<div id="chart-generator"></div></section>`;
}

/**
 * A self-contained HTML report: the summary as tables (readable without scripts), the raw data
 * as embedded JSON (`#loadtest-data`), and SVG charts over time drawn by inline JS. No external
 * resource is referenced, so it opens from disk.
 */
export function renderHtmlReport(s: Summary): string {
  const row = (k: string, v: string) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;
  const lat = (name: string, p: Summary['setupMs']) =>
    `<tr><th>${name}</th><td>${formatMs(p.p50)}</td><td>${formatMs(p.p90)}</td><td>${formatMs(p.p99)}</td><td>${formatMs(p.max)}</td><td>${p.count}</td></tr>`;
  const failures = Object.entries(s.calls.failedByCode).map(([code, n]) => row(code, String(n))).join('') || row('none', '0');
  const errors = Object.entries(s.errorsByCode).map(([code, n]) => row(code, String(n))).join('') || row('none', '0');
  const thresholds = s.thresholds.map((t) => `<tr class="${t.passed ? 'pass' : 'fail'}"><th>${escapeHtml(t.name)}</th><td>${t.passed ? 'PASS' : 'FAIL'}</td><td>${escapeHtml(String(t.actual))}</td><td>${escapeHtml(String(t.limit))}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vidivo load test ${escapeHtml(s.startedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:980px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ddd;padding:4px 10px;text-align:left}
th{background:#f6f6f6}.pass td,p.pass{color:#185}.fail td,ul.fail{color:#c22}.verdict{font-size:18px;font-weight:600}
section{margin-bottom:24px}
</style></head><body>
<h1>Vidivo load test</h1>
<p class="verdict">${s.passed ? 'PASSED' : 'FAILED'} — ${s.calls.succeeded}/${s.calls.attempted} calls succeeded, error rate ${formatPercent(s.errorRate)}</p>
<section><h2>Run</h2><table>
${row('started', s.startedAt)}${row('elapsed', `${s.elapsedSec} s`)}${row('API', s.target.api)}${row('signaling', s.target.signal.join(', ') || 'from the calls API')}
${row('calls / concurrency / ramp', `${s.config.calls} / ${s.config.concurrency} / ${s.config.rampPerSec} per s`)}${row('call duration', formatMs(s.config.durationMs))}
${row('churn', formatPercent(s.config.churn))}${row('seed', s.config.seed)}${row('workers', String(s.config.workers))}
</table></section>
<section><h2>Results</h2><table>
${row('calls attempted', String(s.calls.attempted))}${row('calls succeeded', String(s.calls.succeeded))}${row('calls failed', String(s.calls.failed))}
${row('resumes succeeded', `${s.resumes.succeeded} / ${s.resumes.attempted}`)}${row('peak sockets held', String(s.sockets.peak))}${row('peak active calls', String(s.sockets.peakActiveCalls))}
${row('frames sent / received', `${s.frames.sent} / ${s.frames.received}`)}${row('frames per second', String(s.frames.perSec))}
${row('host tokens renewed / handed to running calls / renewals failed', `${s.tokens.renewed} / ${s.tokens.sentToCalls} / ${s.tokens.failed}`)}
</table>
<table><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>samples</th></tr>${lat('call setup', s.setupMs)}${lat('relay latency', s.relayMs)}</table>
<h3>Failed calls by error code</h3><table>${failures}</table>
<h3>All errors by code</h3><table>${errors}</table>
${thresholds ? `<h3>Thresholds</h3><table><tr><th>threshold</th><th>result</th><th>actual</th><th>limit</th></tr>${thresholds}</table>` : ''}
</section>
<section><h2>Relay latency percentiles over time</h2><div id="chart-relay"></div></section>
<section><h2>Call setup time over time</h2><div id="chart-setup"></div></section>
<section><h2>Active calls and setups per second</h2><div id="chart-active"></div></section>
<section><h2>Errors per second</h2><div id="chart-errors"></div></section>
<section><h2>Frames per second</h2><div id="chart-frames"></div></section>
${generatorSection(s)}
<script type="application/json" id="loadtest-data">${scriptJson(s)}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}
