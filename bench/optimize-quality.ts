// Optimize quality on the hard scripted worlds (test/worlds/): for each world and seed, the
// project's optimizeSpec and ax's own optimize() (configured as notes/ax.md recommends) at about the
// same number of model requests, and ax at larger multiples of it. Each run has its own model
// server, so requests are counted apart. Quality is the world's true quality of the final
// instruction, computed from its rules (never the judge's mean); lift share is
// (final − seed) / (ceiling − seed).
// For each budget in --budgets (rounds), the project's run, then ax's optimize() at the requests
// that run used; and ax at --ax-multiples of the requests of the largest budget's run.
// Run: npm run bench:optimize-quality -- --seeds 5 --world support-rules --budgets 5,10,20 --ax-multiples 2,4
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { axSerializeOptimizedProgram, optimize, type AxFieldValue, type AxGen, type AxGenOut, type AxMetricFn } from '@ax-llm/ax'
import { hashOf } from '../src/hash.js'
import { resolveModel } from '../src/models/index.js'
import { optimizeSpec } from '../src/optimize/index.js'
import { scoreCase } from '../src/scoring.js'
import type { SomeLearnCase, SomeLearnSpec } from '../src/spec.js'
import { startModelServer, type ModelServer } from '../test/support/model-server.js'
import { worldModels, type SomeWorld } from '../test/worlds/common.js'
import { supportRules } from '../test/worlds/support-rules.js'
import { ticketPriority } from '../test/worlds/ticket-priority.js'

const worlds: SomeWorld[] = [supportRules, ticketPriority]

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5' },
    world: { type: 'string' },
    budgets: { type: 'string', default: '5,10,20' },
    'ax-multiples': { type: 'string', default: '2,4' },
    'ax-minibatch': { type: 'string', default: '3' },
  },
})
const seeds = Number(args.seeds)
const budgets = args.budgets.split(',').map(Number)
const budget = Math.max(...budgets)
const multiples = args['ax-multiples'].split(',').map(Number)
const axMinibatch = Number(args['ax-minibatch'])
const selected = worlds.filter((world) => args.world === undefined || world.name === args.world)
if (selected.length === 0) throw new Error(`--world must be one of ${worlds.map((world) => world.name).join(', ')}, got ${args.world}`)
for (const [name, value] of [['seeds', seeds], ['ax-minibatch', axMinibatch], ...budgets.map((b) => ['budgets', b] as const), ...multiples.map((m) => ['ax-multiples', m] as const)] as const)
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} must be whole numbers > 0, got ${String(value)}`)

interface Run {
  method: string
  seed: number
  requests: number
  quality: number
  note: string
}

async function withServer<T>(world: SomeWorld, seed: number, work: (server: ModelServer) => Promise<T>): Promise<T> {
  const server = await startModelServer({ script: world.createScript({ seed }) })
  try {
    return await work(server)
  } finally {
    await server.close()
  }
}

/** The project's optimizer from scratch: fresh snapshot and cache folders. */
async function runOurs(world: SomeWorld, seed: number, budget: number): Promise<Run> {
  const root = await mkdtemp(join(tmpdir(), 'vitest-learn-quality-'))
  try {
    return await withServer(world, seed, async (server) => {
      const result = await optimizeSpec({
        spec: world.spec({ budget }),
        snapshotDir: join(root, 'snapshots', world.name),
        cacheDir: join(root, 'cache'),
        models: worldModels(server.url),
        budget,
        seed,
      })
      const written = result.decision === 'written'
      const final = written ? result.instruction.after : result.instruction.before
      const candidate = written ? '' : `, candidate ${world.trueQuality(result.instruction.after).toFixed(3)}`
      // A written checkpoint's baseline is measured afresh for the gate (samples × cases): not learning, so
      // not counted in the requests ax is matched to, and shown apart.
      const baseline = result.stats.baselineCalls > 0 ? `, +${result.stats.baselineCalls} baseline requests` : ''
      return {
        method: `vitest-learn b${budget}`,
        seed,
        requests: server.requests - result.stats.baselineCalls,
        quality: world.trueQuality(final),
        note: `${written ? `wrote v${result.version}` : 'kept the seed'}${candidate}, ${result.stats.rounds} rounds, ${result.stats.proposals} proposals, ${result.stoppedBy}${baseline}`,
      }
    })
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/** "expected high, got normal" for each field the prediction gets wrong; "correct" when none. */
function expectedFeedback(expected: Record<string, unknown>, prediction: AxGenOut): string {
  const fields = Object.keys(expected)
  const wrong = fields.filter((field) => prediction[field] !== expected[field])
  if (wrong.length === 0) return 'correct'
  return wrong.map((field) => `${fields.length > 1 ? `${field}: ` : ''}expected ${String(expected[field])}, got ${String(prediction[field])}`).join('; ')
}

/** ax's optimize() on the spec's 16 cases, as notes/ax.md recommends; true quality of its best instruction. */
async function runAx(world: SomeWorld, seed: number, maxMetricCalls: number): Promise<Omit<Run, 'method'>> {
  return withServer(world, seed, async (server) => {
    const spec: SomeLearnSpec = world.spec({ budget })
    const models = worldModels(server.url)
    const [student, teacher] = [resolveModel(models.student!, 'student').service, resolveModel(models.teacher!, 'teacher').service]
    const key = (example: Record<string, unknown>) => hashOf(Object.fromEntries(Object.keys(spec.cases[0]!.input).map((field) => [field, example[field]])))
    const cases = new Map<string, SomeLearnCase>(spec.cases.map((item) => [key(item.input), item]))
    const feedback = new Map<string, string>()
    const metric: AxMetricFn = async ({ prediction, example }) => {
      const item = cases.get(key(example))!
      const output = prediction as AxGenOut
      const scored = await scoreCase(spec, item, output, () => teacher)
      feedback.set(hashOf({ example, prediction }), spec.judge ? scored.reasons : expectedFeedback(item.expected ?? {}, output))
      return scored.score
    }
    const program = spec.program as AxGen<Record<string, unknown>, AxGenOut>
    program.setInstruction(world.seedInstruction)
    const result = await optimize(program, spec.cases.map((item) => ({ ...item.input, ...item.expected }) as Record<string, AxFieldValue>), metric, {
      studentAI: student,
      teacherAI: teacher,
      numTrials: maxMetricCalls,
      minibatch: true,
      minibatchSize: axMinibatch,
      earlyStoppingTrials: maxMetricCalls,
      maxMetricCalls,
      seed,
      verbose: false,
      feedbackFn: ({ prediction, example }) => feedback.get(hashOf({ example, prediction })),
    })
    const componentMap = result.optimizedProgram ? axSerializeOptimizedProgram(result.optimizedProgram).componentMap : undefined
    const final = Object.entries(componentMap ?? {}).find(([id]) => id.endsWith('instruction'))?.[1] ?? world.seedInstruction
    return { seed, requests: server.requests, quality: world.trueQuality(final), note: `maxMetricCalls ${maxMetricCalls}` }
  })
}

/**
 * ax's optimize() near `target` requests: a first run sized by what a metric call costs (the
 * student, plus the judge when there is one, plus the teacher's two calls every 2 × minibatch
 * metric calls), then one rerun scaled by what that run actually cost if it missed by over 10%.
 */
async function runAxNear(world: SomeWorld, seed: number, target: number): Promise<Omit<Run, 'method'>> {
  const perMetricCall = (world.spec().judge ? 2 : 1) + 1 / axMinibatch
  const paretoPass = Math.max(10, axMinibatch * 3) // ax's default Pareto set, scored once up front
  let calls = Math.max(paretoPass, Math.round(target / perMetricCall))
  let run = await runAx(world, seed, calls)
  if (Math.abs(run.requests - target) > 0.1 * target) {
    calls = Math.max(paretoPass, Math.round((calls * target) / run.requests))
    run = await runAx(world, seed, calls)
  }
  return run
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const started = performance.now()
for (const world of selected) {
  const liftOf = (quality: number) => (quality - world.seedQuality) / (world.ceiling - world.seedQuality)
  console.log(
    `\n${world.name}: seed instruction ${world.seedQuality.toFixed(3)}, ceiling ${world.ceiling.toFixed(3)} ` +
      `(true quality over ${world.evaluationSet.length} inputs); budgets ${budgets.join(', ')} rounds, ax minibatch ${axMinibatch}\n`,
  )
  console.log('method                    | seed | requests | true quality | lift share | note')
  const runs: Run[] = []
  const print = (run: Run) => {
    runs.push(run)
    console.log(
      `${run.method.padEnd(25)} | ${String(run.seed).padStart(4)} | ${String(run.requests).padStart(8)} | ${run.quality.toFixed(3).padStart(12)} | ${liftOf(run.quality).toFixed(2).padStart(10)} | ${run.note}`,
    )
  }
  for (let seed = 1; seed <= seeds; seed++) {
    for (const each of budgets) {
      const ours = await runOurs(world, seed, each)
      print(ours)
      print({ method: `ax at b${each}'s requests`, ...(await runAxNear(world, seed, ours.requests)) })
      if (each === budget)
        for (const multiple of multiples) print({ method: `ax ×${multiple} b${each}'s requests`, ...(await runAxNear(world, seed, ours.requests * multiple)) })
    }
  }
  console.log('\nmedians')
  console.log('method                    | requests | true quality | lift share')
  for (const method of [...new Set(runs.map((run) => run.method))]) {
    const own = runs.filter((run) => run.method === method)
    const quality = median(own.map((run) => run.quality))
    console.log(`${method.padEnd(25)} | ${String(median(own.map((run) => run.requests))).padStart(8)} | ${quality.toFixed(3).padStart(12)} | ${liftOf(quality).toFixed(2).padStart(10)}`)
  }
}
console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s in all`)
