// Finding 17 (src/tape/, left to its owner): a kept answer reaches the journal through a chain of
// asynchronous appends, which a busy worker runs hundreds of milliseconds later (measured: the
// first of 8 answers kept at +34 ms was on disk at +684 ms). A run killed in between pays for
// those answers again. Appending synchronously when the answer is kept closes that window.
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import type { LearnTapeEntry } from '../../src/formats/types.generated.js'
import { Tape } from '../../src/tape/tape.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'learn-journal-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

const entry: LearnTapeEntry = {
  key: '0123456789abcdef#0',
  case: 'one',
  role: 'student',
  request: { provider: 'openai', model: 'gpt-4o-mini', modelConfig: {}, messages: [], functions: [], stream: null },
  response: { kind: 'chat', chat: { results: [{ index: 0, content: 'Polite reply: hi' }] } },
  latencyMs: 1,
}

it.fails('has a kept answer on disk the moment it is kept', async () => {
  const journal = join(dir, 'journal', 'support.jsonl')
  const tape = await Tape.load({ path: join(dir, 'tape.json'), spec: 'support', mode: 'new', recordCommand: 'npx vitest run', journal })
  tape.record(entry) // outside a step: kept at once
  expect(existsSync(journal) ? readFileSync(journal, 'utf8') : '(no journal yet)').toContain(entry.key)
})
