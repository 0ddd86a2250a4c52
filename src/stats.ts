import { LearnError } from './errors.js'

/** A paired comparison of per-case scores: the same cases scored before and after a change. */
export interface PairedComparison {
  /** Number of paired cases. */
  n: number
  meanBefore: number
  meanAfter: number
  /** meanAfter - meanBefore. */
  delta: number
  /** Paired bootstrap confidence interval of the mean per-case delta. */
  interval: [number, number]
  confidence: number
  /** The interval excludes 0 and there are at least `minCases` cases. */
  significant: boolean
  /** Below this many cases nothing is significant. */
  minCases: number
  /** Share of bootstrap resamples in which the mean delta is above 0 (ties count half): how likely a gain is. */
  winProbability: number
}

export interface PairedOptions {
  /** Confidence level of the interval. Default 0.95. */
  confidence?: number
  /** Bootstrap resamples. Default 2000. */
  resamples?: number
  /** Seed of the resampling, so a comparison is the same on every run. Default 1. */
  seed?: number
  /** Fewest cases for a difference to count as significant. Default 5. */
  minCases?: number
}

/** mulberry32: a small, fast, seeded PRNG returning numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The mean; 0 for no values. */
export const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length

/** Rounds away float noise (0.1 + 0.2 - 0.3), so equal lists compare as exactly equal. */
const clean = (value: number): number => Math.round(value * 1e12) / 1e12

function checkScores(values: readonly number[], name: string): void {
  const bad = values.findIndex((value) => typeof value !== 'number' || !Number.isFinite(value))
  if (bad >= 0) throw new LearnError(`${name}[${bad}] is ${JSON.stringify(values[bad])}, not a finite number`, { field: name })
}

/**
 * Compares per-case scores of the same cases before and after a change: the mean delta and a
 * paired percentile-bootstrap interval around it (cases resampled with replacement), seeded so
 * the same lists always give the same interval.
 */
export function comparePaired(before: readonly number[], after: readonly number[], options: PairedOptions = {}): PairedComparison {
  if (before.length !== after.length)
    throw new LearnError(`cannot pair ${before.length} scores before with ${after.length} after; both must score the same cases`)
  checkScores(before, 'before')
  checkScores(after, 'after')
  const confidence = options.confidence ?? 0.95
  const resamples = Math.max(1, Math.floor(options.resamples ?? 2000))
  const minCases = options.minCases ?? 5
  if (!(confidence > 0 && confidence < 1)) throw new LearnError(`confidence must be between 0 and 1, got ${confidence}`, { field: 'confidence' })

  const n = before.length
  const deltas = before.map((value, index) => clean(after[index]! - value))
  const delta = clean(mean(deltas))
  let interval: [number, number] = [delta, delta]
  let winProbability = delta > 0 ? 1 : delta < 0 ? 0 : 0.5
  if (n > 1 && deltas.some((value) => value !== deltas[0])) {
    const random = seededRandom(options.seed ?? 1)
    const means = new Float64Array(resamples)
    for (let draw = 0; draw < resamples; draw++) {
      let sum = 0
      for (let pick = 0; pick < n; pick++) sum += deltas[Math.floor(random() * n)]!
      means[draw] = sum / n
    }
    means.sort()
    winProbability = means.reduce((share, value) => share + (value > 1e-12 ? 1 : Math.abs(value) <= 1e-12 ? 0.5 : 0), 0) / resamples
    const tail = (1 - confidence) / 2
    const lower = means[Math.min(resamples - 1, Math.floor(tail * resamples))]!
    const upper = means[Math.max(0, Math.ceil((1 - tail) * resamples) - 1)]!
    interval = [clean(lower), clean(upper)]
  }
  const excludesZero = interval[0] > 0 || interval[1] < 0
  return {
    n,
    meanBefore: clean(mean(before)),
    meanAfter: clean(mean(after)),
    delta,
    interval,
    confidence,
    significant: n >= minCases && excludesZero,
    minCases,
    winProbability,
  }
}

/**
 * The regression gate's rule: the mean dropped by more than `tolerance`, and the drop is not
 * noise. With fewer than `minCases` cases no interval can tell, so a drop beyond tolerance fails.
 */
export function regressed(comparison: PairedComparison, tolerance: number): boolean {
  if (!(-comparison.delta > tolerance)) return false
  if (comparison.n < comparison.minCases) return true
  return comparison.significant && comparison.interval[1] < 0
}

/** The optimize rule: the candidate wins by more than noise (and by more than `margin`, if given). */
export function improved(comparison: PairedComparison, margin = 0): boolean {
  return comparison.delta > margin && comparison.significant && comparison.interval[0] > 0
}

/** One line for messages: `0.620 → 0.810 (+0.190, 95% CI +0.120..+0.260, n=12)`. */
export function formatComparison(comparison: PairedComparison): string {
  const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(3)}`
  const level = Math.round(comparison.confidence * 100)
  return (
    `${comparison.meanBefore.toFixed(3)} → ${comparison.meanAfter.toFixed(3)} (${signed(comparison.delta)}, ` +
    `${level}% CI ${signed(comparison.interval[0])}..${signed(comparison.interval[1])}, n=${comparison.n})`
  )
}
