// The optimizer on the hard worlds (test/worlds/), judged by each world's true quality of the
// instruction it writes, computed from the world's rules: never by the judge's own mean.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { optimizeSpec } from '../../src/optimize/index.js'
import { startModelServer } from '../support/model-server.js'
import { worldModels, type SomeWorld } from '../worlds/common.js'
import { supportRules } from '../worlds/support-rules.js'
import { ticketPriority } from '../worlds/ticket-priority.js'

const roots: string[] = []
afterAll(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))))

describe.each([supportRules, ticketPriority] as SomeWorld[])('optimizing the $name world at the default budget', (world) => {
  it('writes a checkpoint holding at least 90% of the achievable lift, in true quality', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vitest-learn-world-'))
    roots.push(root)
    const server = await startModelServer({ script: world.createScript({ seed: 1 }) })
    try {
      const result = await optimizeSpec({ spec: world.spec(), snapshotDir: join(root, 'snapshots', world.name), cacheDir: join(root, 'cache'), models: worldModels(server.url), seed: 1 })
      expect(result.decision).toBe('written')
      expect(result.stats.budget).toBe(20)
      const lift = (world.trueQuality(result.instruction.after) - world.seedQuality) / (world.ceiling - world.seedQuality)
      expect(lift).toBeGreaterThanOrEqual(0.9)
      // It learned several rules in one run: more than one proposal was kept.
      expect(result.stats.accepted).toBeGreaterThanOrEqual(4)
    } finally {
      await server.close()
    }
  })
})
