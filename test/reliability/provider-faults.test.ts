// Provider faults mid-run (bench/reliability.ts runs every fault in every phase): a fault that
// passes is retried and the run passes; one that lasts fails the run naming the URL and the
// cause, and costs no recording and writes no checkpoint.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { optimizeSpec } from '../../src/optimize/index.js'
import { removeTempDirs, scriptedModels, scriptedWorld, SEED_INSTRUCTION, supportSpec, tempDirs } from '../optimize/support.js'
import { instructionOf, startModelServer } from '../support/model-server.js'
import { FaultLab } from './support/provider-faults.js'

const lab = new FaultLab()
beforeAll(() => lab.start())
afterAll(() => lab.close())

// (-u with every call refused keeps every recording: recording.test.ts.)
it.each([
  ['record', 'hang', false],
  ['record', 'reset', true],
  ['optimize', 'malformed', false],
  ['optimize', '401', true],
] as const)('%s, %s (lasting: %s): handled, nothing lost', async (phase, fault, lasting) => {
  const outcome = await lab.trial(phase, fault, lasting)
  expect(outcome.verdict, outcome.detail).toBe('handled')
})

// Finding 18: a held-out case whose call failed on the current program used to score 0 in the
// paired comparison, so a candidate no better than it won by the provider's failures and was
// written. The decision now compares only the cases scored on both programs.
it('never writes a checkpoint that wins only because calls on the current program failed', async () => {
  const world = scriptedWorld()
  const failing = new Set(['Where is my order #12345?', 'The lamp arrived broken.', 'How do I change my shipping address?'])
  const server = await startModelServer({
    script: (call) => {
      // A candidate of the same quality: the proposer adds a sentence no rule asks for.
      if (call.outputs.includes('new_instruction')) return { new_instruction: `${call.inputs.current_instruction ?? ''} Be kind.` }
      // The student fails on the seed for the synthetic cases (so GEPA prefers the candidate) and
      // for three of the spec's cases (held out): its answers lack the reply, so ax gives up. (An
      // HTTP error on every one of them would stop the run instead: the provider looks down.)
      const query = call.inputs.customer_query ?? ''
      const onSeed = call.model === 'gpt-4o-mini' && call.outputs.includes('polite_reply') && instructionOf(call) === SEED_INSTRUCTION
      if (onSeed && (failing.has(query) || query.startsWith('My order #'))) return {}
      return world.script(call)
    },
  })
  try {
    const result = await optimizeSpec({ spec: supportSpec(), ...(await tempDirs()), models: { ...scriptedModels(server.url), retry: { maxAttempts: 1 } } })
    expect(result.stats.errors).toBeGreaterThan(0)
    // The search did find the candidate, so the decision really compared it with the seed.
    expect(result.instruction.after).toBe(`${SEED_INSTRUCTION} Be kind.`)
    // Before: written, 0.067 → 0.222 "significant", the candidate being the seed plus "Be kind.".
    expect(result.decision).toBe('kept-previous')
  } finally {
    await server.close()
    await removeTempDirs()
  }
})
