// The report page's stylesheet and script, inlined into the page (it must work from a file, offline).

export const pageStyle = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa;
  --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --accent: #0969da; --seed: #8250df;
  --del-bg: #ffebe9; --ins-bg: #dafbe1; --focus: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --panel: #151b23;
    --pass: #3fb950; --fail: #f85149; --warn: #d29922; --accent: #4493f8; --seed: #ab7df8;
    --del-bg: #5d1b1e; --ins-bg: #1b4721; --focus: #4493f8; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6rem; margin: 8px 0 4px; } h2 { font-size: 1.35rem; margin: 0 0 8px; } h3 { font-size: 1.1rem; margin: 20px 0 8px; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.muted { color: var(--muted); } code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85rem; }
pre { white-space: pre-wrap; word-break: break-word; margin: 4px 0; padding: 8px; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 8px 16px; }
section.spec { border-top: 2px solid var(--line); padding-top: 16px; margin-top: 24px; }
.badge { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: 0.8rem; font-weight: 600; border: 1px solid currentColor; vertical-align: middle; }
.badge.pass { color: var(--pass); } .badge.fail, .badge.regressed { color: var(--fail); } .badge.inconclusive { color: var(--warn); }
dl.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 8px; margin: 8px 0 16px; }
dl.summary div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
dl.summary dt { font-size: 0.78rem; color: var(--muted); } dl.summary dd { margin: 0; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; }
figure { margin: 0; } figure.history { max-width: 760px; } figcaption { font-size: 0.85rem; color: var(--muted); }
svg.chart { width: 100%; height: auto; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
svg.chart text { fill: var(--muted); font-size: 11px; } svg.chart .label { font-size: 12px; }
svg.chart .axis { stroke: var(--muted); } svg.chart .grid { stroke: var(--line); stroke-dasharray: 2 3; }
svg.chart .trend { fill: none; stroke: var(--muted); stroke-width: 1; }
svg.chart .interval { stroke: var(--accent); stroke-width: 2; opacity: 0.6; }
svg.chart .point circle { fill: var(--accent); stroke: var(--bg); stroke-width: 1.5; }
svg.chart .point.fail circle { fill: var(--fail); } svg.chart .point.checkpoint circle { fill: var(--seed); }
svg.chart .point.report circle { fill: var(--bg); stroke: var(--accent); stroke-width: 2.5; }
svg.chart .threshold line { stroke: var(--fail); stroke-dasharray: 6 4; } svg.chart .threshold text { fill: var(--fail); }
svg.chart .held-out line { stroke: var(--muted); stroke-dasharray: 3 3; } svg.chart .held-out.after line { stroke: var(--pass); }
svg.chart .held-out.after text { fill: var(--pass); }
svg.chart .candidate.discarded circle { fill: var(--muted); opacity: 0.55; }
svg.chart .candidate.kept circle { fill: var(--warn); }
svg.chart .candidate.accepted circle { fill: var(--pass); r: 6; }
svg.chart .candidate.final circle { stroke: var(--fg); stroke-width: 2; }
svg.chart .accepted-path { fill: none; stroke: var(--pass); stroke-width: 2.5; }
.legend { font-size: 0.85rem; color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 16px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: middle; }
.diff-grid { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.diff-grid h4 { margin: 8px 0 0; font-size: 0.9rem; }
del { background: var(--del-bg); text-decoration: line-through; } ins { background: var(--ins-bg); text-decoration: none; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; }
input[type=search], select { font: inherit; padding: 2px 6px; background: var(--bg); color: var(--fg); border: 1px solid var(--line); border-radius: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { position: sticky; top: 0; background: var(--bg); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.failed td:first-child { box-shadow: inset 4px 0 var(--fail); } tr.regressed td.delta { color: var(--fail); font-weight: 600; }
details summary { cursor: pointer; }
.warnings { border: 1px solid var(--warn); border-radius: 6px; padding: 8px 12px; }
.warnings li { font-family: ui-monospace, monospace; font-size: 0.85rem; }
@media print {
  body { background: #fff; color: #000; font-size: 11pt; } main { max-width: none; padding: 0; }
  nav, fieldset, .diff-picker, .no-print { display: none !important; }
  section.spec { break-before: page; } figure, tr, pre { break-inside: avoid; }
  svg.chart { background: #fff; } th { position: static; }
}
`

/** Case filters (all, failures, regressions, text) and the diff picker; the page works without it, unfiltered. */
export const pageScript = `
for (const form of document.querySelectorAll('form[data-cases]')) {
  const table = document.getElementById(form.dataset.cases);
  const status = form.querySelector('output');
  const rows = [...table.tBodies[0].rows];
  const apply = () => {
    const mode = form.elements.show.value;
    const query = form.elements.q.value.trim().toLowerCase();
    let shown = 0;
    for (const row of rows) {
      const visible = (mode === 'all' || row.dataset[mode] === 'true') && (query === '' || row.textContent.toLowerCase().includes(query));
      row.hidden = !visible;
      if (visible) shown++;
    }
    status.value = shown + ' of ' + rows.length + ' cases shown';
  };
  form.addEventListener('input', apply);
  form.addEventListener('submit', (event) => event.preventDefault());
  apply();
}
for (const picker of document.querySelectorAll('[data-diff]')) {
  const from = picker.querySelector('select[name=from]');
  const to = picker.querySelector('select[name=to]');
  const panes = [...picker.querySelectorAll('[data-pair]')];
  const note = picker.querySelector('.diff-note');
  const apply = () => {
    const a = Math.min(from.selectedIndex, to.selectedIndex), b = Math.max(from.selectedIndex, to.selectedIndex);
    const key = from.options[a].value + '..' + to.options[b].value;
    let found = false;
    for (const pane of panes) { pane.hidden = pane.dataset.pair !== key; found ||= !pane.hidden; }
    note.textContent = a === b ? 'The same version on both sides.' : found ? '' : 'This pair is not in the page: pick neighbouring versions, or one against the newest.';
  };
  from.addEventListener('change', apply);
  to.addEventListener('change', apply);
  apply();
}
`
