// Finding 17: a kept answer reached the journal through a chain of asynchronous appends, which a
// busy worker ran hundreds of milliseconds later (measured: the first of 8 answers kept at +34 ms
// was on disk at +684 ms), so a run killed in between paid for those answers again. The answer
// is now appended synchronously when it is kept.
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { Tape } from '../../src/tape/tape.js'
import { tapeEntry } from './support/fixtures.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'learn-journal-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

const entry = tapeEntry()

it('has a kept answer on disk the moment it is kept', async () => {
  const journal = join(dir, 'journal', 'support.jsonl')
  const tape = await Tape.load({ path: join(dir, 'tape.json'), spec: 'support', mode: 'new', recordCommand: 'npx vitest run', journal })
  tape.record(entry) // outside a step: kept at once
  expect(existsSync(journal) ? readFileSync(journal, 'utf8') : '(no journal yet)').toContain(entry.key)
})
