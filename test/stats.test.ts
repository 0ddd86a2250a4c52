import { describe, expect, it } from 'vitest'
import { comparePaired, detectableChange, formatComparison, improved, meanInterval, regressionVerdict, runToRunNoise, seededRandom } from '../src/stats.js'

describe('comparePaired', () => {
  it('finds no difference between identical lists', () => {
    const scores = [0.2, 0.5, 0.9, 1, 0.4, 0.7]
    const result = comparePaired(scores, [...scores])
    expect(result).toMatchObject({ n: 6, delta: 0, interval: [0, 0], significant: false })
    expect(result.meanBefore).toBeCloseTo(3.7 / 6, 10)
    expect(improved(result)).toBe(false)
    expect(regressionVerdict(result, 0)).toBe('pass')
  })

  it('calls a clear uniform gain significant', () => {
    const before = [0.5, 0.5, 0.6, 0.4, 0.5, 0.5]
    const after = before.map((value) => value + 0.25)
    const result = comparePaired(before, after)
    expect(result.delta).toBe(0.25)
    expect(result.interval).toEqual([0.25, 0.25])
    expect(result.significant).toBe(true)
    expect(improved(result)).toBe(true)
    expect(improved(result, 0.3)).toBe(false)
  })

  it('is never significant below minCases', () => {
    const result = comparePaired([0, 0, 0, 0], [1, 1, 1, 1])
    expect(result).toMatchObject({ n: 4, delta: 1, significant: false, minCases: 5 })
    expect(improved(result)).toBe(false)
    expect(comparePaired([0, 0, 0, 0], [1, 1, 1, 1], { minCases: 4 }).significant).toBe(true)
  })

  it('computes a known small example and is deterministic', () => {
    const before = [0.5, 0.6, 0.4, 0.7, 0.5, 0.6, 0.5, 0.4]
    const after = [0.7, 0.8, 0.5, 0.9, 0.6, 0.8, 0.7, 0.5]
    const first = comparePaired(before, after)
    const second = comparePaired(before, after)
    expect(second).toEqual(first)
    expect(first.delta).toBe(0.1625)
    expect(first.meanBefore).toBe(0.525)
    expect(first.meanAfter).toBe(0.6875)
    // deltas lie in [0.1, 0.2]: every resampled mean does too.
    expect(first.interval[0]).toBeGreaterThanOrEqual(0.1)
    expect(first.interval[1]).toBeLessThanOrEqual(0.2)
    expect(first.interval[0]).toBeLessThan(first.delta)
    expect(first.interval[1]).toBeGreaterThan(first.delta)
    expect(first.significant).toBe(true)
  })

  it('keeps a noisy mixed change inside the noise', () => {
    const before = [0.2, 0.9, 0.3, 0.8, 0.5, 0.6, 0.1, 0.7]
    const after = [0.9, 0.2, 0.8, 0.3, 0.6, 0.5, 0.7, 0.15]
    const result = comparePaired(before, after)
    expect(result.interval[0]).toBeLessThan(0)
    expect(result.interval[1]).toBeGreaterThan(0)
    expect(result.significant).toBe(false)
    expect(improved(result)).toBe(false)
  })

  it('narrows the interval at lower confidence and changes only with the seed', () => {
    const before = [0.2, 0.9, 0.3, 0.8, 0.5, 0.6, 0.1, 0.7]
    const after = [0.6, 0.8, 0.7, 0.9, 0.4, 0.9, 0.5, 0.7]
    const wide = comparePaired(before, after, { confidence: 0.99 })
    const narrow = comparePaired(before, after, { confidence: 0.8 })
    expect(narrow.interval[1] - narrow.interval[0]).toBeLessThan(wide.interval[1] - wide.interval[0])
    expect(comparePaired(before, after, { seed: 7 })).toEqual(comparePaired(before, after, { seed: 7 }))
  })

  it('handles empty lists and rejects mismatched or non-numeric ones', () => {
    expect(comparePaired([], [])).toMatchObject({ n: 0, delta: 0, interval: [0, 0], significant: false })
    expect(() => comparePaired([1, 0.5], [1])).toThrow(/cannot pair 2 scores before with 1 after/)
    expect(() => comparePaired([1, Number.NaN], [1, 1])).toThrow(/before\[1\]/)
  })

  it('formats a comparison on one line', () => {
    const result = comparePaired([0.5, 0.5, 0.5, 0.5, 0.5], [0.75, 0.75, 0.75, 0.75, 0.75])
    expect(formatComparison(result)).toBe('0.500 → 0.750 (+0.250, 95% CI +0.250..+0.250, n=5)')
  })
})

describe('regressionVerdict', () => {
  it('passes drops within tolerance, even significant ones', () => {
    const result = comparePaired([0.8, 0.8, 0.8, 0.8, 0.8, 0.8], [0.77, 0.77, 0.77, 0.77, 0.77, 0.77])
    expect(result.significant).toBe(true)
    expect(regressionVerdict(result, 0.05)).toBe('pass')
    expect(regressionVerdict(result, 0.01)).toBe('regressed')
  })

  it('calls a significant drop beyond tolerance regressed', () => {
    const before = [0.9, 0.8, 1, 0.9, 0.85, 0.95]
    const after = [0.6, 0.5, 0.7, 0.65, 0.55, 0.6]
    expect(regressionVerdict(comparePaired(before, after), 0.05)).toBe('regressed')
  })

  it('calls a noisy drop beyond tolerance inconclusive, never a pass', () => {
    const before = [1, 0.2, 0.9, 0.3, 1, 0.1, 0.8]
    const after = [0.1, 0.9, 0.2, 0.8, 0.3, 0.9, 0.2]
    const result = comparePaired(before, after)
    expect(-result.delta).toBeGreaterThan(0.05)
    expect(result.significant).toBe(false)
    expect(regressionVerdict(result, 0.05)).toBe('inconclusive')
  })

  it('calls a drop beyond tolerance inconclusive below minCases, where no interval can tell', () => {
    const result = comparePaired([0.9, 0.9, 0.9], [0.5, 0.9, 0.9])
    expect(regressionVerdict(result, 0.05)).toBe('inconclusive')
    expect(regressionVerdict(result, 0.2)).toBe('pass')
  })
})

describe('pNoise', () => {
  it('is small for a drop every case shows, large for one that noise makes as easily, and 1 for no change', () => {
    const clear = comparePaired([0.9, 0.8, 1, 0.9, 0.85, 0.95, 0.9, 0.8], [0.7, 0.65, 0.8, 0.7, 0.6, 0.75, 0.75, 0.6])
    expect(clear.pNoise).toBeLessThan(0.01)
    const noisy = comparePaired([1, 0.2, 0.9, 0.3, 1, 0.1, 0.8], [0.1, 0.9, 0.2, 0.8, 0.3, 0.9, 0.2])
    expect(noisy.pNoise).toBeGreaterThan(0.2)
    expect(comparePaired([0.5, 0.6], [0.5, 0.6]).pNoise).toBe(1)
  })
})

describe('meanInterval', () => {
  it('brackets the mean, narrows with more cases, and is exact for equal values', () => {
    const few = [0.2, 0.9, 0.5, 0.7]
    const [low, high] = meanInterval(few)
    expect(low).toBeLessThan(0.575)
    expect(high).toBeGreaterThan(0.575)
    const many = Array.from({ length: 40 }, (_, index) => few[index % 4]!)
    const [manyLow, manyHigh] = meanInterval(many)
    expect(manyHigh - manyLow).toBeLessThan(high - low)
    expect(meanInterval([0.5, 0.5, 0.5])).toEqual([0.5, 0.5])
  })
})

describe('runToRunNoise and detectableChange', () => {
  it('estimate the noise of comparing two runs from the spread of each case’s samples', () => {
    // Each case: samples 0 and 1 (variance 0.5); two runs of 2 samples each: 0.5/2 + 0.5/2 per case.
    const samples = Array.from({ length: 16 }, () => [0, 1])
    const noise = runToRunNoise(samples)!
    expect(noise).toBeCloseTo(Math.sqrt(0.5 / 16), 10)
    expect(runToRunNoise(samples, 1)).toBeCloseTo(Math.sqrt((0.25 + 0.5) / 16), 10)
    expect(runToRunNoise([[0.5], [1]])).toBeUndefined()
    expect(detectableChange(noise)).toBeCloseTo(2.8016 * noise, 3)
  })
})

describe('seededRandom', () => {
  it('repeats for a seed and stays in [0, 1)', () => {
    const a = seededRandom(42)
    const b = seededRandom(42)
    const values = Array.from({ length: 1000 }, () => a())
    expect(values).toEqual(Array.from({ length: 1000 }, () => b()))
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true)
    expect(seededRandom(43)()).not.toBe(seededRandom(42)())
  })
})
