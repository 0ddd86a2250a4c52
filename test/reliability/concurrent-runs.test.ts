// Two runs at once on one project: each holds the spec's folder while it may write it, so the
// second waits for the first and nothing either recorded is lost. Without the lock, the last
// writer dropped the other run's new recording (3 of 3 tries).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConcurrentLab, waitingLine } from './support/concurrent.js'

describe('two runs at once on one spec', () => {
  const lab = new ConcurrentLab()
  beforeAll(() => lab.start())
  afterAll(() => lab.close())

  it('keeps the new case each run recorded', async () => {
    const outcome = await lab.newCases()
    expect(outcome.detail).toBe('the second run waited; both finished; every file valid; CI replays')
    expect(outcome.second.output).toContain(waitingLine)
    expect(outcome.cases).toEqual(['q1', 'q10', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8', 'q9'])
  })

  it('runs two -u runs one after the other: each re-records every call, no file is torn', async () => {
    const outcome = await lab.twoUpdates()
    expect(outcome.detail).toBe('the second run waited; both finished; every file valid; CI replays')
    expect(outcome.requests).toBe(2 * 2 * 8) // 8 cases, a student and a judge call each, per run
  })
})
