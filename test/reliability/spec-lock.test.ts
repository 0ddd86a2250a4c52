import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LearnError } from '../../src/errors.js'
import { lockSpecFolder, removeCrashDebris } from '../../src/formats/spec-folders.js'
import { deadPid } from '../storage/support/processes.js'

let root: string
let folder: string
const lockPath = () => join(folder, '.vitest-learn.lock')

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'learn-spec-lock-'))
  folder = join(root, 'snapshots', 'support')
})
afterEach(() => rm(root, { recursive: true, force: true }))

describe("a spec folder's lock", () => {
  it('is held until released; a second run waits, and fails naming the folder and the process that holds it', async () => {
    const first = await lockSpecFolder(folder, { timeoutMs: 1000 })
    const waits: string[] = []
    const error = await lockSpecFolder(folder, { timeoutMs: 200, onWait: (message) => waits.push(message) }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(LearnError)
    expect((error as LearnError).file).toBe(`${folder}/`)
    expect((error as LearnError).message).toContain(`another vitest-learn run (process ${process.pid} on ${hostname()})`)
    expect((error as LearnError).fix).toContain(lockPath())
    expect(waits).toEqual([expect.stringContaining(`another vitest-learn run (process ${process.pid} on ${hostname()}) is writing it`)])

    await writeFile(join(folder, 'tape.json'), '{}')
    await first.release()
    expect(existsSync(lockPath())).toBe(false)
    const second = await lockSpecFolder(folder, { timeoutMs: 200 })
    await second.release()
    expect(await readdir(folder)).toEqual(['tape.json'])
  })

  it('leaves no folder behind for a spec whose run wrote nothing', async () => {
    const lock = await lockSpecFolder(folder, { timeoutMs: 200 })
    await lock.release()
    expect(existsSync(folder)).toBe(false)
  })

  it('is taken over at once from a run that was killed, and cleared as crash debris', async () => {
    await mkdir(folder, { recursive: true })
    await writeFile(lockPath(), JSON.stringify({ pid: await deadPid(), host: hostname(), token: 'killed' }))
    const lock = await lockSpecFolder(folder, { timeoutMs: 0 })
    await lock.release()

    await mkdir(folder, { recursive: true })
    await writeFile(lockPath(), JSON.stringify({ pid: await deadPid(), host: hostname(), token: 'killed' }))
    await removeCrashDebris(folder)
    expect(existsSync(lockPath())).toBe(false)
  })

  it("is left alone as crash debris while its run is alive, or when another machine's", async () => {
    await mkdir(folder, { recursive: true })
    await writeFile(lockPath(), JSON.stringify({ pid: process.pid, host: hostname(), token: 'alive' }))
    await removeCrashDebris(folder)
    expect(existsSync(lockPath())).toBe(true)
    await writeFile(lockPath(), JSON.stringify({ pid: 1, host: 'another-machine', token: 'remote' }))
    await removeCrashDebris(folder)
    expect(existsSync(lockPath())).toBe(true)
  })
})
