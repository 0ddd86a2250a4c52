// Optimize wall time against its floor, on the judged hard world (test/worlds/support-rules) with a
// fixed latency per model call. The floor of a run at concurrency C is
//   max(critical path, calls × latency / C)
// where the critical path is the same run's wall time with unlimited concurrency (the search is
// deterministic, so it makes the same calls): the sequential steps of its rounds, plus its own CPU
// time, which makes this floor a little generous to the run it bounds.
// Run: npx tsx bench/optimize.ts [--latency 100] [--seed 1]
//      npx tsx bench/optimize.ts --concurrency 8   (one run, one line: for timing whole processes)
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { optimizeSpec } from '../src/optimize/index.js'
import { startModelServer } from '../test/support/model-server.js'
import { worldModels } from '../test/worlds/common.js'
import { supportRules } from '../test/worlds/support-rules.js'

const { values: args } = parseArgs({
  options: { latency: { type: 'string', default: '100' }, seed: { type: 'string', default: '1' }, concurrency: { type: 'string' } },
})
const latencyMs = Number(args.latency)
const seed = Number(args.seed)
const unlimited = 1000

interface Measured {
  concurrency: number
  wallMs: number
  calls: number
  /** Of `calls`, those measuring the winner's baseline after the decision. */
  baselineCalls: number
  rounds: number
  quality: number
}

async function run(concurrency: number): Promise<Measured> {
  const root = await mkdtemp(join(tmpdir(), 'vitest-learn-optimize-bench-'))
  const server = await startModelServer({ script: supportRules.createScript({ seed }), latencyMs })
  try {
    const started = performance.now()
    const result = await optimizeSpec({
      spec: supportRules.spec(),
      snapshotDir: join(root, 'snapshots', 'support-rules'),
      cacheDir: join(root, 'cache'),
      models: worldModels(server.url),
      concurrency,
      seed,
    })
    const final = result.decision === 'written' ? result.instruction.after : result.instruction.before
    return { concurrency, wallMs: performance.now() - started, calls: server.requests, baselineCalls: result.stats.baselineCalls, rounds: result.stats.rounds, quality: supportRules.trueQuality(final) }
  } finally {
    await server.close()
    await rm(root, { recursive: true, force: true })
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`.padStart(8)

if (args.concurrency !== undefined) {
  const measured = await run(Number(args.concurrency))
  console.log(`concurrency ${measured.concurrency}: ${seconds(measured.wallMs)}, ${measured.calls} calls (${measured.baselineCalls} measuring the winner's baseline), ${measured.rounds} rounds, true quality ${measured.quality.toFixed(3)}`)
} else {
  const critical = await run(unlimited)
  console.log(
    `support-rules, seed ${seed}, ${latencyMs} ms a call; critical path (unlimited concurrency): ${seconds(critical.wallMs)}, ${critical.calls} calls (${critical.baselineCalls} measuring the winner's baseline)\n`,
  )
  console.log('concurrency |   wall   | calls × latency / C |  floor   | wall / floor | rounds | true quality')
  for (const concurrency of [1, 8]) {
    const measured = await run(concurrency)
    const throughput = (measured.calls * latencyMs) / concurrency
    const floor = Math.max(critical.wallMs, throughput)
    console.log(
      `${String(concurrency).padStart(11)} | ${seconds(measured.wallMs)} | ${seconds(throughput).padStart(19)} | ${seconds(floor)} | ${`${(measured.wallMs / floor).toFixed(2)}x`.padStart(12)} | ${String(measured.rounds).padStart(6)} | ${measured.quality.toFixed(3)}`,
    )
  }
}
