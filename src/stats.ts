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
  /**
   * How likely noise alone moves the mean this far in this direction: the share of bootstrap
   * means, shifted to a true change of zero, at or beyond the observed delta (1 when it is 0).
   */
  pNoise: number
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

/** A score as files show it: 6 decimals (0.6499999999999999 → 0.65). */
export const rounded = (value: number): number => Math.round(value * 1e6) / 1e6

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
  const means = bootstrapMeans(deltas, resamples, options.seed ?? 1)
  const interval = means ? percentileInterval(means, confidence) : ([delta, delta] as [number, number])
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
    winProbability: gainProbability(means, delta),
    pNoise: noiseProbability(means, delta),
  }
}

/** Sorted means of `resamples` resamples (with replacement) of `values`; undefined when resampling cannot vary. */
function bootstrapMeans(values: readonly number[], resamples: number, seed: number): Float64Array | undefined {
  const n = values.length
  if (n < 2 || values.every((value) => value === values[0])) return undefined
  const random = seededRandom(seed)
  const means = new Float64Array(resamples)
  for (let draw = 0; draw < resamples; draw++) {
    let sum = 0
    for (let pick = 0; pick < n; pick++) sum += values[Math.floor(random() * n)]!
    means[draw] = sum / n
  }
  return means.sort()
}

function percentileInterval(sortedMeans: Float64Array, confidence: number): [number, number] {
  const count = sortedMeans.length
  const tail = (1 - confidence) / 2
  const lower = sortedMeans[Math.min(count - 1, Math.floor(tail * count))]!
  const upper = sortedMeans[Math.max(0, Math.ceil((1 - tail) * count) - 1)]!
  return [clean(lower), clean(upper)]
}

/** The share of bootstrap means above 0 (ties count half); with no spread, where the delta lies. */
function gainProbability(sortedMeans: Float64Array | undefined, delta: number): number {
  if (!sortedMeans) return delta > 0 ? 1 : delta < 0 ? 0 : 0.5
  let share = 0
  for (const value of sortedMeans) share += value > 1e-12 ? 1 : Math.abs(value) <= 1e-12 ? 0.5 : 0
  return share / sortedMeans.length
}

/**
 * Shifting every delta by -d shifts every bootstrap mean by -d, so "a shifted mean at or beyond d"
 * is "a bootstrap mean at or beyond 2d". Deltas that are all equal (and not 0) are no noise at all.
 */
function noiseProbability(sortedMeans: Float64Array | undefined, delta: number): number {
  if (delta === 0) return 1
  if (!sortedMeans) return 0
  const edge = 2 * delta
  let beyond = 0
  for (const value of sortedMeans) if (delta < 0 ? value <= edge : value >= edge) beyond++
  return clean((beyond + 1) / (sortedMeans.length + 1))
}

/** A seeded percentile-bootstrap interval of the mean of `values` (cases resampled with replacement). */
export function meanInterval(values: readonly number[], options: Pick<PairedOptions, 'confidence' | 'resamples' | 'seed'> = {}): [number, number] {
  checkScores(values, 'values')
  const average = clean(mean(values))
  const means = bootstrapMeans(values, Math.max(1, Math.floor(options.resamples ?? 2000)), options.seed ?? 1)
  return means ? percentileInterval(means, options.confidence ?? 0.95) : [average, average]
}

/**
 * The standard error of the mean per-case delta between two runs of the same program: each case's
 * spread over its samples (unbiased variance, cases with 2 or more samples), as the variance of a
 * mean of `samples` draws now and `baselineSamples` draws then. Undefined when no case has 2 samples.
 */
export function runToRunNoise(sampleScores: readonly (readonly number[])[], baselineSamples?: number): number | undefined {
  const variances = sampleScores
    .filter((scores) => scores.length >= 2)
    .map((scores) => {
      const average = mean(scores)
      return { variance: scores.reduce((sum, value) => sum + (value - average) ** 2, 0) / (scores.length - 1), count: scores.length }
    })
  if (variances.length === 0) return undefined
  const perCase = mean(variances.map(({ variance, count }) => variance / count + variance / (baselineSamples ?? count)))
  return Math.sqrt(perCase / sampleScores.length)
}

/** z for a two-sided 95% interval plus z for 80% power: a true change of 2.8 standard errors is caught 4 times in 5. */
const detectionZ = 1.96 + 0.8416

/** The smallest true change a 95% test catches 80% of the time, at this standard error. */
export const detectableChange = (standardError: number): number => clean(detectionZ * standardError)

/** A comparison against a baseline: within tolerance, a drop beyond it that is not noise, or one that may be. */
export type RegressionVerdict = 'pass' | 'regressed' | 'inconclusive'

/**
 * The regression gate's rule, with `tolerance` the drop allowed: `pass` when the mean dropped by
 * no more than the tolerance; `regressed` when it dropped by more and the interval excludes zero
 * (with at least `minCases` cases), so the drop is not noise; `inconclusive` when it dropped by more
 * but noise could explain it.
 */
export function regressionVerdict(comparison: PairedComparison, tolerance: number): RegressionVerdict {
  if (!(-comparison.delta > tolerance)) return 'pass'
  return comparison.significant && comparison.interval[1] < 0 ? 'regressed' : 'inconclusive'
}

/** The optimize rule: the candidate wins by more than noise (and by more than `margin`, if given). */
export function improved(comparison: PairedComparison, margin = 0): boolean {
  return comparison.delta > margin && comparison.significant && comparison.interval[0] > 0
}

/** A score difference with its sign: `+0.190`, `-0.040`. */
export const signed = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(3)}`

/** One line for messages: `0.620 → 0.810 (+0.190, 95% CI +0.120..+0.260, n=12)`. */
export function formatComparison(comparison: PairedComparison): string {
  const level = Math.round(comparison.confidence * 100)
  return (
    `${comparison.meanBefore.toFixed(3)} → ${comparison.meanAfter.toFixed(3)} (${signed(comparison.delta)}, ` +
    `${level}% CI ${signed(comparison.interval[0])}..${signed(comparison.interval[1])}, n=${comparison.n})`
  )
}
