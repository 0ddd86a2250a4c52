import { join } from 'node:path'
import { readText, writeFileAtomic } from './formats/files.js'
import type { LearnHistoryLine } from './formats/types.generated.js'
import { assertFormat } from './formats/validate.js'
import type { GateResult } from './gate.js'
import { headCommit } from './git.js'
import type { SomeLearnSpec } from './spec.js'
import { rounded as round } from './stats.js'

export interface HistoryRun {
  /** The tape's mode: `new` recorded what was missing, `all` re-recorded. */
  mode: 'new' | 'all'
  spec: SomeLearnSpec
  gate: GateResult
  calls: { live: number; usd: number }
}

/** The history line of a run that recorded. */
export function historyLine(run: HistoryRun, date: Date, commit: string | undefined): LearnHistoryLine {
  const { gate, spec } = run
  const { regression } = gate
  return {
    date: date.toISOString(),
    ...(commit ? { commit } : {}),
    mode: run.mode === 'new' ? 'missing' : 'all',
    mean: round(gate.mean),
    interval: [round(gate.interval[0]), round(gate.interval[1])],
    n: gate.scored,
    cases: gate.total,
    samples: spec.samples,
    judgeSamples: spec.judgeSamples,
    scorers: Object.fromEntries(Object.entries(gate.scorers).map(([name, value]) => [name, round(value)])),
    threshold: spec.threshold,
    pass: gate.threshold.pass,
    ...(regression.verdict !== 'none' && regression.comparison && regression.baseline
      ? {
          regression: {
            verdict: regression.verdict,
            baseline: regression.baseline.label,
            delta: regression.comparison.delta,
            interval: regression.comparison.interval,
          },
        }
      : {}),
    live: run.calls.live,
    usd: round(run.calls.usd),
  }
}

/**
 * Appends the run's line to snapshots/<spec>/history.jsonl (rewritten whole through a temporary
 * file, like every snapshot file). Lines are only ever added, so git's union merge suits it.
 */
export async function appendHistory(snapshotDir: string, run: HistoryRun): Promise<void> {
  const path = join(snapshotDir, 'history.jsonl')
  const line = historyLine(run, new Date(), await headCommit(snapshotDir))
  assertFormat('history', line, path, 'this is a bug in vitest-learn: please report it with the spec')
  const before = (await readText(path)) ?? ''
  await writeFileAtomic(path, `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${JSON.stringify(line)}\n`)
}
