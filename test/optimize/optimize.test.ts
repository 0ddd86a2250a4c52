import { existsSync } from 'node:fs'
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readTapeFile } from '../../src/formats/tape-file.js'
import { LearnError } from '../../src/errors.js'
import { readJsonFile } from '../../src/formats/files.js'
import { judgeHash } from '../../src/judge.js'
import { optimizeSpec, readCheckpoint, specHash, writeCheckpoint, type OptimizeProgress, type OptimizeResult } from '../../src/optimize/index.js'
import type { AxTrace } from '../../src/storage/types.js'
import { startModelServer, type ModelServer, type ScriptedCall } from '../support/model-server.js'
import { arrayStorage, removeTempDirs, RULES, SEED_INSTRUCTION, scriptedModels, scriptedWorld, supportSpec, tempDirs, WORSE_INSTRUCTION, type World } from './support.js'

const isJudge = (call: ScriptedCall) => call.outputs.includes('score')
const isProposer = (call: ScriptedCall) => call.outputs.includes('new_instruction')

describe('optimizeSpec against the scripted model server', () => {
  let server: ModelServer
  let world: World
  beforeAll(async () => {
    world = scriptedWorld()
    server = await startModelServer({ script: world.script })
  })
  afterAll(async () => {
    await server.close()
    await removeTempDirs()
  })

  describe('one spec optimized three times', () => {
    const spec = supportSpec()
    let dirs: { snapshotDir: string; cacheDir: string }
    let second: OptimizeResult
    beforeAll(async () => {
      dirs = await tempDirs()
    })

    it('raises the held-out score and writes v1 with its baseline and hashes', async () => {
      world.setProposer('improve')
      server.reset()
      const events: OptimizeProgress[] = []
      const result = await optimizeSpec({ spec, ...dirs, models: scriptedModels(server.url), onProgress: (event) => events.push(event) })

      expect(result.decision).toBe('written')
      expect(result.version).toBe(1)
      expect(result.previousVersion).toBeUndefined()
      expect(result.after.mean).toBeGreaterThan(result.before.mean)
      expect(result.comparison.significant).toBe(true)
      expect(result.comparison.n).toBe(result.stats.validation)
      expect(result.comparison.winProbability).toBeGreaterThan(0.95)
      expect(result.instruction.before).toBe(SEED_INSTRUCTION)
      for (const rule of RULES) expect(result.instruction.after).toContain(rule.instruction)
      expect(result.instruction.diff).toContain(`-${SEED_INSTRUCTION}`)
      // The spec's 6 cases decide it: the win is clear on them, so no synthetic held-out case is needed.
      expect(result.stats).toMatchObject({ errors: 0, synthetic: 10, traces: 0, train: 7, validation: 6, budget: 12, baselineCalls: 6 * 5 * 2 })
      expect(result.stats.rounds).toBeGreaterThanOrEqual(1)
      expect(result.stats.rounds).toBeLessThanOrEqual(12)
      expect(result.cost.calls).toBe(server.requests)
      expect(result.cost.usage.totalTokens).toBeGreaterThan(0)
      expect(result.stoppedBy).toBe('converged')
      expect(result.candidates[0]).toMatchObject({ id: 0, parent: null, origin: 'start', instruction: SEED_INSTRUCTION, kept: true })
      expect(result.candidates.some((candidate) => candidate.kept && candidate.instruction === result.instruction.after)).toBe(true)

      // The checkpoint: validated on read, history equal to current, no training set, the gate's baseline.
      const checkpoint = await readCheckpoint(dirs.snapshotDir)
      expect(checkpoint).toMatchObject({ format: 1, name: spec.name, version: 1, parent: null, optimizer: { type: 'vitest-learn' } })
      expect(checkpoint!.program.instruction).toBe(result.instruction.after)
      expect(checkpoint!.program.componentMap).toEqual({ 'root::instruction': result.instruction.after })
      expect(JSON.stringify(checkpoint)).not.toContain('"examples"')
      expect(Object.keys(checkpoint!.baseline!.scores).sort()).toEqual(spec.cases.map((item) => item.id).sort())
      // A fresh evaluation of v1 with the spec's samples, not the decision's draws (the scripted world is deterministic, so they agree).
      expect(checkpoint!.baseline!.samples).toBe(spec.samples)
      for (const item of spec.cases) expect(checkpoint!.baseline!.scores[item.id]).toBe(result.after.perCase[item.id])
      expect(checkpoint!.hashes).toEqual({ spec: specHash(spec), judge: judgeHash(spec.judge) })
      expect(checkpoint!.cost).toEqual(result.cost)
      const history = await readFile(join(dirs.snapshotDir, 'checkpoints', 'v1.json'), 'utf8')
      expect(history).toBe(await readFile(join(dirs.snapshotDir, 'checkpoint.json'), 'utf8'))
      const synthetic = JSON.parse(await readFile(join(dirs.snapshotDir, 'synthetic.json'), 'utf8')) as { examples: unknown[] }
      expect(synthetic.examples).toHaveLength(10)

      // The run's record, beside the checkpoint it wrote: every candidate, the accepted path's end marked final.
      const [recordName] = await readdir(join(dirs.snapshotDir, 'optimize-runs'))
      const record = await readJsonFile(join(dirs.snapshotDir, 'optimize-runs', recordName!), 'optimizeRun', '')
      expect(result.files).toContain(join(dirs.snapshotDir, 'optimize-runs', recordName!))
      expect(record).toMatchObject({ spec: spec.name, decision: 'written', version: 1, budget: 12, stoppedBy: result.stoppedBy })
      expect(record!.candidates).toHaveLength(result.candidates.length)
      const final = record!.candidates.filter((candidate) => candidate.final)
      expect(final.map((candidate) => candidate.instruction)).toEqual([result.instruction.after])
      expect(record!.candidates.at(-1)!.calls).toBeGreaterThan(record!.candidates[0]!.calls)

      // The judge's reasons reached the proposer: each proposal about one problem, shown on its cases.
      const proposals = server.calls.filter(isProposer)
      expect(proposals.length).toBeGreaterThan(0)
      for (const rule of RULES) expect(proposals.some((call) => call.inputs.problem?.includes(rule.missing))).toBe(true)

      expect([...new Set(events.map((event) => event.phase))]).toEqual(['data', 'search', 'decision', 'done'])
      expect(events.some((event) => event.phase === 'search' && event.round >= 1 && event.bestScore > 0)).toBe(true)
      expect(events.at(-1)).toMatchObject({ calls: result.cost.calls, tokens: result.cost.usage.totalTokens })
    })

    it('keeps v1 when the proposer makes the candidate worse, and reports the figures', async () => {
      world.setProposer('worse')
      server.reset()
      const checkpointBefore = await readFile(join(dirs.snapshotDir, 'checkpoint.json'), 'utf8')
      const cacheKeys = async () => ((await readTapeFile(join(dirs.cacheDir, `${spec.name}.json`), 'fix'))?.entries ?? []).map((entry) => entry.key)
      const cachedBefore = await cacheKeys()
      // The teacher changed behind the same model name: the cache would replay the first run's proposals.
      second = await optimizeSpec({ spec, ...dirs, models: scriptedModels(server.url), noCache: true })
      // --no-cache replaces the answers it asks again; it drops none of the others the first run paid for.
      expect(await cacheKeys()).toEqual(expect.arrayContaining(cachedBefore))

      expect(server.calls.filter(isProposer).length).toBeGreaterThan(0)
      expect(server.calls.some((call) => call.system.includes(WORSE_INSTRUCTION))).toBe(true)
      expect(second.decision).toBe('kept-previous')
      expect(second.version).toBeUndefined()
      expect(second.previousVersion).toBe(1)
      expect(second.comparison.n).toBe(6)
      expect(second.comparison.delta).toBe(0)
      expect(second.before.mean).toBeGreaterThan(0.9)
      expect(Object.keys(second.before.perCase)).toHaveLength(6)
      expect(second.instruction.after).not.toBe(WORSE_INSTRUCTION)
      expect(await readFile(join(dirs.snapshotDir, 'checkpoint.json'), 'utf8')).toBe(checkpointBefore)
      expect(existsSync(join(dirs.snapshotDir, 'checkpoints', 'v2.json'))).toBe(false)
      // Keeping changes nothing in snapshots/: the run's record goes to the cache folder.
      expect(await readdir(join(dirs.snapshotDir, 'optimize-runs'))).toHaveLength(1)
      expect(await readdir(join(dirs.cacheDir, 'optimize-runs', spec.name))).toHaveLength(1)
    })

    it('serves an identical run from the cache without calling the model', async () => {
      server.reset()
      const third = await optimizeSpec({ spec, ...dirs, models: scriptedModels(server.url) })
      expect(server.requests).toBe(0)
      expect(third.cost.calls).toBe(0)
      expect(third.stats.cacheHits).toBeGreaterThan(0)
      expect(third).toMatchObject({ decision: second.decision, comparison: second.comparison, instruction: second.instruction })
    })
  })

  it('stops at the cost cap, which covers the whole run, and keeps the current program when it cannot decide', async () => {
    world.setProposer('improve')
    server.reset()
    const dirs = await tempDirs()
    const result = await optimizeSpec({ spec: supportSpec(), ...dirs, models: scriptedModels(server.url), maxTokens: 12_000, concurrency: 1 })
    expect(result.stoppedBy).toBe('cost-cap')
    // A call is made only when its estimated cost still fits: the cap is not passed, and little of it is left over.
    expect(result.cost.usage.totalTokens).toBeLessThanOrEqual(12_000)
    expect(result.cost.usage.totalTokens).toBeGreaterThan(10_000)
    expect(result.warnings.some((warning) => warning.includes('the cost cap was reached'))).toBe(true)
    expect(['written', 'kept-previous']).toContain(result.decision)
  })

  it('skips the search when synthesis already reached the cost cap', async () => {
    server.reset()
    const dirs = await tempDirs()
    const result = await optimizeSpec({ spec: supportSpec(), ...dirs, models: scriptedModels(server.url), maxUsd: 0.000_001 })
    // No call is affordable under this cap: none is made, and the seed stays, with the reason.
    expect(result).toMatchObject({ stoppedBy: 'cost-cap', decision: 'kept-previous', stats: { rounds: 0, synthetic: 0 } })
    expect(server.requests).toBe(0)
    expect(result.warnings.join('\n')).toMatch(/the cost cap was reached/)
    expect(result.instruction.after).toBe(SEED_INSTRUCTION)
    expect(existsSync(join(dirs.snapshotDir, 'synthetic.json'))).toBe(false)
    expect(existsSync(join(dirs.snapshotDir, 'checkpoint.json'))).toBe(false)
  })

  it('stops cleanly when interrupted, and a rerun resumes from the cache', async () => {
    // Each run on a world of its own, so both make the same synthetic inputs.
    const fresh = async () => {
      const own = scriptedWorld()
      const ownServer = await startModelServer({ script: own.script })
      return { server: ownServer, models: scriptedModels(ownServer.url) }
    }
    const reference = await fresh()
    const full = await optimizeSpec({ spec: supportSpec(), ...(await tempDirs()), models: reference.models })
    const paid = reference.server.requests
    await reference.server.close()

    const { server: own, models } = await fresh()
    const dirs = await tempDirs()
    const controller = new AbortController()
    const interrupted = optimizeSpec({
      spec: supportSpec(),
      ...dirs,
      models,
      onProgress: (event) => {
        if (event.phase === 'search' && event.proposals > 0) controller.abort()
      },
      signal: controller.signal,
    })
    await expect(interrupted).rejects.toThrow(/optimize was interrupted; the model calls it made are cached/)
    const before = own.requests
    expect(before).toBeGreaterThan(0)
    expect(before).toBeLessThan(paid)

    own.reset()
    const resumed = await optimizeSpec({ spec: supportSpec(), ...dirs, models })
    await own.close()
    expect(resumed.comparison).toEqual(full.comparison)
    expect(resumed.instruction).toEqual(full.instruction)
    expect(resumed.stats.cacheHits).toBeGreaterThan(0)
    expect(before + own.requests).toBe(paid)
  })

  it('carries the checkpoint’s model settings into the calls and the next version', async () => {
    world.setProposer('improve')
    const dirs = await tempDirs()
    await writeCheckpoint(dirs.snapshotDir, {
      format: 1,
      name: 'support-optimize',
      version: 1,
      parent: null,
      created: new Date().toISOString(),
      program: { instruction: SEED_INSTRUCTION, modelConfig: { temperature: 0.3 } },
    })
    server.reset()
    const result = await optimizeSpec({ spec: supportSpec(), ...dirs, models: scriptedModels(server.url) })
    expect(result).toMatchObject({ decision: 'written', version: 2 })
    expect((await readCheckpoint(dirs.snapshotDir))!.program.modelConfig).toEqual({ temperature: 0.3 })
    const students = server.calls.filter((call) => call.outputs.includes('polite_reply') && call.model === 'gpt-4o-mini')
    expect(students.length).toBeGreaterThan(0)
    for (const call of students) expect(call.body.temperature).toBe(0.3)
  })

  it('keys the call cache by the server behind a model, and never caches a failed call', async () => {
    world.setProposer('improve')
    const dirs = await tempDirs()
    const other = await startModelServer({ script: world.script })
    try {
      server.reset()
      await optimizeSpec({ spec: supportSpec(), ...dirs, models: scriptedModels(server.url) })
      expect(server.requests).toBeGreaterThan(0)
      // The same model names at another address: nothing may come from the first server's answers.
      await rm(join(dirs.snapshotDir, 'synthetic.json'))
      const elsewhere = await optimizeSpec({ spec: supportSpec(), snapshotDir: join(dirs.snapshotDir, '..', 'elsewhere'), cacheDir: dirs.cacheDir, models: scriptedModels(other.url) })
      expect(elsewhere.stats.cacheHits).toBe(0)
      expect(other.requests).toBe(elsewhere.cost.calls)

      // Every call refused: the run fails, and the cache holds none of it, so a healthy rerun pays for them.
      const third = join(dirs.snapshotDir, '..', 'third')
      const cacheBefore = await readFile(join(dirs.cacheDir, 'support-optimize.json'), 'utf8')
      other.reset()
      other.failNext(10_000, 401)
      await expect(optimizeSpec({ spec: supportSpec({ synthCount: 12 }), snapshotDir: third, cacheDir: dirs.cacheDir, models: scriptedModels(other.url) })).rejects.toThrow(
        new RegExp(`teacher model \\(openai gpt-4o at ${other.url}/chat/completions\\) refused the API key: HTTP 401`),
      )
      expect(await readFile(join(dirs.cacheDir, 'support-optimize.json'), 'utf8')).toBe(cacheBefore)
      other.reset()
      await optimizeSpec({ spec: supportSpec({ synthCount: 12 }), snapshotDir: third, cacheDir: dirs.cacheDir, models: scriptedModels(other.url) })
      expect(other.requests).toBeGreaterThan(0)
    } finally {
      await other.close()
    }
  })

  it('stops when the provider fails every call from some point on, naming the provider and how to resume', async () => {
    const dirs = await tempDirs()
    const failing = await startModelServer({
      script: (call) => {
        if (call.requestIndex === 19) failing.failNext(100_000, 500)
        return world.script(call)
      },
    })
    try {
      const run = optimizeSpec({ spec: supportSpec(), ...dirs, models: { ...scriptedModels(failing.url), retry: { maxAttempts: 1 } } })
      await expect(run).rejects.toThrow(
        new RegExp(`optimize stopped: 4 calls in a row failed at the provider, the last with: the \\w+ model \\(openai [\\w-]+ at ${failing.url}/chat/completions\\) failed: HTTP 500[\\s\\S]*running vitest-learn --optimize again resumes`),
      )
      // Before, the search went on for a minute of failing requests before keeping the seed.
      expect(failing.requests).toBeLessThan(40)
    } finally {
      await failing.close()
    }
  })

  it('learns from production traces: good answers as references, failures with their comment', async () => {
    world.setProposer('improve')
    server.reset()
    const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 12, minute))
    const trace = (id: string, minute: number, query: string, extra: Partial<AxTrace> = {}): AxTrace => ({
      type: 'trace',
      id,
      name: 'support-optimize',
      input: { customer_query: query },
      output: { polite_reply: `Reply to ${query}` },
      startTime: at(minute),
      endTime: at(minute),
      durationMs: 5,
      ...extra,
    })
    const goodReply = 'Dear customer, sorry for the wait. Next step: track it on the Orders page. The support team'
    const storage = arrayStorage([
      trace('good', 1, 'Where is parcel 9?', { output: { polite_reply: goodReply }, feedback: { score: 1 } }),
      trace('bad', 2, 'My refund for order 7?', { feedback: { label: 'bad', comment: 'must end with a next step' } }),
      trace('recent', 3, 'Do you ship to Norway?'),
      trace('other-program', 4, 'x', { input: { ticket: 'wrong fields' } }),
    ])
    const dirs = await tempDirs()
    const result = await optimizeSpec({ spec: supportSpec({ generateExamples: false }), ...dirs, models: scriptedModels(server.url), storage })

    expect(storage.queries.map((query) => query.hasFeedback)).toEqual([true, false])
    expect(result.stats).toMatchObject({ traces: 3, synthetic: 0, train: 2 })
    expect(result.warnings.some((warning) => warning.includes('1 trace(s) were skipped'))).toBe(true)
    const judged = server.calls.filter(isJudge)
    expect(judged.some((call) => call.inputs.task_input?.includes('Where is parcel 9?') && call.inputs.reference?.includes(goodReply))).toBe(true)
    expect(judged.some((call) => call.inputs.task_input?.includes('My refund for order 7?') && call.inputs.criteria === 'must end with a next step')).toBe(true)
    // A trace without feedback is an input only: wherever it was judged, it had no reference.
    expect(judged.filter((call) => call.inputs.task_input?.includes('Do you ship to Norway?')).every((call) => call.inputs.reference === undefined)).toBe(true)
    expect(result.decision).toBe('written')
  })

  it('explains what is missing: data to learn from, or a teacher', async () => {
    const dirs = await tempDirs()
    const noData = optimizeSpec({ spec: supportSpec({ generateExamples: false }), ...dirs, models: scriptedModels(server.url), specFile: 'support.learn.ts' })
    await expect(noData).rejects.toThrow(LearnError)
    await expect(noData).rejects.toThrow(/support\.learn\.ts › optimize: optimize needs at least 2 cases to learn from[\s\S]*fix: enable generateExamples/)
    const { student } = scriptedModels(server.url)
    await expect(optimizeSpec({ spec: supportSpec(), ...dirs, models: { student } })).rejects.toThrow(/teacher: optimize needs a teacher model/)
  })
})
