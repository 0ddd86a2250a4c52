// Gate trust: how often the regression check fails a spec that did not change (false alarms), and
// how often it catches a true drop, on the noisy-support world (test/worlds/noisy-support.ts: 16
// judged cases, a student sampled at a temperature, a noisy judge). Each trial is real Vitest runs
// of the built package in a temporary project: record and `--accept` a baseline, then re-record
// (`-u`) once per true drop, each against fresh noise, and read the verdict from learn-report.json.
// With --in-process the same trials run through the library's session alone (no Vitest): the same
// code paths but the plugin's, about 3 times faster, for exploring settings.
// Run: npm run bench:gate-trust -- --trials 50 --samples 1,3 --drops 0,0.1,0.2
import { execFileSync } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { LearnReport } from '../src/formats/types.generated.js'
import { startModelServer, type ModelServer } from '../test/support/model-server.js'
import { createProject, repoRoot, type TempProject } from '../test/support/project.js'
import { gateTrial, runSeed, type TrialOutcome } from '../test/worlds/gate-trial.js'
import { createScript, NAME, specSource } from '../test/worlds/noisy-support.js'

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '50' },
    samples: { type: 'string', default: '1,3' },
    'judge-samples': { type: 'string', default: '1' },
    drops: { type: 'string', default: '0,0.1,0.2' },
    parallel: { type: 'string', default: '2' },
    'first-seed': { type: 'string', default: '1' },
    'in-process': { type: 'boolean', default: false },
  },
})
const list = (text: string) => text.split(',').map(Number)
const trials = Number(args.trials)
const sampleCounts = list(args.samples)
const judgeSamples = Number(args['judge-samples'])
const drops = list(args.drops)
const parallel = Number(args.parallel)
const firstSeed = Number(args['first-seed'])
for (const value of [trials, parallel, judgeSamples, ...sampleCounts])
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`--trials, --parallel, --samples and --judge-samples take whole numbers > 0, got ${value}`)

const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'

const model = (name) => ({ name: 'openai', apiKey: 'bench-key', apiURL: process.env.LEARN_API_URL, config: { model: name } })
export default defineConfig({ plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o') })] })
`

interface Worker {
  server: ModelServer
  project?: TempProject
}

/** One trial as real Vitest runs: `vitest-learn run --accept`, then `vitest run -u` per drop. */
async function vitestTrial(worker: Worker, seed: number, samples: number): Promise<TrialOutcome[]> {
  const project = (worker.project ??= await createProject({ 'vitest.config.ts': config }))
  await rm(`${project.dir}/snapshots`, { recursive: true, force: true })
  await project.write(`${NAME}.learn.ts`, specSource({ samples, judgeSamples }))
  const env = { env: { LEARN_API_URL: worker.server.url } }
  worker.server.setScript(createScript({ seed: runSeed(seed, 0) }))
  const accepted = await project.learn(['run', '--accept'], env)
  if (accepted.code !== 0) throw new Error(`the baseline run failed:\n${accepted.output}`)
  const outcomes: TrialOutcome[] = []
  for (const [index, drop] of drops.entries()) {
    worker.server.setScript(createScript({ seed: runSeed(seed, index + 1), drop }))
    // A run that dies before writing its report must not be scored with the last run's.
    await rm(`${project.dir}/report.json`, { force: true })
    await project.vitest(['-u', '--outputFile.learn=report.json'], env)
    const report = JSON.parse(await project.read('report.json')) as LearnReport
    const { regression } = report.specs[0]!
    outcomes.push({ drop, verdict: regression.verdict, delta: regression.delta ?? 0, ...(regression.detectableDrop !== undefined ? { detectableDrop: regression.detectableDrop } : {}) })
  }
  return outcomes
}

/** Wilson score interval of a rate, in percent. */
function wilson(hits: number, total: number): string {
  const z = 1.96
  const p = hits / total
  const centre = (p + (z * z) / (2 * total)) / (1 + (z * z) / total)
  const half = (z * Math.sqrt((p * (1 - p)) / total + (z * z) / (4 * total * total))) / (1 + (z * z) / total)
  return `${(Math.max(0, centre - half) * 100).toFixed(0)}–${(Math.min(1, centre + half) * 100).toFixed(0)}`
}

const percent = (hits: number, total: number) => `${((hits / total) * 100).toFixed(1)}%`
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length)

if (!args['in-process']) execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' })
const workers: Worker[] = await Promise.all(Array.from({ length: parallel }, async () => ({ server: await startModelServer({}) })))
const started = performance.now()
const rows: string[][] = []
try {
  for (const samples of sampleCounts) {
    const outcomes: TrialOutcome[] = []
    let next = 0
    await Promise.all(
      workers.map(async (worker) => {
        for (let trial = next++; trial < trials; trial = next++) {
          const seed = firstSeed + trial
          const result = args['in-process'] ? await gateTrial({ server: worker.server, seed, samples, judgeSamples, drops }) : await vitestTrial(worker, seed, samples)
          outcomes.push(...result)
          process.stderr.write(`samples ${samples} trial ${trial + 1}/${trials}: ${result.map((outcome) => `${outcome.drop} ${outcome.verdict}`).join(', ')}\n`)
        }
      }),
    )
    for (const drop of drops) {
      const runs = outcomes.filter((outcome) => outcome.drop === drop)
      const count = (verdict: string) => runs.filter((outcome) => outcome.verdict === verdict).length
      rows.push([
        String(samples),
        drop === 0 ? 'none' : `true drop ${drop}`,
        `${percent(count('regressed'), runs.length)} (${wilson(count('regressed'), runs.length)})`,
        percent(count('inconclusive'), runs.length),
        percent(count('regressed') + count('inconclusive'), runs.length),
        mean(runs.map((outcome) => outcome.delta)).toFixed(3),
        mean(runs.flatMap((outcome) => (outcome.detectableDrop === undefined ? [] : [outcome.detectableDrop]))).toFixed(3),
        String(runs.length),
      ])
    }
  }
} finally {
  await Promise.all(workers.map(async (worker) => Promise.all([worker.server.close(), worker.project?.remove()])))
}
const minutes = (performance.now() - started) / 60_000
console.log(`\n${args['in-process'] ? 'in process' : 'real Vitest runs'}, ${trials} trials from seed ${firstSeed}, judgeSamples ${judgeSamples}, ${minutes.toFixed(1)} min`)
console.log('| samples | change | regressed (95% CI) | inconclusive | regressed or inconclusive | mean Δ | stated detectable drop | runs |')
console.log('|---|---|---|---|---|---|---|---|')
for (const row of rows) console.log(`| ${row.join(' | ')} |`)
