// The report page at scale: 10 specs × 1,000 cases of synthetic snapshots (tape, traces, history,
// checkpoints, an optimize run) and a learn-report.json, in a temporary folder. Times building the
// page (load, validate, build, render, write) against a baseline measured in the same run: reading
// and JSON-parsing the same files. Run with `npx tsx bench/report.ts`.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { LearnCheckpoint, LearnHistoryLine, LearnOptimizeRun, LearnReport, LearnReportSpec, LearnTape, LearnTraceLine } from '../src/formats/types.generated.js'
import { writeReportPage } from '../src/report/page/index.js'

const specCount = 10
const caseCount = 1000
const rounds = 5

const hex = (value: number, length = 16) => value.toString(16).padStart(length, '0')
const date = (day: number) => new Date(Date.UTC(2026, 0, 1 + day)).toISOString()
const score = (spec: number, index: number) => ((index * 7 + spec) % 10) / 10

function tape(name: string, spec: number): LearnTape {
  const entries: LearnTape['entries'] = Array.from({ length: caseCount }, (_, index) =>
    (['student', 'judge'] as const).map((role, at): LearnTape['entries'][number] => ({
      key: `${hex(spec * 1e6 + index * 2 + at)}#0`,
      case: hex(index, 12),
      role,
      request: { provider: 'openai', model: role === 'student' ? 'gpt-4o-mini' : 'gpt-4o', modelConfig: {}, messages: [{ role: 'system', text: 'aaaaaaaaaaaaaaaa' }, { role: 'user', content: `Ticket ${index}: the parcel has not arrived.` }], functions: [], stream: false },
      response: { kind: 'chat' as const, chat: { results: [{ index: 0, content: role === 'student' ? `Reply ${index}: we are checking.` : `score: ${score(spec, index)}\nreasons: fine` }] } },
      costUsd: 0.0001,
      latencyMs: 100,
    })),
  ).flat()
  return { format: 2, spec: name, texts: { aaaaaaaaaaaaaaaa: ['You are a support agent.', 'Reply politely.'] }, entries }
}

const trace = (name: string, spec: number, index: number): LearnTraceLine => ({
  type: 'trace',
  id: hex(index, 12),
  name,
  input: { ticket: `Ticket ${index}: the parcel has not arrived.` },
  output: { reply: `Reply ${index}: we are checking.` },
  startTime: date(30),
  endTime: date(30),
  durationMs: 100,
  model: 'gpt-4o-mini',
  case: hex(index, 12),
  sample: 0,
  score: score(spec, index),
  scores: { judge: score(spec, index) },
  reasons: index % 3 === 0 ? 'Misses the next step.' : 'Meets every requirement.',
})

const history = (day: number): LearnHistoryLine => ({
  date: date(day), mode: 'missing', mean: 0.45, interval: [0.43, 0.47], n: caseCount, cases: caseCount, samples: 1, judgeSamples: 1, scorers: { judge: 0.45 }, threshold: 0.4, pass: true, live: 10, usd: 0.1,
})

function checkpoint(name: string, version: number, spec: number): LearnCheckpoint {
  const scores = Object.fromEntries(Array.from({ length: caseCount }, (_, index) => [hex(index, 12), score(spec, index + version)]))
  return { format: 1, name, version, parent: version > 1 ? version - 1 : null, created: date(version), program: { instruction: `Reply politely. Rule ${version}: say what you will check.`.repeat(3) }, baseline: { mean: 0.45, scores } }
}

function optimizeRun(name: string): LearnOptimizeRun {
  const candidates = Array.from({ length: 60 }, (_, id) => ({ id, parent: id === 0 ? null : Math.floor((id - 1) / 3), round: Math.ceil(id / 3), origin: id === 0 ? ('start' as const) : ('proposal' as const), instruction: `Candidate ${id}`, estimate: 0.4 + (id % 7) / 20, kept: id % 2 === 0, final: id === 58, calls: id * 20, usd: id * 0.01 }))
  return { format: 1, spec: name, started: date(3), finished: date(3), budget: 20, decision: 'written', version: 3, previousVersion: 2, stoppedBy: 'budget', comparison: { n: 100, meanBefore: 0.4, meanAfter: 0.45, delta: 0.05, interval: [0.01, 0.09], winProbability: 0.99 }, cost: { calls: 1200, tokens: 900000, usd: 0.6 }, candidates }
}

function reportSpec(name: string, spec: number): LearnReportSpec {
  return {
    name, file: `specs/${name}.learn.ts`, pass: true, record: 'none', mean: 0.45, interval: [0.43, 0.47], scored: caseCount, total: caseCount, samples: 1, judgeSamples: 1, scorers: { judge: 0.45 }, threshold: { value: 0.4, pass: true },
    regression: { verdict: 'pass', pass: true, tolerance: 0.05, baseline: { label: 'checkpoint v3', mean: 0.45 }, delta: 0, interval: [-0.01, 0.01], n: caseCount, drops: [], warnings: [] },
    cost: { usd: 0, tokens: 0, live: 0, replayed: caseCount * 2 },
    cases: Array.from({ length: caseCount }, (_, index) => ({ id: hex(index, 12), name: `Ticket ${index}`, state: 'passed' as const, score: score(spec, index), scorers: { judge: score(spec, index) }, reasons: 'Meets every requirement.' })),
  }
}

async function generate(root: string): Promise<void> {
  const specs: LearnReportSpec[] = []
  for (let spec = 0; spec < specCount; spec++) {
    const name = `bench-spec-${spec}`
    const folder = join(root, 'snapshots', name)
    await mkdir(join(folder, 'checkpoints'), { recursive: true })
    await mkdir(join(folder, 'optimize-runs'))
    await writeFile(join(folder, 'tape.json'), JSON.stringify(tape(name, spec), null, 2))
    await writeFile(join(folder, 'traces.jsonl'), Array.from({ length: caseCount }, (_, index) => JSON.stringify(trace(name, spec, index))).join('\n') + '\n')
    await writeFile(join(folder, 'history.jsonl'), Array.from({ length: 30 }, (_, day) => JSON.stringify(history(day))).join('\n') + '\n')
    for (const version of [1, 2, 3]) await writeFile(join(folder, 'checkpoints', `v${version}.json`), JSON.stringify(checkpoint(name, version, spec), null, 2))
    await writeFile(join(folder, 'checkpoint.json'), JSON.stringify(checkpoint(name, 3, spec), null, 2))
    await writeFile(join(folder, 'optimize-runs', `${date(3).replace(/:/g, '-')}.json`), JSON.stringify(optimizeRun(name), null, 2))
    specs.push(reportSpec(name, spec))
  }
  const report: LearnReport = { format: 1, created: date(31), specs }
  await writeFile(join(root, 'learn-report.json'), JSON.stringify(report, null, 2))
}

/** The baseline: read and JSON-parse every file the page reads (JSON lines line by line). */
async function readAndParse(root: string): Promise<number> {
  let count = 0
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  for (const entry of entries) {
    if (!entry.isFile() || !/\.jsonl?$/.test(entry.name) || entry.parentPath.endsWith('learn-report')) continue
    const text = await readFile(join(entry.parentPath, entry.name), 'utf8')
    if (entry.name.endsWith('.jsonl')) for (const line of text.split('\n')) line && (JSON.parse(line), count++)
    else (JSON.parse(text), count++)
  }
  return count
}

async function time(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await run()
  return performance.now() - started
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const root = await mkdtemp(join(tmpdir(), 'vitest-learn-bench-report-'))
try {
  await generate(root)
  const out = join(root, 'learn-report')
  const page: number[] = []
  const baseline: number[] = []
  let size = 0
  // Alternating, after one warm-up of each.
  await readAndParse(root)
  await writeReportPage({ root, outDir: out })
  for (let round = 0; round < rounds; round++) {
    baseline.push(await time(() => readAndParse(root)))
    let written: Awaited<ReturnType<typeof writeReportPage>> | undefined
    page.push(await time(async () => void (written = await writeReportPage({ root, outDir: out }))))
    if (written!.model.warnings.length > 0) throw new Error(`unexpected warnings: ${JSON.stringify(written!.model.warnings.slice(0, 3))}`)
    size = (await readFile(written!.file)).length
  }
  const pageMs = median(page)
  const baselineMs = median(baseline)
  console.log(`report page, ${specCount} specs × ${caseCount} cases: median of ${rounds}`)
  console.log(`  build the page (load, validate, build, render, write): ${pageMs.toFixed(0)} ms  (runs: ${page.map((value) => value.toFixed(0)).join(', ')})`)
  console.log(`  baseline, read + JSON.parse the same files:            ${baselineMs.toFixed(0)} ms  (runs: ${baseline.map((value) => value.toFixed(0)).join(', ')})`)
  console.log(`  ratio page / baseline: ${(pageMs / baselineMs).toFixed(2)}x · page size ${(size / 1024 / 1024).toFixed(1)} MiB · target under 1 s: ${pageMs < 1000 ? 'met' : 'missed'}`)
} finally {
  await rm(root, { recursive: true, force: true })
}
