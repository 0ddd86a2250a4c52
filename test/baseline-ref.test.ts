// --baseline-ref reads a checkpoint's baseline at another commit with git, and marks it
// incomparable only when the judge changed since.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ax } from '@ax-llm/ax'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { baselineAtRef } from '../src/baseline-ref.js'
import { specHashes } from '../src/optimize/spec-hash.js'
import { defineLearn } from '../src/spec.js'
import { checkpoint } from './report/support/fixtures.js'

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vitest-learn-baseline-ref-'))
})
afterEach(() => rm(root, { recursive: true, force: true }))

const spec = (rubric: string) =>
  defineLearn({
    name: 'spec',
    program: ax('question:string -> answer:string'),
    instruction: 'Answer.',
    cases: [{ id: 'a', input: { question: 'Where is order 1042?' } }],
    judge: { rubric, trajectory: true },
  })

const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: root, stdio: 'pipe' })

it('compares with the baseline of a checkpoint a trajectory judge wrote, and calls it incomparable once the rubric changed', async () => {
  const snapshotDir = join(root, 'snapshots', 'spec')
  await mkdir(snapshotDir, { recursive: true })
  await writeFile(join(snapshotDir, 'checkpoint.json'), JSON.stringify({ ...checkpoint(1), hashes: specHashes(spec('States the status.')) }))
  git('init', '-q')
  git('add', '.')
  git('commit', '-q', '-m', 'baseline')

  const same = await baselineAtRef({ ref: 'HEAD', root, snapshotDir, spec: spec('States the status.') })
  expect(same).toMatchObject({ scores: { a: 0.9 } })
  expect(same?.incomparable).toBeUndefined()
  const changed = await baselineAtRef({ ref: 'HEAD', root, snapshotDir, spec: spec('States the status and the date.') })
  expect(changed?.incomparable).toMatch(/the judge \(its rubric or prompt\) changed since HEAD/)
})
