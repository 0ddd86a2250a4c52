// Vitest glue of optimize mode: runs the library's pipeline for one spec inside its `optimize` test.
import { OptimizeCalls } from '../src/optimize/calls.js'
import { optimizeSpec } from '../src/optimize/optimize.js'
import type { OptimizeProgress, OptimizeResult } from '../src/optimize/types.js'
import type { SomeLearnSpec } from '../src/spec.js'
import { redact } from '../src/redact.js'
import { formatComparison } from '../src/stats.js'
import { createStorage } from '../src/storage/url.js'
import type { LearnOptimizeMeta, LearnProvided } from './context.js'

export interface OptimizeRun {
  result: OptimizeResult
  meta: LearnOptimizeMeta
}

function progressLine(event: OptimizeProgress): string {
  const seconds = (event.elapsedMs / 1000).toFixed(1)
  return (
    `[optimize ${event.spec}] ${event.phase} · round ${event.round}/${event.rounds} · best ${event.bestScore.toFixed(3)} · ` +
    `${event.proposals} proposals, ${event.accepted} kept · ${event.calls} live, ${event.cacheHits} cached · ` +
    `${event.tokens} tokens · $${event.usd.toFixed(4)} · ${seconds}s`
  )
}

/** `secrets`: what its warnings must not print (the models' API keys, which a model may echo). */
export async function runOptimize(spec: SomeLearnSpec, provided: LearnProvided, specFile: string, snapshotDir: string, secrets: readonly string[]): Promise<OptimizeRun> {
  const storage = provided.traces ? createStorage(provided.traces, { root: provided.root }) : undefined
  let lastLine = 0
  try {
    const result = await optimizeSpec({
      spec,
      specFile,
      snapshotDir,
      cacheDir: provided.cacheDir,
      models: provided.models,
      ...(storage ? { storage } : {}),
      ...provided.optimizeSettings,
      onProgress: (event) => {
        // One line per round or phase, at most a line a second, so a long run stays readable.
        if (event.phase === 'search' && performance.now() - lastLine < 1000) return
        lastLine = performance.now()
        console.log(progressLine(event))
      },
      onWarning: (message) => console.warn(`[optimize ${spec.name}] ${redact(message, secrets)}`),
    })
    const meta: LearnOptimizeMeta = {
      kind: 'optimize',
      spec: spec.name,
      decision: result.decision,
      ...(result.version !== undefined ? { version: result.version } : {}),
      ...(result.previousVersion !== undefined ? { previousVersion: result.previousVersion } : {}),
      comparison: formatComparison(result.comparison),
      calls: result.cost.calls,
      baselineCalls: result.stats.baselineCalls,
      tokens: result.cost.usage.totalTokens,
      usd: result.cost.usd,
      rounds: result.stats.rounds,
      budget: result.stats.budget,
      proposals: result.stats.proposals,
      accepted: result.stats.accepted,
      winProbability: result.comparison.winProbability,
      stoppedBy: result.stoppedBy,
      programDiff: result.components.map((component) => component.diff).join('\n'),
      warnings: result.warnings,
    }
    return { result, meta }
  } finally {
    await storage?.close()
  }
}

/** After a win, the cases are recorded through optimize's call cache: most answers are already paid for. */
export function openCallCache(spec: SomeLearnSpec, provided: LearnProvided, specFile: string): Promise<OptimizeCalls> {
  return OptimizeCalls.open({ spec, models: provided.models, cacheDir: provided.cacheDir, caps: {}, specFile })
}
