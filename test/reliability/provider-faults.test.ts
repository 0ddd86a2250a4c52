// Provider faults mid-run (bench/reliability.ts runs every fault in every phase): a fault that
// passes is retried and the run passes; one that lasts fails the run naming the URL and the
// cause, and costs no recording and writes no checkpoint.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { FaultLab } from './support/provider-faults.js'

const lab = new FaultLab()
beforeAll(() => lab.start())
afterAll(() => lab.close())

it.each([
  ['record', 'hang', false],
  ['record', '401', true],
  ['update', '500', false],
  ['update', 'reset', true],
  ['update', 'refused', true],
  ['optimize', 'malformed', false],
  ['optimize', '401', true],
] as const)('%s, %s (lasting: %s): handled, nothing lost', async (phase, fault, lasting) => {
  const outcome = await lab.trial(phase, fault, lasting)
  expect(outcome.verdict, outcome.detail).toBe('handled')
})
