import { mkdtemp, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AxMockAIService } from '@ax-llm/ax'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { declaredScale, JudgeAnswerError, judgeAttempts, normalizeScore, runJudge } from '../src/judge.js'
import { TapeService } from '../src/tape/service.js'
import { Tape } from '../src/tape/tape.js'

describe('the judge score', () => {
  it('is taken as answered inside 0..1', () => {
    expect(normalizeScore(0.7, 'Polite and concise.')).toBe(0.7)
    expect(normalizeScore('1', 'Polite and concise.')).toBe(1)
  })

  it('is rescaled when the rubric declares the scale it fits', () => {
    expect(normalizeScore(7, 'Score from 0 to 10 for politeness.')).toBe(0.7)
    expect(normalizeScore(4, 'Rate 1-5: five is perfect.')).toBe(0.75)
    expect(normalizeScore(8, 'Give points out of 10.')).toBe(0.8)
  })

  it('outside 0..1 with no declared scale is an error naming the answer, never clamped', () => {
    expect(() => normalizeScore(7, 'Polite and concise.')).toThrow(JudgeAnswerError)
    expect(() => normalizeScore(7, 'Polite and concise.')).toThrow(/answered score 7, outside 0\.\.1/)
    expect(() => normalizeScore(-0.2, 'Polite.')).toThrow(/score -0.2/)
    expect(() => normalizeScore(12, 'Score from 0 to 10.')).toThrow(/outside the rubric's 0\.\.10 scale/)
  })

  it('that is not a number is an error quoting it', () => {
    expect(() => normalizeScore('excellent', 'Polite.')).toThrow(/not a number: "excellent"/)
    expect(() => normalizeScore('', 'Polite.')).toThrow(JudgeAnswerError)
  })

  it('reads declared scales, and none from plain rubrics', () => {
    expect(declaredScale('Score 0–10.')).toEqual({ min: 0, max: 10 })
    expect(declaredScale('Polite, one next step, 2 sentences at most.')).toBeUndefined()
    expect(declaredScale('Grade on a 1 to 5 scale.')).toEqual({ min: 1, max: 5 })
  })
})

describe('runJudge', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vitest-learn-judge-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  const judgeModel = (scores: string[]) => {
    let call = 0
    const model = new AxMockAIService<string>({
      chatResponse: async () => ({
        results: [{ index: 0, content: `Score: ${scores[Math.min(call++, scores.length - 1)]}\nReasons: Fine.`, finishReason: 'stop' as const }],
      }),
    })
    return { model, calls: () => call }
  }
  const request = { rubric: 'Polite and concise.', input: { q: 'hi' }, prediction: { a: 'hello' } }

  it('asks again when the answer is out of range, and records only the usable answer', async () => {
    const path = join(dir, 'tape.json')
    const tape = await Tape.load({ path, spec: 'judge', mode: 'new', recordCommand: 'x' })
    const { model, calls } = judgeModel(['7', '0.8'])
    const service = new TapeService(tape, model, { provider: 'mock', model: 'judge', config: {} }, { caseId: 'c', role: 'judge' })
    expect(await runJudge(service, request)).toEqual({ score: 0.8, reasons: 'Fine.' })
    expect(calls()).toBe(2)
    await tape.finish(new Set(['c']))
    const replay = await Tape.load({ path, spec: 'judge', mode: 'none', recordCommand: 'x' })
    const again = new TapeService(replay, model, { provider: 'mock', model: 'judge', config: {} }, { caseId: 'c', role: 'judge' })
    expect(await runJudge(again, request)).toEqual({ score: 0.8, reasons: 'Fine.' })
    expect(calls()).toBe(2)
  })

  it(`fails after ${judgeAttempts} unusable answers, recording none`, async () => {
    const path = join(dir, 'tape.json')
    const tape = await Tape.load({ path, spec: 'judge', mode: 'new', recordCommand: 'x' })
    const { model, calls } = judgeModel(['7'])
    const service = new TapeService(tape, model, { provider: 'mock', model: 'judge', config: {} }, { caseId: 'c', role: 'judge' })
    await expect(runJudge(service, request)).rejects.toThrow(/answered score 7/)
    expect(calls()).toBe(judgeAttempts)
    expect(await tape.finish(new Set(['c']))).toEqual({ written: false })
    expect(existsSync(path)).toBe(false)
  })
})
