// Files and models for the report page's tests.
import type { LearnCheckpoint, LearnHistoryLine, LearnOptimizeRun } from '../../../src/formats/types.generated.js'
import type { ReportModel } from '../../../src/report/page/model.js'

export function historyLine(overrides: Partial<LearnHistoryLine> = {}): LearnHistoryLine {
  return {
    ...{ date: '2026-01-01T00:00:00.000Z', mode: 'missing', mean: 0.8, interval: [0.7, 0.9], scorers: { judge: 0.8 }, threshold: 0.75, pass: true },
    ...{ n: 4, cases: 4, samples: 1, judgeSamples: 1, live: 4, usd: 0.01 },
    ...overrides,
  }
}

export function checkpoint(version: number): LearnCheckpoint {
  return {
    format: 1,
    name: 'spec',
    version,
    parent: version > 1 ? version - 1 : null,
    created: `2026-01-0${version}T00:00:00.000Z`,
    program: { instruction: version === 1 ? 'Be polite. Never promise refunds.' : `Be polite (v${version}).` },
    baseline: { mean: 0.9, scores: { a: 0.9 } },
  }
}

export function optimizeRun(): LearnOptimizeRun {
  const candidate = { kept: true, calls: 4, usd: 0.01, origin: 'proposal' as const }
  return {
    format: 1,
    spec: 'spec-a',
    started: '2026-01-01T00:00:00.000Z',
    finished: '2026-01-01T00:01:00.000Z',
    budget: 4,
    decision: 'written',
    version: 1,
    stoppedBy: 'converged',
    comparison: { n: 8, meanBefore: 0.6, meanAfter: 0.9, delta: 0.3, interval: [0.1, 0.5], winProbability: 1 },
    cost: { calls: 20, tokens: 2000, usd: 0.05 },
    candidates: [
      { ...candidate, id: 0, parent: null, round: 0, origin: 'start', instruction: 'Be polite.', estimate: 0.6 },
      { ...candidate, id: 1, parent: 0, round: 1, instruction: 'Be polite!', estimate: 0.5, kept: false },
      { ...candidate, id: 2, parent: 0, round: 1, instruction: 'Be polite. Never promise refunds.', estimate: 0.9, final: true, usd: 0.03 },
    ],
  }
}

/** Text meant to break out of the page: tags, attributes, scripts, a request to another host. */
export const hostile = `"'><script>alert(1)</script><img src="http://127.0.0.1:9/x" onerror="window.pwned=1"></textarea><svg onload="window.pwned=2"><a href="javascript:window.pwned=3">x</a>`

/** A model with hostile text in every field that comes from a file. */
export function hostileProject(): ReportModel {
  return {
    created: '2026-01-02T00:00:00.000Z',
    report: { file: `learn-report${hostile}.json`, created: hostile },
    warnings: [{ file: hostile, message: hostile }],
    specs: [
      {
        name: hostile,
        threshold: 0.8,
        verdict: { source: 'report', verdict: 'pass', mean: 0.9, interval: [0.8, 1], threshold: 0.8, baseline: { label: hostile, mean: 0.9 }, cost: { usd: 0, live: 0 } },
        history: [{ kind: 'run', date: '2026-01-01T00:00:00.000Z', label: hostile, mean: 0.9, interval: [0.8, 1], pass: true }],
        versions: [
          { label: 'seed', instruction: hostile, demos: '' },
          { label: `v1${hostile}`, created: hostile, instruction: `${hostile} more`, demos: hostile },
        ],
        current: `v1${hostile}`,
        runs: [
          {
            file: hostile,
            started: hostile,
            finished: hostile,
            from: 'snapshots',
            budget: 1,
            decision: 'written',
            version: 1,
            stoppedBy: hostile,
            comparison: { n: 1, meanBefore: 0.5, meanAfter: 0.9, delta: 0.4, interval: [0.1, 0.6], winProbability: 1 },
            cost: { calls: 1, tokens: 1, usd: 0 },
            candidates: [{ id: 0, parent: null, round: 0, origin: 'start', theme: hostile, estimate: 0.5, kept: true, final: true, accepted: true, calls: 1, usd: 0 }],
          },
        ],
        cases: [
          {
            id: hostile,
            name: hostile,
            input: hostile,
            output: hostile,
            score: 0.5,
            baseline: 0.9,
            scorers: { [hostile]: 0.5 },
            reasons: hostile,
            error: hostile,
            state: 'failed',
            samples: 1,
            failed: true,
            regressed: true,
            models: { student: hostile, judge: hostile },
            traced: '2026-01-01T00:00:00.000Z',
          },
        ],
      },
    ],
  }
}
