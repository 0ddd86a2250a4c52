// Phase three of the report page: renders the model (model.ts) as one self-contained HTML document.
// Every text from a file is escaped here (escape.ts); styles and script are inline; nothing is loaded.
import { costChart, historyChart, roundsChart } from './charts.js'
import { versionDiffs, type SideBySide, type VersionDiff } from './diff.js'
import { signed } from '../../stats.js'
import { escapeHtml as esc } from './escape.js'
import type { CaseRow, OptimizeRunView, ReportModel, SpecVerdict, SpecView } from './model.js'
import { pageScript, pageStyle } from './style.js'

const score = (value: number | undefined) => (value === undefined ? '—' : value.toFixed(3))
const interval = (range: readonly [number, number]) => `${range[0].toFixed(3)}..${range[1].toFixed(3)}`
const usd = (value: number) => `$${value.toFixed(4)}`
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`

/** How old a date was when the page was made: `3 d`, `5 h`, `12 min`. */
function age(date: string, now: string): string {
  const minutes = Math.max(0, (Date.parse(now) - Date.parse(date)) / 60_000)
  if (!Number.isFinite(minutes)) return 'unknown age'
  if (minutes < 60) return `${Math.round(minutes)} min old`
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h old`
  return `${Math.round(minutes / 1440)} d old`
}

function summary(verdict: SpecVerdict): string {
  const items: [string, string][] = [
    ['mean (95% CI)', `${score(verdict.mean)} (${interval(verdict.interval)})`],
    ['threshold', String(verdict.threshold)],
    ['baseline', verdict.baseline ? `${score(verdict.baseline.mean)} (${verdict.baseline.label})` : 'none'],
    ['Δ vs baseline (95% CI)', verdict.delta === undefined ? '—' : `${signed(verdict.delta)}${verdict.deltaInterval ? ` (${interval(verdict.deltaInterval)})` : ''}`],
    ['cost', `${usd(verdict.cost.usd)}${verdict.cost.tokens !== undefined ? ` · ${verdict.cost.tokens} tokens` : ''}`],
    ['calls', `${verdict.cost.live} live${verdict.cost.replayed !== undefined ? ` · ${verdict.cost.replayed} replayed` : ''}`],
  ]
  const source = verdict.source === 'report' ? 'from the last learn-report.json' : 'from the newest line of history.jsonl'
  return `<dl class="summary" aria-label="verdict ${esc(source)}">${items.map(([term, value]) => `<div><dt>${esc(term)}</dt><dd>${esc(value)}</dd></div>`).join('')}</dl>`
}

function historySection(spec: SpecView): string {
  if (spec.history.length === 0) return `<h3>Score history</h3><p class="muted">No recorded runs or checkpoints yet.</p>`
  return `<h3>Score history</h3><figure class="history">${historyChart(spec)}<figcaption>Mean score of each recorded run (history.jsonl) with its 95% interval, checkpoint baselines (purple) and the last run of learn-report.json (ring); the dashed line is the threshold. Hover a point for its date and values.</figcaption></figure>`
}

const candidateLegend = `<p class="legend"><span><span class="swatch" style="background:var(--pass)"></span>accepted path</span><span><span class="swatch" style="background:var(--warn)"></span>kept</span><span><span class="swatch" style="background:var(--muted)"></span>discarded</span><span>dashed: held-out mean before and after</span></p>`

function runSection(run: OptimizeRunView): string {
  const outcome = run.decision === 'written' ? `wrote v${run.version ?? '?'}` : `kept ${run.previousVersion ? `v${run.previousVersion}` : 'the seed'}`
  const { comparison: c } = run
  const rounds = Math.max(0, ...run.candidates.map((candidate) => candidate.round))
  return [
    `<article class="run"><h4>${esc(run.started.replace('T', ' ').slice(0, 19))} — ${esc(outcome)}</h4>`,
    `<p>Held-out ${score(c.meanBefore)} → ${score(c.meanAfter)} (${signed(c.delta)}, 95% CI ${interval(c.interval)}, n=${c.n}), P(better) ${c.winProbability.toFixed(2)} · ${plural(run.candidates.length, 'candidate')} over ${rounds}/${run.budget} rounds · stopped by ${esc(run.stoppedBy)} · ${run.cost.calls} live calls, ${run.cost.tokens} tokens, ${usd(run.cost.usd)} · <span class="mono muted">${esc(run.file)}</span></p>`,
    `<div class="charts"><figure>${roundsChart(run)}<figcaption>Judged score of every candidate by round.</figcaption></figure><figure>${costChart(run)}<figcaption>The same candidates by the run's spend when each was judged.</figcaption></figure></div>`,
    candidateLegend,
    '</article>',
  ].join('')
}

function runsSection(spec: SpecView): string {
  if (spec.runs.length === 0) return ''
  return `<h3>Optimize runs</h3>${spec.runs.map(runSection).join('')}`
}

const segments = (side: SideBySide['left'], mark: 'del' | 'ins') => side.map((part) => (part.changed ? `<${mark}>${esc(part.text)}</${mark}>` : esc(part.text))).join('')

function diffPane(diff: VersionDiff, shown: boolean): string {
  const block = (title: string, value: SideBySide) =>
    value.same && value.left.every((part) => part.text === '')
      ? ''
      : `<div class="diff-grid"><div><h4>${esc(title)} · ${esc(diff.from)}</h4><pre>${segments(value.left, 'del')}</pre></div><div><h4>${esc(title)} · ${esc(diff.to)}</h4><pre>${segments(value.right, 'ins')}</pre></div></div>`
  const same = diff.instruction.same && diff.demos.same ? '<p class="muted">The two versions are the same.</p>' : ''
  return `<div class="diff" data-pair="${esc(`${diff.from}..${diff.to}`)}"${shown ? '' : ' hidden'}>${same}${block('instruction', diff.instruction)}${block('demos', diff.demos)}</div>`
}

function diffSection(spec: SpecView, index: number): string {
  const { versions } = spec
  if (versions.length === 0) return ''
  if (versions.length === 1)
    return `<h3>Prompt</h3><p class="muted">One version (${esc(versions[0]!.label)}); a diff needs two. The seed shows once an optimize run started from it.</p><pre>${esc(versions[0]!.instruction)}</pre>`
  const diffs = versionDiffs(versions)
  const last = versions.length - 1
  const options = (selected: number) => versions.map((version, at) => `<option value="${esc(version.label)}"${at === selected ? ' selected' : ''}>${esc(version.label)}${version.created ? ` (${esc(version.created.slice(0, 10))})` : ''}</option>`).join('')
  const id = `diff-${index}`
  return [
    `<h3>Prompt diff</h3><div class="diff-box" data-diff>`,
    `<div class="diff-picker"><label for="${id}-from">from</label> <select id="${id}-from" name="from">${options(last - 1)}</select> <label for="${id}-to">to</label> <select id="${id}-to" name="to">${options(last)}</select> <span class="diff-note muted" role="status"></span></div>`,
    diffs.map((diff) => diffPane(diff, diff.from === versions[last - 1]!.label && diff.to === versions[last]!.label)).join(''),
    '</div>',
  ].join('')
}

function recordingCell(row: CaseRow, now: string): string {
  const models = [row.models.student, row.models.judge && `judge ${row.models.judge}`].filter(Boolean).join(' · ')
  const when = row.traced ? `last recording run ${row.traced.slice(0, 10)}, ${age(row.traced, now)}` : 'no recording'
  return `${esc(models || '—')}<br><span class="muted">${esc(when)}</span>`
}

function caseRowHtml(row: CaseRow, now: string): string {
  const delta = row.score !== undefined && row.baseline !== undefined ? signed(row.score - row.baseline) : '—'
  const scorers = Object.entries(row.scorers).map(([name, value]) => `${esc(name)} ${score(value)}`).join('<br>') || '—'
  const classes = [row.failed ? 'failed' : '', row.regressed ? 'regressed' : ''].filter(Boolean).join(' ')
  const details = [
    row.input ? `<h4>input</h4><pre>${esc(row.input)}</pre>` : '',
    row.output ? `<h4>output (first reply of ${row.samples})</h4><pre>${esc(row.output)}</pre>` : '',
    row.reasons ? `<h4>judge reasons</h4><pre>${esc(row.reasons)}</pre>` : '',
    row.error ? `<h4>error</h4><pre>${esc(row.error)}</pre>` : '',
  ].join('')
  const state = row.state ? `<br><span class="muted">${esc(row.state)}</span>` : ''
  return [
    `<tr${classes ? ` class="${classes}"` : ''} data-failures="${row.failed}" data-regressions="${row.regressed}">`,
    `<td><details><summary>${esc(row.name.length > 120 ? `${row.name.slice(0, 117)}…` : row.name)}</summary>${details}</details><span class="mono muted">${esc(row.id)}</span>${state}</td>`,
    `<td class="num">${score(row.score)}</td><td class="num">${score(row.baseline)}</td><td class="num delta">${delta}</td>`,
    `<td class="num">${scorers}</td><td>${row.reasons ? esc(row.reasons.length > 160 ? `${row.reasons.slice(0, 157)}…` : row.reasons) : '—'}</td><td>${recordingCell(row, now)}</td></tr>`,
  ].join('')
}

function casesSection(spec: SpecView, index: number, now: string): string {
  if (spec.cases.length === 0) return `<h3>Cases</h3><p class="muted">No cases recorded.</p>`
  const id = `cases-${index}`
  const failures = spec.cases.filter((row) => row.failed).length
  const regressions = spec.cases.filter((row) => row.regressed).length
  const radio = (value: string, label: string, checked = false) =>
    `<label><input type="radio" name="show" value="${value}"${checked ? ' checked' : ''}> ${esc(label)}</label>`
  return [
    `<h3>Cases</h3>`,
    `<form data-cases="${id}" aria-controls="${id}"><fieldset><legend>Show</legend>`,
    radio('all', `all (${spec.cases.length})`, true),
    radio('failures', `failures (${failures})`),
    radio('regressions', `regressions vs baseline (${regressions})`),
    `<label>search <input type="search" name="q" placeholder="text in any column"></label><output aria-live="polite"></output></fieldset></form>`,
    `<table id="${id}" class="cases"><caption class="muted">Failures: failed, or scored under the threshold. Regressions: scored under the checkpoint baseline. Open a case for its input, output and reasons.</caption>`,
    `<thead><tr><th scope="col">case</th><th scope="col">score</th><th scope="col">baseline</th><th scope="col">Δ</th><th scope="col">scorers</th><th scope="col">judge reasons</th><th scope="col">recording</th></tr></thead>`,
    `<tbody>${spec.cases.map((row) => caseRowHtml(row, now)).join('')}</tbody></table>`,
  ].join('')
}

function specSection(spec: SpecView, index: number, now: string): string {
  const badge = spec.verdict ? ` <span class="badge ${spec.verdict.verdict}">${spec.verdict.verdict}</span>` : ''
  return [
    `<section class="spec" id="spec-${index}" aria-labelledby="spec-${index}-title">`,
    `<h2 id="spec-${index}-title">${esc(spec.name)}${badge}</h2>`,
    spec.current ? `<p class="muted">current checkpoint ${esc(spec.current)}</p>` : '<p class="muted">no checkpoint: the spec runs its seed instruction</p>',
    spec.verdict ? summary(spec.verdict) : '',
    historySection(spec),
    runsSection(spec),
    diffSection(spec, index),
    casesSection(spec, index, now),
    '</section>',
  ].join('')
}

function warningsSection(model: ReportModel): string {
  if (model.warnings.length === 0) return ''
  return `<section class="warnings" aria-label="warnings"><h2>Skipped ${plural(model.warnings.length, 'file or line')}</h2><ul>${model.warnings.map((warning) => `<li>${esc(warning.file)}: ${esc(warning.message)}</li>`).join('')}</ul></section>`
}

/** The whole page. */
export function renderPage(model: ReportModel): string {
  const source = model.report ? `${esc(model.report.file)} (${esc(model.report.created)})` : 'no learn-report.json: verdicts from history.jsonl'
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    `<title>vitest-learn report</title><style>${pageStyle}</style></head><body><main>`,
    `<header><h1>vitest-learn report</h1><p class="muted">Made ${esc(model.created)} · ${plural(model.specs.length, 'spec')} · last run: ${source}</p></header>`,
    warningsSection(model),
    model.specs.length > 1 ? `<nav aria-label="specs"><ul>${model.specs.map((spec, index) => `<li><a href="#spec-${index}">${esc(spec.name)}</a></li>`).join('')}</ul></nav>` : '',
    model.specs.length === 0 ? '<p>No specs found: run the tests first (snapshots/ is empty).</p>' : '',
    model.specs.map((spec, index) => specSection(spec, index, model.created)).join(''),
    `</main><script>${pageScript}</script></body></html>\n`,
  ].join('')
}
