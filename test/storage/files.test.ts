import { spawn } from 'node:child_process'
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LearnError } from '../../src/errors.js'
import { readJsonFile, readJsonLines } from '../../src/formats/files.js'
import { AxFileStorage, type AxCheckpoint, type AxTrace } from '../../src/storage/index.js'
import { deadPid, startScript } from './support/processes.js'
import { at, makeCheckpoint, makeTrace } from './support/traces.js'

const support = (file: string) => fileURLToPath(new URL(`./support/${file}`, import.meta.url))
const NAME = 'support-chat'

let dir: string
let folder: string
let storage: AxFileStorage

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'learn-files-'))
  folder = join(dir, NAME)
  storage = new AxFileStorage({ dir })
})
afterEach(async () => {
  await storage.close()
  await rm(dir, { recursive: true, force: true })
})

const tracesPath = () => join(folder, 'traces.jsonl')
const loadTraces = (query = {}) => storage.load(NAME, { type: 'trace', ...query }) as Promise<AxTrace[]>
const loadCheckpoints = () => storage.load(NAME, { type: 'checkpoint' }) as Promise<AxCheckpoint[]>

function runWriter(prefix: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', support('register-ts.mjs'), support('file-writer.ts'), dir, NAME, prefix, String(count)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${prefix} exited with ${code}:\n${stderr}`))))
  })
}

async function thrown(promise: Promise<unknown>): Promise<LearnError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(LearnError)
  return error as LearnError
}

describe('AxFileStorage folder format', () => {
  it('writes traces.jsonl, checkpoint.json and checkpoints/vN.json that validate against the schemas', async () => {
    await storage.save(NAME, makeTrace('a', { metadata: { case: 'case-1', score: 0.75, reasons: 'polite', other: 1 } }))
    await storage.save(NAME, makeTrace('b', { feedback: { score: 1 } }))
    await storage.save(
      NAME,
      makeCheckpoint(1, {
        instruction: 'Be kind.',
        examples: [{ q: 'hi' }],
        optimizerType: 'gepa',
        metadata: { baseline: { mean: 0.8, scores: { c: 0.8 } } },
      }),
    )
    const lines = await readJsonLines(tracesPath(), 'trace', '')
    expect(lines.map((line) => line.id)).toEqual(['a', 'b'])
    expect(lines[0]).toMatchObject({
      case: 'case-1',
      score: 0.75,
      reasons: 'polite',
      metadata: { other: 1 },
      startTime: at(0).toISOString(),
    })
    const current = await readJsonFile(join(folder, 'checkpoint.json'), 'checkpoint', '')
    expect(current).toEqual({
      format: 1,
      name: NAME,
      version: 1,
      parent: null,
      created: at(1000).toISOString(),
      program: { instruction: 'Be kind.', demos: [{ programId: 'root', traces: [{ q: 'hi' }] }] },
      baseline: { mean: 0.8, scores: { c: 0.8 } },
      optimizer: { type: 'gepa' },
    })
    expect(await readFile(join(folder, 'checkpoints', 'v1.json'), 'utf8')).toBe(
      await readFile(join(folder, 'checkpoint.json'), 'utf8'),
    )
    expect(await readdir(folder)).toEqual(expect.arrayContaining(['traces.jsonl', 'checkpoint.json', 'checkpoints']))
    expect((await readdir(folder)).filter((file) => file.includes('lock') || file.endsWith('.tmp'))).toEqual([])
  })

  it('reads traces.jsonl lines written by a test run (case, score, reasons)', async () => {
    await mkdir(folder, { recursive: true })
    const line = { ...JSON.parse(JSON.stringify(makeTrace('run-1'))), case: 'case-1', score: 0.5, reasons: 'too long' }
    await writeFile(tracesPath(), `${JSON.stringify(line)}\n`)
    const [trace] = await loadTraces()
    expect(trace).toStrictEqual(makeTrace('run-1', { metadata: { case: 'case-1', score: 0.5, reasons: 'too long' } }))
    // giving it feedback keeps the test-run fields where a test run reads them
    await storage.save(NAME, { ...(trace as AxTrace), feedback: { score: 0 } })
    const [written] = await readJsonLines(tracesPath(), 'trace', '')
    expect(written).toMatchObject({ case: 'case-1', score: 0.5, reasons: 'too long', feedback: { score: 0 } })
    expect(written?.metadata).toBeUndefined()
  })

  it('an update rewrites only its own line and keeps every other line byte for byte', async () => {
    await mkdir(folder, { recursive: true })
    const handWritten = [
      JSON.stringify(JSON.parse(JSON.stringify(makeTrace('x')))).replace('{', '{ '),
      `  ${JSON.stringify(JSON.parse(JSON.stringify(makeTrace('y'))))}`,
      JSON.stringify(JSON.parse(JSON.stringify(makeTrace('z')))),
    ]
    await writeFile(tracesPath(), `${handWritten.join('\n')}\n`)
    await storage.save(NAME, makeTrace('y', { feedback: { label: 'bad' } }))
    const lines = (await readFile(tracesPath(), 'utf8')).split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toBe(handWritten[0])
    expect(lines[2]).toBe(handWritten[2])
    expect(JSON.parse(lines[1] as string).feedback).toEqual({ label: 'bad' })
  })

  it('appends after a last line that has no newline', async () => {
    await mkdir(folder, { recursive: true })
    await writeFile(tracesPath(), JSON.stringify(JSON.parse(JSON.stringify(makeTrace('old')))))
    await storage.save(NAME, makeTrace('new'))
    expect((await loadTraces()).map((trace) => trace.id).sort()).toEqual(['new', 'old'])
    expect((await readFile(tracesPath(), 'utf8')).split('\n')).toHaveLength(3)
  })
})

describe('AxFileStorage with concurrent writers', () => {
  it('loses nothing when several processes append to one traces.jsonl and update it', async () => {
    const processes = ['p1', 'p2', 'p3', 'p4']
    const perProcess = 150
    const inProcess = Array.from({ length: 100 }, (_, i) => makeTrace(`main-${i}`, { startTime: at(i) }))
    await Promise.all([
      ...processes.map((prefix) => runWriter(prefix, perProcess)),
      // and this process writes at the same time, one save at a time
      (async () => {
        for (const trace of inProcess) await storage.save(NAME, trace)
      })(),
    ])
    const traces = await loadTraces()
    const expected = processes.flatMap((prefix) => Array.from({ length: perProcess }, (_, i) => `${prefix}-${i}`))
    expect(traces.map((trace) => trace.id).sort()).toEqual([...expected, ...inProcess.map((trace) => trace.id)].sort())
    const withFeedback = traces.filter((trace) => trace.feedback)
    expect(withFeedback).toHaveLength(processes.length * Math.ceil(perProcess / 3))
    for (const trace of withFeedback) expect(trace.feedback).toEqual({ score: 1, label: trace.id.split('-')[0] })
    // no duplicate or torn line in the file itself
    const lines = await readJsonLines(tracesPath(), 'trace', '')
    expect(lines).toHaveLength(expected.length + inProcess.length)
    expect(new Set(lines.map((line) => line.id)).size).toBe(lines.length)
    expect((await readdir(folder)).filter((file) => file !== 'traces.jsonl')).toEqual([])
  }, 60_000)

  it('two instances in one process share the folder safely', async () => {
    const other = new AxFileStorage({ dir })
    try {
      await Promise.all([
        ...Array.from({ length: 200 }, (_, i) => storage.save(NAME, makeTrace(`a${i}`))),
        ...Array.from({ length: 200 }, (_, i) => other.save(NAME, makeTrace(`b${i}`, i % 2 ? { feedback: {} } : {}))),
        ...Array.from({ length: 50 }, (_, i) => other.save(NAME, makeTrace(`a${i}`, { feedback: { score: i } }))),
      ])
      const traces = await loadTraces()
      expect(traces).toHaveLength(400)
    } finally {
      await other.close()
    }
  })
})

describe('AxFileStorage with damaged files', () => {
  const valid = (id: string) => JSON.stringify(JSON.parse(JSON.stringify(makeTrace(id))))

  it('a malformed line fails loads and saves with file:line, and the file is left untouched', async () => {
    await mkdir(folder, { recursive: true })
    const text = `${valid('a')}\n{"type":"trace", broken\n${valid('b')}\n`
    await writeFile(tracesPath(), text)
    const onLoad = await thrown(loadTraces())
    expect(onLoad.file).toBe(`${tracesPath()}:2`)
    expect(onLoad.message).toContain(`${tracesPath()}:2`)
    expect(onLoad.message).toMatch(/not valid JSON/)
    const onAppend = await thrown(storage.save(NAME, makeTrace('c')))
    expect(onAppend.file).toBe(`${tracesPath()}:2`)
    const onUpdate = await thrown(storage.save(NAME, makeTrace('a', { feedback: { score: 1 } })))
    expect(onUpdate.file).toBe(`${tracesPath()}:2`)
    expect(await readFile(tracesPath(), 'utf8')).toBe(text)
  })

  it('a line that breaks the schema is reported with file:line and field', async () => {
    await mkdir(folder, { recursive: true })
    const bad = JSON.stringify({ ...JSON.parse(valid('b')), startTime: 'yesterday' })
    await writeFile(tracesPath(), `${valid('a')}\n\n${bad}\n`)
    const error = await thrown(loadTraces())
    expect(error.file).toBe(`${tracesPath()}:3`)
    expect(error.field).toBe('startTime')
  })

  it('a damaged line appended by another process after this one looked is still caught', async () => {
    await storage.save(NAME, makeTrace('a'))
    const before = await readFile(tracesPath(), 'utf8')
    await writeFile(tracesPath(), `${before}not json\n`)
    const error = await thrown(storage.save(NAME, makeTrace('b')))
    expect(error.file).toBe(`${tracesPath()}:2`)
    expect(await readFile(tracesPath(), 'utf8')).toBe(`${before}not json\n`)
  })

  it('repairs a torn last line on the next save, keeping every complete line', async () => {
    await mkdir(folder, { recursive: true })
    await writeFile(tracesPath(), `${valid('a')}\n${valid('b')}\n{"type":"trace","id":"c","na`)
    await storage.save(NAME, makeTrace('d'))
    expect(await readFile(tracesPath(), 'utf8')).toBe(`${valid('a')}\n${valid('b')}\n${valid('d')}\n`)
    expect((await loadTraces()).map((trace) => trace.id).sort()).toEqual(['a', 'b', 'd'])
  })

  it('repairs a line torn by another writer after this one looked', async () => {
    await storage.save(NAME, makeTrace('a'))
    await appendFile(tracesPath(), '{"type":"trace","id":"torn","inp')
    await storage.save(NAME, makeTrace('b', { feedback: { score: 1 } }))
    await storage.save(NAME, makeTrace('a', { feedback: { score: 0 } }))
    const lines = await readJsonLines(tracesPath(), 'trace', '')
    expect(lines.map((line) => [line.id, line.feedback?.score])).toEqual([
      ['a', 0],
      ['b', 1],
    ])
  })

  it('a torn last line after a damaged line repairs nothing: the file stays untouched and the damaged line is named', async () => {
    await mkdir(folder, { recursive: true })
    const text = `${valid('a')}\nnot json\n${valid('b')}\n{"type":"tr`
    await writeFile(tracesPath(), text)
    const error = await thrown(storage.save(NAME, makeTrace('c')))
    expect(error.file).toBe(`${tracesPath()}:2`)
    expect(await readFile(tracesPath(), 'utf8')).toBe(text)
  })

  it('loads skip a last line still being appended (no newline yet)', async () => {
    await mkdir(folder, { recursive: true })
    await writeFile(tracesPath(), `${valid('a')}\n{"type":"trace","id":"b","na`)
    expect((await loadTraces()).map((trace) => trace.id)).toEqual(['a'])
  })

  it('a malformed checkpoint file is reported by path, and not overwritten', async () => {
    await mkdir(join(folder, 'checkpoints'), { recursive: true })
    await writeFile(join(folder, 'checkpoint.json'), '{"format": 1,')
    const onLoad = await thrown(loadCheckpoints())
    expect(onLoad.file).toBe(join(folder, 'checkpoint.json'))
    await thrown(storage.save(NAME, makeCheckpoint(1)))
    expect(await readFile(join(folder, 'checkpoint.json'), 'utf8')).toBe('{"format": 1,')
    expect(await readdir(join(folder, 'checkpoints'))).toEqual([])
  })

  it('a history file whose version differs from its name is reported', async () => {
    await storage.save(NAME, makeCheckpoint(3))
    await writeFile(join(folder, 'checkpoints', 'v2.json'), await readFile(join(folder, 'checkpoints', 'v3.json')))
    const error = await thrown(loadCheckpoints())
    expect(error.file).toBe(join(folder, 'checkpoints', 'v2.json'))
    expect(error.field).toBe('version')
  })
})

describe('AxFileStorage checkpoints', () => {
  const current = async () => (await readJsonFile(join(folder, 'checkpoint.json'), 'checkpoint', ''))?.version

  it('checkpoint.json is always the highest version, whatever order they are saved in', async () => {
    await storage.save(NAME, makeCheckpoint(2))
    expect(await current()).toBe(2)
    await storage.save(NAME, makeCheckpoint(1))
    expect(await current()).toBe(2)
    await Promise.all([storage.save(NAME, makeCheckpoint(4)), storage.save(NAME, makeCheckpoint(3))])
    expect(await current()).toBe(4)
    await storage.save(NAME, makeCheckpoint(4, { instruction: 'revised' }))
    expect((await readJsonFile(join(folder, 'checkpoint.json'), 'checkpoint', ''))?.program.instruction).toBe('revised')
    await storage.save(NAME, makeCheckpoint(3, { instruction: 'old one revised' }))
    expect(await current()).toBe(4)
    expect((await readdir(join(folder, 'checkpoints'))).sort()).toEqual(['v1.json', 'v2.json', 'v3.json', 'v4.json'])
  })

  it('checkpoint.json stays the latest with several processes saving versions at once', async () => {
    const others = Array.from({ length: 3 }, () => new AxFileStorage({ dir }))
    try {
      await Promise.all(
        [storage, ...others].flatMap((store, index) =>
          [1, 2, 3, 4, 5].map((step) => store.save(NAME, makeCheckpoint(step * 4 - index))),
        ),
      )
      expect(await current()).toBe(20)
      expect(await readdir(join(folder, 'checkpoints'))).toHaveLength(20)
    } finally {
      await Promise.all(others.map((store) => store.close()))
    }
  })

  it('keeps a checkpoint.json that has no history file, and prefers it over its history copy', async () => {
    await storage.save(NAME, makeCheckpoint(5, { instruction: 'committed' }))
    await rm(join(folder, 'checkpoints'), { recursive: true })
    await storage.save(NAME, makeCheckpoint(4))
    expect(await current()).toBe(5)
    expect((await readdir(join(folder, 'checkpoints'))).sort()).toEqual(['v4.json', 'v5.json'])
    // edited by hand: checkpoint.json is what people read and change
    const edited = JSON.parse(await readFile(join(folder, 'checkpoint.json'), 'utf8'))
    edited.program.instruction = 'tuned by hand'
    await writeFile(join(folder, 'checkpoint.json'), JSON.stringify(edited))
    expect((await loadCheckpoints()).map((checkpoint) => checkpoint.instruction)).toEqual(['tuned by hand', undefined])
    await storage.save(NAME, makeCheckpoint(6))
    expect(await current()).toBe(6)
  })
})

describe('AxFileStorage never shares a folder with the plugin', () => {
  it('refuses the plugin’s snapshot folder, naming it and the fix, and writes nothing there', async () => {
    const snapshots = join(dir, 'snapshots')
    await mkdir(join(snapshots, NAME), { recursive: true })
    await writeFile(join(snapshots, NAME, 'tape.json'), '{}')
    const shared = new AxFileStorage({ dir: snapshots })
    for (const attempt of [() => shared.save(NAME, makeTrace('production')), () => shared.load('other-agent', { type: 'trace' })]) {
      const error = await thrown(attempt())
      expect(error.file).toBe(snapshots)
      expect(error.message).toContain(join(snapshots, NAME, 'tape.json'))
      expect(error.fix).toMatch(/file:.*\.learn\//)
      expect(error.fix).toContain("checkpoints: './snapshots'")
    }
    await shared.close()
    expect(await readdir(join(snapshots, NAME))).toEqual(['tape.json'])
    expect(await readdir(snapshots)).toEqual([NAME])
  })

  it('refuses a spec folder of the plugin as its root, too', async () => {
    await mkdir(folder, { recursive: true })
    await writeFile(join(folder, 'tape.json'), '{}')
    const inside = new AxFileStorage({ dir: folder })
    expect((await thrown(inside.save('agent', makeTrace('a')))).file).toBe(folder)
    await inside.close()
  })
})

describe('AxFileStorage cleans up after writers that were killed', () => {
  it('removes their temporary files when it opens a folder, never a live writer’s', async () => {
    const dead = await deadPid()
    await mkdir(join(folder, 'checkpoints'), { recursive: true })
    const debris = [`traces.jsonl.${dead}.0123abcd.tmp`, `checkpoint.json.${dead}.89abcdef.tmp`, `.vitest-learn.lock.${dead}.00000000.tmp`]
    const kept = [`traces.jsonl.${process.pid}.0123abcd.tmp`, 'notes.tmp', `traces.jsonl.${dead}.tmp`]
    for (const name of [...debris, ...kept]) await writeFile(join(folder, name), 'partial')
    await writeFile(join(folder, 'checkpoints', `v2.json.${dead}.feedf00d.tmp`), 'partial')
    expect(await loadTraces()).toEqual([])
    expect((await readdir(folder)).sort()).toEqual([...kept, 'checkpoints'].sort())
    expect(await readdir(join(folder, 'checkpoints'))).toEqual([])
  })
})

describe('AxFileStorage locking', () => {
  const lockPath = () => join(folder, '.vitest-learn.lock')

  it('removes a lock left by a process that died', async () => {
    await mkdir(folder, { recursive: true })
    await writeFile(lockPath(), JSON.stringify({ pid: await deadPid(), host: hostname(), token: 'gone' }))
    await storage.save(NAME, makeTrace('a'))
    expect((await loadTraces()).map((trace) => trace.id)).toEqual(['a'])
    expect(await readdir(folder)).toEqual(['traces.jsonl'])
  })

  it('waits for a live lock, and says which file and process when it gives up', async () => {
    await mkdir(folder, { recursive: true })
    await writeFile(lockPath(), JSON.stringify({ pid: process.pid, host: hostname(), token: 'someone else' }))
    const impatient = new AxFileStorage({ dir, lock: { timeoutMs: 200 } })
    const error = await thrown(impatient.save(NAME, makeTrace('a')))
    expect(error.file).toBe(lockPath())
    expect(error.message).toContain(`process ${process.pid}`)
    expect(error.fix).toContain(lockPath())
    // released: the next save goes through
    await rm(lockPath())
    await impatient.save(NAME, makeTrace('b'))
    await impatient.close()
    expect((await loadTraces()).map((trace) => trace.id)).toEqual(['b'])
  })

  // timeoutMs 0: a lock still taken to be alive fails the save at once; staleMs of an hour: age plays no part.
  const atOnce = { timeoutMs: 0, staleMs: 3_600_000 }

  it('takes over at once the lock of a writer killed with SIGKILL while holding it', async () => {
    await mkdir(folder, { recursive: true })
    const holder = await startScript('lock-holder.ts', [lockPath()], 'locked')
    const blocked = new AxFileStorage({ dir, lock: atOnce })
    const whileAlive = await thrown(blocked.save(NAME, makeTrace('refused')))
    expect(whileAlive.file).toBe(lockPath())
    await holder.kill()
    await blocked.save(NAME, makeTrace('a'))
    await blocked.close()
    expect((await loadTraces()).map((trace) => trace.id)).toEqual(['a'])
    expect(await readdir(folder)).toEqual(['traces.jsonl'])
  })

  it.each([
    ['empty', ''],
    ['garbled', '{"pid": 12'],
    ['not an owner', '{"hello": "world"}'],
  ])('takes over an %s lock file at once', async (_, text) => {
    await mkdir(folder, { recursive: true })
    await writeFile(lockPath(), text)
    const store = new AxFileStorage({ dir, lock: atOnce })
    await store.save(NAME, makeTrace('a'))
    await store.close()
    expect((await loadTraces()).map((trace) => trace.id)).toEqual(['a'])
    expect(await readdir(folder)).toEqual(['traces.jsonl'])
  })

  it('removes a lock nobody refreshed for longer than staleMs', async () => {
    await mkdir(folder, { recursive: true })
    await writeFile(lockPath(), JSON.stringify({ pid: 1, host: 'another-machine', token: 'old' }))
    const patient = new AxFileStorage({ dir, lock: { staleMs: 300, timeoutMs: 5_000 } })
    const started = Date.now()
    await patient.save(NAME, makeTrace('a'))
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    await patient.close()
  })
})
