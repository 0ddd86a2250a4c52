// Optimize wall time against the scripted model server with a fixed latency per call, compared with
// the floor `calls × latency / concurrency` computed from the calls actually made (no cache: every
// run starts from empty folders), and the held-out score reached per budget.
// Run: npx tsx bench/optimize.ts   (LATENCY_MS=100 BUDGET=20 SYNTH=50 to change the defaults)
import { optimizeSpec, type OptimizePhase, type OptimizeResult } from '../src/optimize/index.js'
import { startModelServer, type ModelServer } from '../test/support/model-server.js'
import { removeTempDirs, scriptedModels, scriptedWorld, supportSpec, tempDirs } from '../test/optimize/support.js'

const latencyMs = Number(process.env.LATENCY_MS ?? 100)
const budget = Number(process.env.BUDGET ?? 20)
const synthCount = Number(process.env.SYNTH ?? 50)

interface Phase {
  phase: OptimizePhase
  ms: number
  calls: number
}

interface Run {
  result: OptimizeResult
  wallMs: number
  calls: number
  phases: Phase[]
}

/** One optimize run from scratch; the proposer adds one missing rule per proposal, so budget matters. */
async function run(server: ModelServer, options: { concurrency: number; budget: number }): Promise<Run> {
  const world = scriptedWorld({ rulesPerProposal: 1 })
  server.setScript(world.script)
  server.reset()
  const dirs = await tempDirs()
  const phases: Phase[] = []
  let phase: { phase: OptimizePhase; at: number; calls: number } | undefined
  const started = performance.now()
  const result = await optimizeSpec({
    spec: supportSpec({ budget: options.budget, synthCount }),
    ...dirs,
    models: scriptedModels(server.url),
    concurrency: options.concurrency,
    onProgress: (event) => {
      if (event.phase === phase?.phase) return
      const now = performance.now()
      if (phase) phases.push({ phase: phase.phase, ms: now - phase.at, calls: server.requests - phase.calls })
      phase = { phase: event.phase, at: now, calls: server.requests }
    },
  })
  return { result, wallMs: performance.now() - started, calls: server.requests, phases }
}

const floorOf = (calls: number, concurrency: number) => (calls * latencyMs) / concurrency
const ms = (value: number) => `${value.toFixed(0).padStart(6)} ms`
const ratio = (wall: number, floor: number) => `${(wall / floor).toFixed(2)}x`.padStart(6)

const server = await startModelServer({ latencyMs })
try {
  console.log(`scripted server, ${latencyMs} ms per call; spec: 6 cases, synthCount ${synthCount}, budget ${budget}\n`)
  console.log('concurrency |   wall    |   floor   | ratio | calls | phases (wall / floor, calls)')
  for (const concurrency of [1, 8]) {
    const measured = await run(server, { concurrency, budget })
    const phases = measured.phases
      .map((item) => `${item.phase} ${(item.ms / 1000).toFixed(1)}s/${(floorOf(item.calls, concurrency) / 1000).toFixed(1)}s (${item.calls})`)
      .join(', ')
    const floor = floorOf(measured.calls, concurrency)
    console.log(`${String(concurrency).padStart(11)} | ${ms(measured.wallMs)} | ${ms(floor)} | ${ratio(measured.wallMs, floor)} | ${String(measured.calls).padStart(5)} | ${phases}`)
  }

  console.log('\nscore reached per budget (concurrency 8, held-out mean: seed → candidate)')
  console.log('budget | rounds | proposals | calls |   wall    | ratio | held-out before → after | decision')
  for (const each of [10, 20, 40]) {
    const measured = await run(server, { concurrency: 8, budget: each })
    const { result } = measured
    const floor = floorOf(measured.calls, 8)
    console.log(
      `${String(each).padStart(6)} | ${String(result.stats.rounds).padStart(6)} | ${String(result.stats.proposals).padStart(9)} | ${String(measured.calls).padStart(5)} | ${ms(measured.wallMs)} | ${ratio(measured.wallMs, floor)} | ${result.before.mean.toFixed(3)} → ${result.after.mean.toFixed(3)}`.padEnd(90) +
        ` | ${result.decision}`,
    )
  }
} finally {
  await server.close()
  await removeTempDirs()
}
