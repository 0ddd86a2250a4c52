import { describe, expect, it } from 'vitest'
import { evaluateGate, type GateInput } from '../src/gate.js'

const cases = Array.from({ length: 6 }, (_, index) => ({ id: `c${index}`, name: `case ${index}` }))
const scored = (values: number[]) => values.map((score, index) => ({ caseId: `c${index}`, score, reasons: score < 1 ? `case ${index} misses a step` : 'ok' }))
const gate = (input: Partial<GateInput> & Pick<GateInput, 'scores'>) =>
  evaluateGate({ threshold: 0.8, cases, failures: new Map(), tolerance: 0.05, specFile: 'support.learn.ts', ...input })
const baselineOf = (value: number | number[], label = 'checkpoint v3') => ({
  label,
  scores: Object.fromEntries(cases.map((item, index) => [item.id, Array.isArray(value) ? value[index]! : value])),
})

describe('the threshold check', () => {
  it('passes when the mean reaches the threshold, with an interval around the mean', () => {
    const result = gate({ scores: scored([1, 1, 0.8, 0.8, 0.6, 1]) })
    expect(result.threshold).toEqual({ pass: true, message: '' })
    expect(result).toMatchObject({ scored: 6, total: 6 })
    expect(result.mean).toBeCloseTo(0.8667, 3)
    expect(result.interval[0]).toBeLessThan(result.mean)
    expect(result.interval[1]).toBeGreaterThan(result.mean)
  })

  it('fails under the threshold, listing the worst cases with their reasons', () => {
    const result = gate({ scores: scored([1, 0.2, 0.5, 1, 1, 0.6]) })
    expect(result.threshold.pass).toBe(false)
    expect(result.threshold.message).toContain('mean score 0.717 is under the threshold 0.8 (95% CI')
    expect(result.threshold.message).toMatch(/0\.20 case 1: case 1 misses a step[\s\S]*0\.50 case 2[\s\S]*0\.60 case 5/)
  })

  it('fails when cases could not be scored, naming them', () => {
    const result = gate({ scores: scored([1, 1]), failures: new Map([['c2', 'no recording for a student call']]) })
    expect(result.threshold.pass).toBe(false)
    expect(result.threshold.message).toContain('case 2: no recording for a student call')
  })

  it('never passes on partial scores: a case that did not finish fails both checks with "n of N cases scored"', () => {
    const result = gate({ scores: scored([1, 1, 1, 1, 1]), baseline: baselineOf(1) })
    expect(result.threshold.pass).toBe(false)
    expect(result.threshold.message).toContain('5 of 6 cases scored')
    expect(result.regression.pass).toBe(false)
    expect(result.regression.message).toContain('5 of 6 cases scored')
  })

  it('keeps each scorer’s mean apart', () => {
    const scores = scored([1, 0.5, 1, 1, 1, 1]).map((score, index) => ({ ...score, scorers: { judge: score.score, exact: index % 2 } }))
    expect(gate({ scores }).scorers).toEqual({ judge: 5.5 / 6, exact: 0.5 })
  })
})

describe('the regression check', () => {
  it('has no verdict without a baseline', () => {
    expect(gate({ scores: scored([1, 1, 1, 1, 1, 1]) }).regression).toMatchObject({ verdict: 'none', pass: true, message: '' })
  })

  it('calls a clear drop beyond the tolerance regressed: the figures, the chance of noise, the cases that dropped most', () => {
    const result = gate({ scores: scored([0.8, 0.85, 0.8, 0.9, 0.85, 0.5]), baseline: baselineOf(1), threshold: 0.5 })
    expect(result.threshold.pass).toBe(true)
    const { regression } = result
    expect(regression).toMatchObject({ verdict: 'regressed', pass: false, baseline: { label: 'checkpoint v3', mean: 1 } })
    expect(regression.message).toMatch(/^regressed against checkpoint v3: 1\.000 → 0\.783 \(-0\.217, 95% CI -0\.\d+\.\.-0\.\d+, n=6\); the allowed drop is 0\.05/)
    expect(regression.message).toMatch(/the chance that noise alone moves the mean this far: (under 0\.1%|\d\.\d%)/)
    expect(regression.message).toMatch(/cases that dropped most \(baseline → now\):\n {2}- 1\.00 → 0\.50 case 5: case 5 misses a step\n {2}- 1\.00 → 0\.80 case 0/)
    expect(regression.drops.map((drop) => drop.caseId)).toEqual(['c5', 'c0', 'c2', 'c1', 'c4', 'c3'])
  })

  it('passes a drop within the tolerance', () => {
    const result = gate({ scores: scored([0.9, 0.9, 0.85, 0.9, 0.9, 0.85]), baseline: baselineOf(0.9) })
    expect(result.regression).toMatchObject({ verdict: 'pass', pass: true, message: '' })
    expect(result.regression.summary).toMatch(/^pass against checkpoint v3: 0\.900 → 0\.883/)
  })

  it('calls a drop beyond the tolerance that one case alone makes inconclusive, loudly, and fails it only when asked to', () => {
    const input = { scores: scored([1, 1, 1, 1, 1, 0.4]), baseline: baselineOf(1) }
    const result = gate(input)
    expect(result.regression.comparison!.delta).toBeCloseTo(-0.1, 5)
    expect(result.regression).toMatchObject({ verdict: 'inconclusive', pass: true })
    expect(result.regression.message).toMatch(/^inconclusive against checkpoint v3: .* dropped 0\.100, more than the allowed 0\.05, but noise could explain it/)
    expect(result.regression.message).toContain('to tell: raise `samples` (now 1) or add cases')
    expect(gate({ ...input, failOnInconclusive: true }).regression).toMatchObject({ verdict: 'inconclusive', pass: false })
  })

  it('states the smallest drop it catches, from the spread of each case’s samples, and warns when it exceeds the tolerance', () => {
    const noisy = scored([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]).map((score) => ({ ...score, samples: [{ score: 0 }, { score: 1 }, { score: 0.5 }] }))
    const coarse = gate({ scores: noisy, baseline: { ...baselineOf(0.5), samples: 3 } }).regression
    expect(coarse.verdict).toBe('pass')
    // Variance 0.25 per reply; two runs of 3 replies: 0.25/3 × 2 per case; 6 cases.
    expect(coarse.noise).toBeCloseTo(Math.sqrt(((0.25 / 3) * 2) / 6), 10)
    expect(coarse.detectableDrop).toBeCloseTo(2.8016 * coarse.noise!, 3)
    expect(coarse.warnings[0]).toMatch(/^at 6 cases × 3 sample\(s\) this gate catches drops of 0\.\d{3} or more \(4 times in 5\), more than the tolerance 0\.05/)
    const steady = scored([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]).map((score) => ({ ...score, samples: [{ score: 0.5 }, { score: 0.52 }, { score: 0.48 }] }))
    expect(gate({ scores: steady, baseline: baselineOf(0.5) }).regression.warnings).toEqual([])
  })

  it('compares only the cases the baseline knows', () => {
    const result = gate({ scores: scored([1, 1, 0.9, 0.9, 0.9, 0.9]), baseline: { label: 'checkpoint v1', scores: { c0: 1, c1: 1 } } })
    expect(result.regression.comparison?.n).toBe(2)
  })

  it('is inconclusive against a baseline it cannot compare with, saying why', () => {
    const result = gate({ scores: scored([1, 1, 1, 1, 1, 1]), baseline: { ...baselineOf(1, 'checkpoint v2 at main'), incomparable: 'the judge changed since main' } })
    expect(result.regression).toMatchObject({ verdict: 'inconclusive', pass: true })
    expect(result.regression.message).toContain('the judge changed since main')
  })
})

describe('the regression check of a spec edited after its checkpoint', () => {
  it('fails with the commands to re-optimize or accept, and does not compare against the stale baseline', () => {
    const result = gate({ scores: scored([1, 1, 1, 1, 1, 1]), baseline: baselineOf(1, 'checkpoint v2'), editedSince: 2 })
    expect(result.threshold.pass).toBe(true)
    expect(result.regression.pass).toBe(false)
    expect(result.regression.message).toContain('edited after checkpoint v2')
    expect(result.regression.message).toContain('npx vitest-learn --optimize support.learn.ts')
    expect(result.regression.message).toContain('npx vitest-learn --accept support.learn.ts')
    expect(result.regression.comparison).toBeUndefined()
  })
})
