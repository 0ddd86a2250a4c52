// A few SIGKILL trials with fixed seeds (bench/reliability.ts runs a hundred and more): whatever
// moment the kill lands on, every file validates, nothing recorded or acknowledged is lost, and
// the next run passes without paying again for what the killed run kept.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deadPid } from '../storage/support/processes.js'
import { createProject } from '../support/project.js'
import { configSource, recordSpecSource } from './support/fixtures.js'
import { KillLab, storeTrial } from './support/kill-trials.js'

describe('SIGKILL during a run, then the next run', () => {
  const lab = new KillLab()
  beforeAll(() => lab.start())
  afterAll(() => lab.close())

  // Optimize kills take half a minute each: the bench runs them (its call cache is tested in optimize-cache.test.ts).
  it.each([
    ['record', 3],
    ['update', 2],
  ] as const)('%s, seed %i: files valid, nothing lost, the next run recovers', async (kind, seed) => {
    const outcome = await lab.trial(kind, seed)
    expect(outcome.problems).toEqual([])
    expect(outcome).toMatchObject({ invalid: [], recovered: true, paidAgain: 0, lost: 0 })
  })
})

describe('SIGKILL of a process saving traces, then the next process', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'learn-kill-store-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it.each([
    ['files-store', 2],
    ['sqlite-store', 1],
  ] as const)('%s, seed %i: every acknowledged trace, feedback and checkpoint survives', async (kind, seed) => {
    const outcome = await storeTrial(kind, seed, dir)
    expect(outcome.problems).toEqual([])
    expect(outcome).toMatchObject({ invalid: [], recovered: true, lost: 0 })
  })
})

it("clears the temporary files killed writers left in the call cache and the journals, never a live writer's", async () => {
  const project = await createProject({ 'vitest.config.ts': configSource(), 'support.learn.ts': recordSpecSource() })
  try {
    const cache = join(project.dir, 'node_modules/.cache/vitest-learn')
    await mkdir(join(cache, 'journal'), { recursive: true })
    const dead = await deadPid()
    const left = [`support.json.${dead}.0123abcd.tmp`, `journal/support.jsonl.${dead}.89abcdef.tmp`]
    const live = `support.json.${process.pid}.00000000.tmp`
    for (const name of [...left, live]) await writeFile(join(cache, name), '{"torn')
    await project.vitest(['--passWithNoTests', 'nothing-matches'], { ci: true })
    expect(await readdir(cache, { recursive: true })).toEqual(expect.arrayContaining(['journal', live]))
    expect((await readdir(cache, { recursive: true })).filter((name) => name.endsWith('.tmp'))).toEqual([live])
  } finally {
    await project.remove()
  }
})
