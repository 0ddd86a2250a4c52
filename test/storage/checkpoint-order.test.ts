import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ax } from '@ax-llm/ax'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { toPrettyJson } from '../../src/formats/files.js'
import type { LearnCheckpoint } from '../../src/formats/types.generated.js'
import { readCheckpoint, writeCheckpoint } from '../../src/optimize/checkpoint.js'
import { AxLearn, AxFileStorage, AxMemoryStorage, type AxCheckpoint } from '../../src/index.js'

// A process killed between two writes is simulated by a writeFileAtomic that fails from the Nth
// call on: nothing after that point runs, as if the process had died there.
const crash = vi.hoisted(() => ({ afterWrites: Number.POSITIVE_INFINITY, writes: 0 }))
vi.mock('../../src/formats/files.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/formats/files.js')>()
  return {
    ...actual,
    writeFileAtomic: async (path: string, text: string) => {
      if (crash.writes++ >= crash.afterWrites) throw new Error(`simulated crash before writing ${path}`)
      return actual.writeFileAtomic(path, text)
    },
  }
})

const NAME = 'support-chat'
let root: string
let folder: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'learn-checkpoint-order-'))
  folder = join(root, NAME)
  crash.afterWrites = Number.POSITIVE_INFINITY
  crash.writes = 0
})
afterEach(() => rm(root, { recursive: true, force: true }))

function checkpoint(version: number): LearnCheckpoint {
  return {
    format: 1,
    name: NAME,
    version,
    parent: version > 1 ? version - 1 : null,
    created: new Date(Date.UTC(2024, 0, version)).toISOString(),
    program: { instruction: `instruction of v${version}` },
  }
}

/** The version each reader takes as current: the test suite, the files store, an AxLearn agent on each. */
async function currentEverywhere(): Promise<Record<string, number | undefined>> {
  const store = new AxFileStorage({ dir: root })
  try {
    const [stored] = (await store.load(NAME, { type: 'checkpoint', limit: 1 })) as AxCheckpoint[]
    const onStore = new AxLearn(ax('customer_query:string -> polite_reply:string'), { name: NAME, storage: store })
    const committed = new AxLearn(ax('customer_query:string -> polite_reply:string'), {
      name: NAME,
      storage: new AxMemoryStorage(),
      checkpoints: root,
      onError: (error) => {
        throw error
      },
    })
    await Promise.all([onStore.ready(), committed.ready()])
    return {
      tests: (await readCheckpoint(folder))?.version,
      filesStore: stored?.version,
      agentOnFilesStore: onStore.getCheckpoint()?.version,
      agentOnCommitted: committed.getCheckpoint()?.version,
    }
  } finally {
    await store.close()
  }
}

describe('checkpoint.json is the one authority on the current checkpoint', () => {
  it('a history file ahead of checkpoint.json (left by a killed optimize) is ignored by every reader', async () => {
    await writeCheckpoint(folder, checkpoint(1))
    await writeFile(join(folder, 'checkpoints', 'v2.json'), toPrettyJson(checkpoint(2)))
    expect(await currentEverywhere()).toEqual({ tests: 1, filesStore: 1, agentOnFilesStore: 1, agentOnCommitted: 1 })
    // and the next version does not overwrite it
    const { history } = await writeCheckpoint(folder, { ...checkpoint(3), parent: 1 })
    expect(history).toBe(join(folder, 'checkpoints', 'v3.json'))
    expect(JSON.parse(await readFile(join(folder, 'checkpoints', 'v2.json'), 'utf8')).version).toBe(2)
  })

  // writeCheckpoint(v2) over v1 makes two writes: checkpoint.json and checkpoints/v2.json.
  it.each([0, 1])('a crash after %i of the writes of v2 leaves every reader on the same complete checkpoint, and the next write completes the history', async (writes) => {
    await writeCheckpoint(folder, checkpoint(1))
    crash.writes = 0
    crash.afterWrites = writes
    await expect(writeCheckpoint(folder, checkpoint(2))).rejects.toThrow(/simulated crash/)
    const seen = await currentEverywhere()
    expect(new Set(Object.values(seen)).size, JSON.stringify(seen)).toBe(1)
    expect(seen.tests).toBe(writes === 0 ? 1 : 2)

    crash.afterWrites = Number.POSITIVE_INFINITY
    await writeCheckpoint(folder, checkpoint(3))
    const history = (await readdir(join(folder, 'checkpoints'))).sort()
    expect(history).toEqual(writes === 0 ? ['v1.json', 'v3.json'] : ['v1.json', 'v2.json', 'v3.json'])
    if (writes === 1) expect(JSON.parse(await readFile(join(folder, 'checkpoints', 'v2.json'), 'utf8'))).toEqual(checkpoint(2))
    expect(await currentEverywhere()).toEqual({ tests: 3, filesStore: 3, agentOnFilesStore: 3, agentOnCommitted: 3 })
  })

  it('the files store writes in the same order: a crash after its first write of v2 leaves v2 current everywhere', async () => {
    const store = new AxFileStorage({ dir: root })
    const saved = (version: number): AxCheckpoint => ({ type: 'checkpoint', name: NAME, version, createdAt: new Date(Date.UTC(2024, 0, version)) })
    await store.save(NAME, saved(1))
    crash.writes = 0
    crash.afterWrites = 1
    await expect(store.save(NAME, saved(2))).rejects.toThrow(/simulated crash/)
    await store.close()
    expect(await currentEverywhere()).toEqual({ tests: 2, filesStore: 2, agentOnFilesStore: 2, agentOnCommitted: 2 })
  })

  it('a checkpoint.json written by hand, with no history, is kept in the history before a new version replaces it', async () => {
    await mkdir(folder, { recursive: true })
    await writeFile(join(folder, 'checkpoint.json'), toPrettyJson(checkpoint(1)))
    await writeCheckpoint(folder, checkpoint(2))
    expect(JSON.parse(await readFile(join(folder, 'checkpoints', 'v1.json'), 'utf8'))).toEqual(checkpoint(1))
  })
})
