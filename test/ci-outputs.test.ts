// Real Vitest runs of a judged spec with two samples per case, against a scripted provider whose
// quality the test lowers: what a CI job sees (GitHub annotations and step summary, JUnit
// properties, JSON on stdout, learn-report.json, history.jsonl), --record=live, --baseline-ref, and
// a sharded run merged against an unsharded one.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LearnHistoryLine, LearnReport } from '../src/formats/types.generated.js'
import { assertFormat } from '../src/formats/validate.js'
import { startModelServer, type ModelServer, type ScriptedCall } from './support/model-server.js'
import { createProject, type TempProject } from './support/project.js'

const queries = Array.from({ length: 8 }, (_, index) => `Question number ${index + 1} about my order?`)

const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'

const model = (name) => ({ name: 'openai', apiKey: 'sk-ci-outputs-key', apiURL: process.env.LEARN_API_URL, config: { model: name } })
export default defineConfig({ plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o') })] })
`

const spec = (name: string) => `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: '${name}',
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: 'Reply politely.',
  cases: [
${queries.map((query) => `    { input: { customer_query: ${JSON.stringify(query)} } },`).join('\n')}
  ],
  judge: 'Polite and gives a next step.',
  metrics: { short: ({ prediction }) => (prediction.polite_reply.length < 200 ? 1 : 0) },
  threshold: 0.5,
  samples: 2,
})
`

/** Lowered, the first half of the cases get poor replies, which the judge marks down. */
let degraded = false
const asked = new Map<string, number>()

/** Replies 0.9 ± 0.05 (alternating, so each case's two samples differ); 0.4 for a poor reply. */
function script(call: ScriptedCall): Record<string, unknown> {
  if (call.outputs.includes('score')) {
    const poor = call.user.includes('(poor)')
    const seen = asked.get(call.user) ?? 0
    asked.set(call.user, seen + 1)
    return { score: poor ? 0.4 : seen % 2 === 0 ? 0.95 : 0.85, reasons: poor ? 'No next step given.' : 'Polite; next step given.' }
  }
  const query = call.inputs.customer_query ?? ''
  const poor = degraded && queries.indexOf(query) < queries.length / 2
  return { polite_reply: `Thank you for writing about "${query}".${poor ? ' (poor)' : ' Reply to this email for help.'}` }
}

const lineOf = (source: string, text: string) => source.split('\n').findIndex((line) => line.includes(text)) + 1

describe('what CI sees of a gated spec', () => {
  let server: ModelServer
  let project: TempProject
  const env = () => ({ LEARN_API_URL: server.url })
  const git = (...args: string[]) => execFileSync('git', args, { cwd: project.dir, encoding: 'utf8' })
  const readJson = async <T>(path: string): Promise<T> => JSON.parse(await project.read(path)) as T
  const history = async () =>
    (await project.read('snapshots/support/history.jsonl'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LearnHistoryLine)

  beforeAll(async () => {
    server = await startModelServer({ script })
    project = await createProject({ 'vitest.config.ts': config, 'support.learn.ts': spec('support'), '.gitignore': 'node_modules\n' })
    git('init', '--quiet')
    git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'start')
  })
  afterAll(async () => {
    await server?.close()
    await project?.remove()
  })

  it('records and accepts a baseline with the spec’s samples, and writes the run to history.jsonl', async () => {
    const run = await project.learn(['run', '--accept'], { env: env() })
    expect(run.code, run.output).toBe(0)
    expect(run.output).toContain('checkpoint v1')
    const checkpoint = await readJson<{ baseline: { samples: number; scores: Record<string, number> } }>('snapshots/support/checkpoint.json')
    expect(checkpoint.baseline.samples).toBe(2)
    expect(Object.values(checkpoint.baseline.scores)).toEqual(Array.from({ length: 8 }, () => 0.95)) // judge 0.9, `short` 1
    const [line] = await history()
    expect(line).toMatchObject({ mode: 'missing', n: 8, cases: 8, samples: 2, judgeSamples: 1, pass: true, live: 32 })
    expect(line!.commit).toBe(git('rev-parse', 'HEAD').trim())
    expect(line!.mean).toBeCloseTo(0.95, 5) // judge 0.9 and the `short` metric 1
    expect(line!.scorers).toEqual({ short: 1, judge: 0.9 })
    const traces = (await project.read('snapshots/support/traces.jsonl')).trim().split('\n').map((text) => JSON.parse(text))
    expect(traces).toHaveLength(16)
    expect(traces.slice(0, 2).map((trace) => [trace.id.replace(/^[0-9a-f]+/, '<case>'), trace.sample, trace.scores])).toEqual([
      ['<case>', 0, { short: 1, judge: 0.95 }],
      ['<case>#1', 1, { short: 1, judge: 0.85 }],
    ])
    git('add', '-A')
    git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '-m', 'baseline')
  })

  it('fails a regressed re-recording with GitHub annotations, a step summary, JSON on stdout and learn-report.json', async () => {
    degraded = true
    const reporters = ['--reporter=json', '--outputFile.learn=learn-report.json']
    const summaryFile = `${project.dir}/step-summary.md`
    await project.write('bad.learn.ts', spec('bad').replace('threshold: 0.5', 'threshold: 2'))
    const run = await project.vitest(['-u', ...reporters], {
      env: { ...env(), GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summaryFile, GITHUB_WORKSPACE: project.dir },
    })
    await rm(`${project.dir}/bad.learn.ts`)
    expect(run.code, run.output).toBe(1)

    // stdout is the JSON report alone; the summary and the annotations went to stderr.
    const json = JSON.parse(run.stdout) as { testResults: { name: string; assertionResults: { title: string; status: string }[] }[] }
    const results = json.testResults.find((file) => file.name.endsWith('support.learn.ts'))!
    const statuses = Object.fromEntries(results.assertionResults.map((test) => [test.title, test.status]))
    expect(statuses).toMatchObject({ 'threshold: mean score >= 0.5': 'passed', 'regression: drop <= 0.05 vs baseline': 'failed' })
    expect(run.stderr).toContain('vitest-learn')

    const source = await project.read('support.learn.ts')
    const annotations = [...run.stderr.matchAll(/^::(error|warning) file=([^,]+),line=(\d+),title=([^:]+)::(.*)$/gm)].map((match) => ({
      level: match[1],
      file: match[2],
      line: Number(match[3]),
      title: decodeURIComponent(match[4]!),
      message: decodeURIComponent(match[5]!),
    }))
    const regressed = annotations.filter((annotation) => annotation.title === 'vitest-learn support: regressed case')
    expect(regressed.map((annotation) => annotation.line).sort()).toEqual([1, 2, 3].map((index) => lineOf(source, queries[index - 1]!)).sort())
    expect(regressed.every((annotation) => annotation.level === 'error' && annotation.file === 'support.learn.ts')).toBe(true)
    expect(regressed[0]!.message).toMatch(/: 0\.95 → 0\.70: No next step given\./)
    expect(annotations).toContainEqual(expect.objectContaining({ level: 'error', file: 'bad.learn.ts', title: 'vitest-learn: spec did not load' }))
    expect(annotations.find((annotation) => annotation.file === 'bad.learn.ts')!.message).toContain('threshold: must be a number from 0 to 1, got 2')
    const summary = annotations.find((annotation) => annotation.title === 'vitest-learn support: regressed')!
    expect(summary.line).toBe(lineOf(source, 'export default'))
    expect(summary.message).toMatch(/^regressed against checkpoint v1: 0\.950 → 0\.825 .*; the chance that noise alone dropped it this far: /)

    const stepSummary = await readFile(summaryFile, 'utf8')
    expect(stepSummary).toContain('| spec | mean ± 95% CI (cases×samples) | baseline | Δ | verdict | catches drops ≥ | cost |')
    expect(stepSummary).toMatch(/\| `support` \| 0\.825 ± 0\.\d{3} \(8×2\) \| 0\.950 \(checkpoint v1\) \| −0\.125 \| ❌ regressed \| 0\.\d{3}/)
    expect(stepSummary).toContain('| {"customer_query":"Question number 1 about my order?"} | 0.95 → 0.70 | No next step given. |')

    const report = await readJson<LearnReport>('learn-report.json')
    assertFormat('report', report, 'learn-report.json', '')
    const [entry] = report.specs
    expect(entry).toMatchObject({ name: 'support', file: 'support.learn.ts', pass: false, record: 'all', samples: 2, scored: 8, total: 8 })
    expect(entry!.regression).toMatchObject({ verdict: 'regressed', pass: false, tolerance: 0.05, baseline: { label: 'checkpoint v1', mean: 0.95 }, delta: -0.125 })
    expect(entry!.regression.drops[0]).toMatchObject({ before: 0.95, after: 0.7, line: lineOf(source, queries[0]!) })
    expect(entry!.scorers).toEqual({ short: 1, judge: 0.65 })
    expect(entry!.cases[0]).toMatchObject({ state: 'passed', score: 0.7, samples: [0.7, 0.7], scorers: { short: 1, judge: 0.4 } })

    const lines = await history()
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatchObject({ mode: 'all', regression: { verdict: 'regressed', baseline: 'checkpoint v1', delta: -0.125 } })
  })

  it('calls the models for everything under --record=live and writes nothing but its JUnit report, with each case’s scores', async () => {
    const files = ['tape.json', 'traces.jsonl', 'history.jsonl', 'checkpoint.json']
    const before = await Promise.all(files.map((file) => project.read(`snapshots/support/${file}`)))
    server.reset()
    const run = await project.learn(['run', '--record=live', '--reporter=default', '--reporter=junit', '--outputFile.junit=junit.xml'], { env: env() })
    expect(run.code).toBe(1) // still regressed
    expect(server.requests).toBe(32)
    expect(run.output).toContain('every call made live (--record=live); nothing was written')
    expect(await Promise.all(files.map((file) => project.read(`snapshots/support/${file}`)))).toEqual(before)

    const junit = await project.read('junit.xml')
    const properties = [...junit.matchAll(/<property name="([^"]+)" value="([^"]+)">/g)].map((match) => [match[1], match[2]])
    expect(properties.filter(([name]) => name === 'score').map(([, value]) => value).sort()).toEqual([...Array(4).fill('0.700'), ...Array(4).fill('0.950')])
    expect(properties.filter(([name]) => name === 'score.judge')).toHaveLength(8)
    expect(properties.filter(([name]) => name === 'score.short')).toHaveLength(8)
  })

  it('holds a pull request that accepts its own drop to the baseline at --baseline-ref', async () => {
    const accepted = await project.learn(['run', '--accept'], { ci: true })
    expect(accepted.code, accepted.output).toBe(0)
    expect(accepted.output).toContain('checkpoint v2')
    const againstMain = await project.learn(['run', '--baseline-ref=HEAD'], { ci: true })
    expect(againstMain.code).toBe(1)
    expect(againstMain.output).toMatch(/regressed against checkpoint v1 at HEAD \([0-9a-f]{7}\): 0\.950 → 0\.825/)
    const unknown = await project.learn(['run', '--baseline-ref', 'origin/nowhere'], { ci: true })
    expect(unknown.code).toBe(1)
    expect(unknown.output).toContain('--baseline-ref origin/nowhere:')
    expect(unknown.output).toContain('fetch-depth: 0')
  })
})

describe('shards', () => {
  let project: TempProject
  let server: ModelServer

  beforeAll(async () => {
    degraded = false
    server = await startModelServer({ script })
    project = await createProject({ 'vitest.config.ts': config, 'support.learn.ts': spec('support'), 'other.learn.ts': spec('other') })
    const recorded = await project.vitest([], { env: { LEARN_API_URL: server.url } })
    expect(recorded.code, recorded.output).toBe(0)
  })
  afterAll(async () => {
    await server?.close()
    await project?.remove()
  })

  it('give the same verdicts merged as one unsharded run, and leave GitHub output to the merge', async () => {
    const single = await project.vitest(['--outputFile.learn=single.json'], { ci: true })
    expect(single.code, single.output).toBe(0)
    const summaryFile = `${project.dir}/step-summary.md`
    const actions = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summaryFile, GITHUB_WORKSPACE: project.dir }
    for (const shard of ['1/2', '2/2']) {
      const run = await project.vitest([`--shard=${shard}`, '--reporter=default', '--reporter=blob'], { ci: true, env: actions })
      expect(run.code, run.output).toBe(0)
    }
    expect(existsSync(summaryFile)).toBe(false)
    const merged = await project.vitest(['--merge-reports', '--outputFile.learn=merged.json'], { ci: true, env: actions })
    expect(merged.code, merged.output).toBe(0)
    const verdicts = async (file: string) => (JSON.parse(await project.read(file)) as LearnReport).specs
    const fromShards = await verdicts('merged.json')
    expect(fromShards.map((spec) => spec.name)).toEqual(['other', 'support'])
    expect(fromShards).toEqual(await verdicts('single.json'))
    expect(merged.output).toMatch(/other\s+8\/8×2\s+0\.950/)
    expect((await readFile(summaryFile, 'utf8')).match(/^\| `(other|support)` \| 0\.950 .* ✅ pass \(no baseline\) \|/gm)).toHaveLength(2)
  })
})
