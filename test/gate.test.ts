import { describe, expect, it } from 'vitest'
import { evaluateGate, type GateInput } from '../src/gate.js'

const cases = Array.from({ length: 6 }, (_, index) => ({ id: `c${index}`, name: `case ${index}` }))
const scored = (values: number[]) => values.map((score, index) => ({ caseId: `c${index}`, score, reasons: score < 1 ? `case ${index} misses a step` : 'ok' }))
const gate = (input: Partial<GateInput> & Pick<GateInput, 'scores'>) =>
  evaluateGate({ threshold: 0.8, cases, failures: new Map(), tolerance: 0.05, specFile: 'support.learn.ts', ...input })

describe('the gate', () => {
  it('passes when the mean reaches the threshold', () => {
    const result = gate({ scores: scored([1, 1, 0.8, 0.8, 0.6, 1]) })
    expect(result).toMatchObject({ pass: true, scored: 6, total: 6 })
    expect(result.mean).toBeCloseTo(0.8667, 3)
  })

  it('fails under the threshold, listing the worst cases with their reasons', () => {
    const result = gate({ scores: scored([1, 0.2, 0.5, 1, 1, 0.6]) })
    expect(result.pass).toBe(false)
    expect(result.message).toContain('mean score 0.717 is under the threshold 0.8')
    expect(result.message).toMatch(/0\.20 case 1: case 1 misses a step[\s\S]*0\.50 case 2[\s\S]*0\.60 case 5/)
  })

  it('fails when cases could not be scored, naming them', () => {
    const result = gate({ scores: scored([1, 1]), failures: new Map([['c2', 'no recording for a student call']]) })
    expect(result.pass).toBe(false)
    expect(result.message).toContain('case 2: no recording for a student call')
  })

  it('never passes on partial scores: a case that did not finish fails it with "n of N cases scored"', () => {
    const result = gate({ scores: scored([1, 1, 1, 1, 1]) })
    expect(result.pass).toBe(false)
    expect(result.message).toContain('5 of 6 cases scored')
  })

  it('fails a clear regression against the checkpoint baseline, with the figures', () => {
    const baseline = { version: 3, scores: Object.fromEntries(cases.map((item) => [item.id, 1])) }
    const result = gate({ scores: scored([0.8, 0.85, 0.8, 0.9, 0.85, 0.8]), baseline, threshold: 0.5 })
    expect(result.pass).toBe(false)
    expect(result.message).toMatch(/regressed against checkpoint v3: 1\.000 → 0\.833 \(-0\.167, 95% CI -0\.\d+\.\.-0\.\d+, n=6\); the allowed drop is 0\.05/)
    expect(result.regression?.significant).toBe(true)
  })

  it('lets a drop within the tolerance pass', () => {
    const baseline = { version: 1, scores: Object.fromEntries(cases.map((item) => [item.id, 0.9])) }
    expect(gate({ scores: scored([0.9, 0.9, 0.85, 0.9, 0.9, 0.85]), baseline }).pass).toBe(true)
  })

  it('does not fail a drop that one case alone makes (noise)', () => {
    const baseline = { version: 1, scores: Object.fromEntries(cases.map((item) => [item.id, 1])) }
    const result = gate({ scores: scored([1, 1, 1, 1, 1, 0.4]), baseline })
    expect(result.regression!.delta).toBeCloseTo(-0.1, 5)
    expect(result.pass).toBe(true)
  })

  it('compares only the cases the baseline knows', () => {
    const baseline = { version: 1, scores: { c0: 1, c1: 1 } }
    const result = gate({ scores: scored([1, 1, 0.9, 0.9, 0.9, 0.9]), baseline })
    expect(result.regression?.n).toBe(2)
  })
})

describe('the gate of a spec edited after its checkpoint', () => {
  it('fails with the commands to re-optimize or accept, and does not compare against the stale baseline', () => {
    const baseline = { version: 2, scores: Object.fromEntries(cases.map((item) => [item.id, 1])) }
    const result = gate({ scores: scored([1, 1, 1, 1, 1, 1]), baseline, editedSince: 2 })
    expect(result.pass).toBe(false)
    expect(result.message).toContain('edited after checkpoint v2')
    expect(result.message).toContain('npx vitest-learn --optimize support.learn.ts')
    expect(result.message).toContain('npx vitest-learn --accept support.learn.ts')
    expect(result.regression).toBeUndefined()
  })
})
