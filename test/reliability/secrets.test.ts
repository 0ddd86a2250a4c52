// The sentinel search, and the ways a key used to reach a file (RELIABILITY.md, findings 12 to 14).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ax } from '@ax-llm/ax'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineLearn } from '../../src/spec.js'
import { SpecSession } from '../../src/session.js'
import { optimizeSpec } from '../../src/optimize/index.js'
import { postgresSkip, postgresUrl, requirePostgres } from '../storage/support/postgres.js'
import { removeTempDirs, scriptedModels, scriptedWorld, supportSpec, tempDirs } from '../optimize/support.js'
import { startModelServer, type ModelServer, type Script, type ScriptedReply } from '../support/model-server.js'
import { recordScript, SENTINEL } from './support/fixtures.js'
import { sentinelSearch } from './support/sentinel.js'

describe('the sentinel key', () => {
  it(`is in no file a run writes, no store and no output${postgresSkip ? ` (Postgres skipped: ${postgresSkip})` : ''}`, async () => {
    if (!postgresSkip) await requirePostgres()
    const result = await sentinelSearch(postgresSkip ? {} : { postgresUrl })
    expect(result.searched).toEqual(
      expect.arrayContaining([
        'snapshots/support/tape.json',
        'snapshots/support/traces.jsonl',
        'node_modules/.cache/vitest-learn/journal/support.jsonl',
        'node_modules/.cache/vitest-learn/tuned.json',
        'node_modules/.cache/vitest-learn/journal/optimize-tuned.jsonl',
        'reports/record.xml',
        'reports/record.json',
        '.learn/agent/traces.jsonl',
        'traces.db',
        'output of the optimize run',
      ]),
    )
    expect(result.found.sort()).toEqual([])
  }, 240_000)
})

/** A model that repeats `secret` in every string it writes. */
function echoing(script: Script, secret: string): Script {
  const echo = (value: unknown): unknown =>
    typeof value === 'string' ? `${value} ${secret}` : Array.isArray(value) ? value.map(echo) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, echo(item)])) : value
  return async (call) => echo(await script(call)) as ScriptedReply
}

describe('known leaks and their consequences', () => {
  let server: ModelServer
  beforeAll(async () => {
    server = await startModelServer()
  })
  afterAll(async () => {
    await server.close()
    await removeTempDirs()
  })

  // Finding 12: optimize wrote the teacher's proposed instruction (and componentMap) as it was.
  // Finding 13: synthetic.json held the teacher's synthetic cases as they were.
  it('optimize never writes a model key into checkpoint.json, checkpoints/ or synthetic.json', async () => {
    const key = (scriptedModels(server.url).student as { apiKey: string }).apiKey
    server.setScript(echoing(scriptedWorld().script, key))
    const dirs = await tempDirs()
    await optimizeSpec({ spec: supportSpec(), ...dirs, models: scriptedModels(server.url) })
    for (const file of ['checkpoint.json', 'checkpoints/v1.json', 'synthetic.json'])
      expect(await readFile(join(dirs.snapshotDir, file), 'utf8'), file).not.toContain(key)
  })

  // Finding 14: an answer that repeats a key is recorded redacted, but the next call (the judge's,
  // whose prompt holds that answer) was keyed by the hash of its prompt with the key in it. A replay
  // fed the judge the redacted answer, so its key never matched: CI failed the case forever. Keys
  // are now hashed from the redacted request.
  it('replays a case whose input holds the key and whose answer repeats it', async () => {
    server.setScript(recordScript) // the reply quotes the query
    const dirs = await tempDirs()
    const spec = defineLearn({
      name: 'pasted',
      program: ax('customer_query:string -> polite_reply:string'),
      instruction: 'Reply politely.',
      cases: [{ input: { customer_query: `My key ${SENTINEL} is refused, why?` } }],
      judge: 'Polite.',
    })
    const models = { student: { name: 'openai' as const, apiKey: SENTINEL, apiURL: server.url, config: { model: 'gpt-4o-mini' } } }
    const run = async (mode: 'new' | 'none') => {
      const session = await SpecSession.open({ spec, specFile: 'pasted.learn.ts', snapshotDir: dirs.snapshotDir, mode, models, recordCommand: 'npx vitest run' })
      await session.runCase(spec.cases[0]!)
      await session.close()
    }
    await run('new')
    expect(await readFile(join(dirs.snapshotDir, 'tape.json'), 'utf8')).not.toContain(SENTINEL)
    await run('none')
  })
})
