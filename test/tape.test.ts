import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { ai, ax, AxMockAIService, type AxAIService, type AxChatRequest, type AxChatResponse } from '@ax-llm/ax'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { LearnError } from '../src/errors.js'
import { toPrettyJson } from '../src/formats/files.js'
import { readTapeFile } from '../src/formats/tape-file.js'
import type { LearnTape, LearnTapeEntry } from '../src/formats/types.generated.js'
import { assertFormat } from '../src/formats/validate.js'
import type { ModelIdentity } from '../src/tape/request.js'
import { TapeService } from '../src/tape/service.js'
import { inStep } from '../src/tape/step.js'
import { Tape, type TapeMode, type TapeOptions, type TapeRole } from '../src/tape/tape.js'
import { startModelServer, type ModelServer } from './support/model-server.js'

const recordCommand = 'npx vitest run support.learn.ts'
const seedInstruction = 'Reply politely.'
const mockIdentity: ModelIdentity = { provider: 'mock', model: 'gpt-4o-mini', config: {} }
const usage = { promptTokens: 10, completionTokens: 5, totalTokens: 15 }

/** The text after "Customer query: " in the last user message ax rendered. */
function queryOf(req: Readonly<AxChatRequest<unknown>>): string {
  const user = [...req.chatPrompt].reverse().find((message) => message.role === 'user')
  const text = typeof user?.content === 'string' ? user.content : ''
  return text.replace(/^Customer query: /, '').trim()
}

function streamOf(chunks: AxChatResponse[]): ReadableStream<AxChatResponse> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })
}

/** A chunked answer in ax's stream shape: content pieces, then the finish reason with usage. */
function chunksOf(content: string): AxChatResponse[] {
  const third = Math.ceil(content.length / 3)
  const pieces = [content.slice(0, third), content.slice(third, 2 * third), content.slice(2 * third)]
  return [
    ...pieces.map((piece) => ({ results: [{ index: 0, content: piece }] })),
    { results: [{ index: 0, finishReason: 'stop' as const }], modelUsage: { ai: 'mock', model: 'mock', tokens: usage } },
  ]
}

type Reply = (query: string, call: number) => string

/** The live model: counts its calls, answers from the query, streams when asked to. */
class LiveModel extends AxMockAIService<string> {
  calls = 0
  constructor(reply: Reply = (query) => `Thank you for asking about ${query}.`, private readonly cost = 0.25) {
    super({
      features: { streaming: true },
      chatResponse: async (req, options) => {
        const content = `polite_reply: ${reply(queryOf(req), ++this.calls)}`
        return options?.stream
          ? streamOf(chunksOf(content))
          : { results: [{ index: 0, content, finishReason: 'stop' }], modelUsage: { ai: 'mock', model: 'mock', tokens: usage } }
      },
    })
  }
  override getEstimatedCost(): number {
    return this.cost
  }
}

interface AskOptions {
  instruction?: string
  identity?: ModelIdentity
  stream?: boolean
  role?: TapeRole
  /** Defaults to the case id. */
  query?: string
}

/** One run of a spec against a tape, like a test file's run: load, run cases, finish. */
interface Run {
  tape: Tape
  live: LiveModel
  /** Runs case `caseId` through a real ax program forwarding through a TapeService. */
  ask(caseId: string, options?: AskOptions): Promise<{ reply: string; service: TapeService; answers: unknown[] }>
  /** Finishes the run; `specCases` are the case ids the spec declares now. */
  finish(specCases: string[]): Promise<{ written: boolean }>
}

let dir: string
let path: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vitest-learn-tape-'))
  path = join(dir, 'snapshots', 'support', 'tape.json')
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const loadTape = (mode: TapeMode, options: Partial<TapeOptions> = {}) =>
  Tape.load({ path, spec: 'support', mode, recordCommand, ...options })

function programWith(instruction: string) {
  const program = ax('customer_query:string -> polite_reply:string')
  program.setInstruction(instruction)
  return program
}

async function forwardCase(tape: Tape, live: AxAIService, caseId: string, options: AskOptions = {}) {
  tape.caseStarted(caseId)
  const service = new TapeService(tape, live, options.identity ?? mockIdentity, { caseId, role: options.role ?? 'student' })
  const chat = vi.spyOn(service, 'chat')
  const query = options.query ?? `What about ${caseId}?`
  const forwardOptions = options.stream === undefined ? undefined : { stream: options.stream }
  const output = await inStep(() => programWith(options.instruction ?? seedInstruction).forward(service, { customer_query: query }, forwardOptions))
  tape.caseSucceeded(caseId)
  const answers = await Promise.all(chat.mock.results.map((result) => result.value as unknown))
  return { reply: String(output.polite_reply), service, answers }
}

async function openRun(mode: TapeMode, live = new LiveModel(), options: Partial<TapeOptions> = {}): Promise<Run> {
  const tape = await loadTape(mode, options)
  return {
    tape,
    live,
    ask: (caseId, askOptions) => forwardCase(tape, live, caseId, askOptions),
    finish: (specCases) => tape.finish(new Set(specCases)),
  }
}

/** Records `caseIds` in mode 'new' and returns the replies. */
async function record(caseIds: string[], options: AskOptions = {}, live = new LiveModel()): Promise<string[]> {
  const run = await openRun('new', live)
  const replies: string[] = []
  for (const caseId of caseIds) replies.push((await run.ask(caseId, options)).reply)
  await run.finish(caseIds)
  return replies
}

const readText = () => readFile(path, 'utf8')
/** tape.json as written, in the current format. */
const readRaw = async () => JSON.parse(await readText()) as LearnTape
/** tape.json as the tape reads it: whole entries. */
const readTape = async () => (await readTapeFile(path, 'fix'))!
const entriesOf = async (caseId: string) => (await readTape()).entries.filter((entry) => entry.case === caseId)
const casesInTape = async () => [...new Set((await readTape()).entries.map((entry) => entry.case))].sort()

/** Rewrites the tape file, changing each entry. */
async function editEntries(change: (entry: LearnTapeEntry) => void): Promise<void> {
  const tape = await readRaw()
  tape.entries.forEach(change)
  await writeFile(path, toPrettyJson(tape))
}

/** The LearnError behind an ax error (ax wraps what a service throws in its own error, as `cause`). */
function learnErrorIn(error: unknown): LearnError | undefined {
  for (let item = error; item instanceof Error; item = item.cause) if (item instanceof LearnError) return item
  return undefined
}

/** Runs `caseId` in replay-only mode, expects it to fail, and returns the LearnError of the miss. */
async function missIn(run: Run, caseId: string, options: AskOptions = {}): Promise<LearnError> {
  const failure = await run.ask(caseId, options).then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(failure, 'the case should fail in replay-only mode').toBeInstanceOf(Error)
  const error = learnErrorIn(failure)
  expect(error).toBeInstanceOf(LearnError)
  expect(run.tape.missesOf(caseId)).toContain(error)
  return error!
}

/** Pushes the file's mtime into the past, so a rewrite shows even on coarse file systems. */
async function ageFile(): Promise<number> {
  const past = new Date('2020-01-01T00:00:00Z')
  await utimes(path, past, past)
  return (await stat(path)).mtimeMs
}

describe("mode 'new' (local default)", () => {
  it('records the calls that are missing and writes them to tape.json', async () => {
    const run = await openRun('new')
    await run.ask('order')
    await run.ask('refund')
    expect(await run.finish(['order', 'refund'])).toEqual({ written: true })
    expect(run.live.calls).toBe(2)
    expect(run.tape.counters).toMatchObject({ recorded: 2, replayed: 0 })
    expect(await casesInTape()).toEqual(['order', 'refund'])
  })

  it('replays recorded calls without calling the model', async () => {
    const recorded = await record(['order', 'refund'])
    const run = await openRun('new', new LiveModel(() => 'a different answer'))
    const replies = [(await run.ask('order')).reply, (await run.ask('refund')).reply]
    expect(replies).toEqual(recorded)
    expect(run.live.calls).toBe(0)
    expect(run.tape.counters).toMatchObject({ recorded: 0, replayed: 2 })
  })

  it('calls the model only for the case that has no recording', async () => {
    await record(['order'])
    const run = await openRun('new')
    await run.ask('order')
    await run.ask('refund')
    await run.finish(['order', 'refund'])
    expect(run.live.calls).toBe(1)
    expect(run.tape.counters).toMatchObject({ recorded: 1, replayed: 1 })
    expect(await casesInTape()).toEqual(['order', 'refund'])
  })

  it('records the role of each call', async () => {
    const run = await openRun('new')
    await run.ask('order', { role: 'judge' })
    await run.finish(['order'])
    expect((await entriesOf('order')).map((entry) => entry.role)).toEqual(['judge'])
  })
})

describe("mode 'all' (-u)", () => {
  it('calls the model again for every call and replaces the recordings', async () => {
    await record(['order', 'refund'])
    const run = await openRun('all', new LiveModel(() => 'A fresh answer.'))
    const replies = [(await run.ask('order')).reply, (await run.ask('refund')).reply]
    await run.finish(['order', 'refund'])
    expect(replies).toEqual(['A fresh answer.', 'A fresh answer.'])
    expect(run.live.calls).toBe(2)
    expect(run.tape.counters).toMatchObject({ rerecorded: 2, recorded: 0, replayed: 0 })
    const answers = (await readTape()).entries.map((entry) => JSON.stringify(entry.response))
    for (const answer of answers) expect(answer).toContain('A fresh answer.')
  })

  it('drops recordings a case that ran no longer uses', async () => {
    await record(['order'])
    const run = await openRun('all')
    await run.ask('order', { instruction: 'Reply curtly.' })
    await run.finish(['order'])
    const entries = await entriesOf('order')
    expect(entries).toHaveLength(1)
    expect(JSON.stringify(entries[0]!.request.messages)).toContain('Reply curtly.')
  })

  it('keeps recordings of cases that did not run but are still in the spec', async () => {
    await record(['order', 'refund'])
    const run = await openRun('all')
    await run.ask('order')
    await run.finish(['order', 'refund'])
    expect(await casesInTape()).toEqual(['order', 'refund'])
    expect(run.tape.counters.obsolete).toBe(0)
  })

  it('drops recordings of cases no longer in the spec', async () => {
    await record(['order', 'refund'])
    const run = await openRun('all')
    await run.ask('order')
    await run.finish(['order'])
    expect(await casesInTape()).toEqual(['order'])
    expect(run.tape.counters.obsolete).toBe(1)
  })
})

describe("mode 'none' (CI)", () => {
  it('replays recorded calls', async () => {
    const recorded = await record(['order'])
    const run = await openRun('none')
    expect((await run.ask('order')).reply).toBe(recorded[0])
    expect(run.tape.counters.replayed).toBe(1)
  })

  it('never calls the model: a call with no recording fails its case', async () => {
    await record(['order'])
    const run = await openRun('none')
    await missIn(run, 'refund')
    expect(run.live.calls).toBe(0)
    expect(run.tape.counters.missing).toBe(1)
  })

  it('rejects the chat call itself with a LearnError naming the file and the key', async () => {
    const run = await openRun('none')
    const service = new TapeService(run.tape, run.live, mockIdentity, { caseId: 'order', role: 'student' })
    const request = { chatPrompt: [{ role: 'user' as const, content: 'hi' }] }
    const error = await service.chat(request).then(() => undefined, (failure: unknown) => failure)
    expect(error).toBeInstanceOf(LearnError)
    expect((error as LearnError).file).toBe(path)
    expect((error as LearnError).field).toMatch(/^[0-9a-f]{16}#0$/)
  })

  it.each<[string, string, AskOptions, RegExp]>([
    ['a new case', 'refund', {}, /new case: nothing was recorded for it yet/],
    [
      'a changed model',
      'order',
      { identity: { ...mockIdentity, model: 'gpt-4o' } },
      /model changed: recorded with mock\/gpt-4o-mini, now mock\/gpt-4o/,
    ],
    ['a changed model config', 'order', { identity: { ...mockIdentity, config: { temperature: 0.2 } } }, /model config changed/],
    ['a change to streaming', 'order', { stream: true }, /model config changed \([^)]*streaming/],
    ['a changed prompt', 'order', { instruction: 'Reply curtly.' }, /prompt changed/],
  ])('explains a miss caused by %s, with the command that fixes it', async (_cause, caseId, options, reason) => {
    await record(['order'])
    const error = await missIn(await openRun('none'), caseId, options)
    expect(error.message).toMatch(reason)
    expect(error.message).toContain(`no recording for a student call of case ${caseId}`)
    expect(error.message).toContain(`fix: ${recordCommand}`)
    expect(error.fix).toContain(path)
  })

  it('explains a request asked more times than it was recorded: fewer samples than `samples` asks for', async () => {
    await record(['order'])
    const run = await openRun('none')
    await run.ask('order')
    const error = await missIn(run, 'order')
    expect(error.message).toContain('the tape holds 1 answer(s) to this request and the run asks it again: fewer samples were recorded than `samples` asks for')
    expect(error.field).toMatch(/^[0-9a-f]{16}#1$/)
  })

  it('names the first changed line of the prompt, before and after', async () => {
    await record(['order'])
    const system = String((await entriesOf('order'))[0]!.request.messages[0]!.content)
    const line = ['[system]', ...system.split('\n')].indexOf(seedInstruction) + 1
    const error = await missIn(await openRun('none'), 'order', { instruction: 'Reply curtly.' })
    expect(error.message).toContain(`first changed line ${line} of the prompt: recorded "Reply politely.", now "Reply curtly."`)
  })

  it('never writes the tape, even with misses and obsolete entries', async () => {
    await record(['order', 'refund'])
    const before = await readText()
    const mtime = await ageFile()
    const run = await openRun('none')
    await missIn(run, 'order', { instruction: 'Reply curtly.' })
    expect(await run.finish(['order'])).toEqual({ written: false })
    expect(await readText()).toBe(before)
    expect((await stat(path)).mtimeMs).toBe(mtime)
  })

  it('never rewrites a tape, even one that is not sorted and pretty-printed', async () => {
    await record(['order', 'refund'])
    const tape = await readRaw()
    const compact = JSON.stringify({ ...tape, entries: [...tape.entries].reverse() })
    await writeFile(path, compact)
    const run = await openRun('none')
    await run.ask('order')
    expect(await run.finish(['order', 'refund'])).toEqual({ written: false })
    expect(await readText()).toBe(compact)
  })

  it('does not create a tape that does not exist', async () => {
    const run = await openRun('none')
    await missIn(run, 'order')
    expect(await run.finish(['order'])).toEqual({ written: false })
    expect(existsSync(path)).toBe(false)
  })
})

describe('repeated identical requests', () => {
  const numbered: Reply = (_query, call) => (call === 1 ? 'First answer.' : 'Second answer.')

  it('get occurrence indexes #0 and #1 under the same request hash', async () => {
    await record(['order', 'order'], {}, new LiveModel(numbered))
    const keys = (await entriesOf('order')).map((entry) => entry.key)
    expect(keys).toHaveLength(2)
    const [hash] = keys[0]!.split('#')
    expect(keys).toEqual([`${hash}#0`, `${hash}#1`])
  })

  it('are replayed in the order they were recorded', async () => {
    expect(await record(['order', 'order'], {}, new LiveModel(numbered))).toEqual(['First answer.', 'Second answer.'])
    const run = await openRun('none')
    const replies = [(await run.ask('order')).reply, (await run.ask('order')).reply]
    expect(replies).toEqual(['First answer.', 'Second answer.'])
  })
})

describe('streaming', () => {
  it('records a streamed answer as its chunks', async () => {
    await record(['order'], { stream: true })
    const [entry] = await entriesOf('order')
    expect(entry!.request.stream).toBe(true)
    expect(entry!.response.kind).toBe('stream')
    const chunks = entry!.response.kind === 'stream' ? entry!.response.chunks : []
    expect(chunks).toHaveLength(4)
  })

  it('passes the live stream through to ax while recording it', async () => {
    const { answers, reply } = await forwardCase(await loadTape('new'), new LiveModel(), 'order', { stream: true })
    expect(answers[0]).toBeInstanceOf(ReadableStream)
    expect(reply).toBe('Thank you for asking about What about order?.')
  })

  it('replays a streamed answer as a ReadableStream with the same forward() result', async () => {
    const [recorded] = await record(['order'], { stream: true })
    const run = await openRun('none')
    const { reply, answers } = await run.ask('order', { stream: true })
    expect(answers[0]).toBeInstanceOf(ReadableStream)
    expect(reply).toBe(recorded)
  })

  it('counts the usage of a streamed answer from its last chunk', async () => {
    const { service } = await forwardCase(await loadTape('new'), new LiveModel(), 'order', { stream: true })
    expect(service.stats).toMatchObject({ live: 1, usage })
  })
})

describe('the service around the live model', () => {
  it('forwards setOptions to the live service and reports the new options', async () => {
    const live = new LiveModel()
    const service = new TapeService(await loadTape('new'), live, mockIdentity, { caseId: 'order', role: 'student' })
    expect(service.getOptions().debug).toBeFalsy()
    service.setOptions({ debug: true })
    expect(live.getOptions().debug).toBe(true)
    expect(service.getOptions().debug).toBe(true)
  })

  it('has no resolveChatService or openChatSession, so ax cannot route around the tape', async () => {
    const service = new TapeService(await loadTape('new'), new LiveModel(), mockIdentity, { caseId: 'order', role: 'student' })
    expect('resolveChatService' in service).toBe(false)
    expect('openChatSession' in service).toBe(false)
  })
})

describe('usage, latency and cost', () => {
  it('records the usage, cost and latency of a live call', async () => {
    await record(['order'], {}, new LiveModel(undefined, 0.25))
    const [entry] = await entriesOf('order')
    expect(entry).toMatchObject({ usage, costUsd: 0.25 })
    expect(entry!.latencyMs).toBeGreaterThanOrEqual(0)
  })

  it('counts live calls and their usage in TapeService.stats', async () => {
    const { service } = await forwardCase(await loadTape('new'), new LiveModel(undefined, 0.25), 'order')
    expect(service.stats).toMatchObject({ live: 1, replayed: 0, usage, costUsd: 0.25 })
  })

  it('reports the original usage, latency and cost on replay', async () => {
    await record(['order'])
    const original = { usage: { promptTokens: 120, completionTokens: 30, totalTokens: 150 }, costUsd: 0.5, latencyMs: 1234 }
    await editEntries((entry) => Object.assign(entry, original))
    const { service } = await forwardCase(await loadTape('none'), new LiveModel(), 'order')
    expect(service.stats).toEqual({ live: 0, replayed: 1, ...original })
  })
})

describe('tape.json', () => {
  const cases = ['order', 'refund', 'lamp', 'invoice', 'address']

  it('holds its entries sorted by key', async () => {
    await record(cases)
    const keys = (await readTape()).entries.map((entry) => entry.key)
    expect(keys).toHaveLength(cases.length)
    expect(keys).toEqual([...keys].sort())
  })

  it('is pretty-printed JSON ending with a newline, small objects on one line', async () => {
    await record(cases)
    const text = await readText()
    expect(text.endsWith('}\n')).toBe(true)
    expect(text).toContain('\n  "entries": [\n    {\n      "key": ')
    expect(text).toContain('\n          {"role": "user", "content": "Customer query: What about order?\\n"}\n')
    expect(Math.max(...text.split('\n').filter((line) => !/^\s*"/.test(line)).map((line) => line.length))).toBeLessThanOrEqual(100)
  })

  it('stores the system prompt once, as its lines, and each call refers to it', async () => {
    await record(cases)
    const raw = await readRaw()
    const [id, lines] = Object.entries(raw.texts!)[0]!
    expect(lines).toContain(seedInstruction)
    expect((await readText()).split(seedInstruction)).toHaveLength(2)
    for (const entry of raw.entries) expect(entry.request.messages[0]).toEqual({ role: 'system', text: id, cache: false })
    for (const entry of (await readTape()).entries) expect(entry.request.messages[0]!.content).toBe(lines!.join('\n'))
  })

  it('shows a changed instruction as that one line changing in place', async () => {
    await record(cases)
    const before = (await readText()).split('\n')
    const run = await openRun('all')
    for (const caseId of cases) await run.ask(caseId, { instruction: 'Reply curtly.' })
    await run.finish(cases)
    const after = (await readText()).split('\n')
    const line = before.indexOf(`      ${JSON.stringify(seedInstruction)},`)
    expect(line).toBeGreaterThan(0)
    expect(after[line]).toBe(`      ${JSON.stringify('Reply curtly.')},`)
    expect(after.slice(0, line - 1).filter((text, index) => text !== before[index]).map((text) => text.trim())).toEqual([expect.stringMatching(/^"[0-9a-f]{16}": \[$/)])
  })

  it('leaves out usage the response reports, and keeps usage that differs', async () => {
    await record(['order', 'refund'])
    const edited = { promptTokens: 1, completionTokens: 2, totalTokens: 3 }
    await editEntries((entry) => entry.case === 'order' && Object.assign(entry, { usage: edited }))
    expect((await readRaw()).entries.map((entry) => [entry.case, entry.usage])).toEqual(expect.arrayContaining([['order', edited], ['refund', undefined]]))
    const run = await openRun('new')
    await run.ask('extra')
    await run.finish(['order', 'refund', 'extra'])
    const usages = Object.fromEntries((await readRaw()).entries.map((entry) => [entry.case, entry.usage]))
    expect(usages).toEqual({ order: edited, refund: undefined, extra: undefined })
    const whole = Object.fromEntries((await readTape()).entries.map((entry) => [entry.case, entry.usage]))
    expect(whole).toEqual({ order: edited, refund: usage, extra: usage })
  })

  it('validates against the tape schema', async () => {
    await record(cases, { stream: true })
    const tape = await readRaw()
    expect(() => assertFormat('tape', tape, path, '')).not.toThrow()
    expect(tape).toMatchObject({ format: 2, spec: 'support' })
  })

  it('is not rewritten when nothing changed', async () => {
    await record(cases)
    const before = await readText()
    const mtime = await ageFile()
    const run = await openRun('new')
    for (const caseId of cases) await run.ask(caseId)
    expect(await run.finish(cases)).toEqual({ written: false })
    expect(await readText()).toBe(before)
    expect((await stat(path)).mtimeMs).toBe(mtime)
  })

  it('is not created by a run that recorded nothing', async () => {
    const run = await openRun('new')
    expect(await run.finish(['order'])).toEqual({ written: false })
    expect(existsSync(path)).toBe(false)
  })

  it('leaves no temporary files beside it', async () => {
    await record(cases)
    await record([...cases, 'extra'])
    expect(await readdir(join(dir, 'snapshots', 'support'))).toEqual(['tape.json'])
  })
})

describe('a format 1 tape (before shared texts)', () => {
  const cases = ['order', 'refund', 'lamp']

  /** Records the cases, then rewrites the tape as format 1 wrote it: whole entries, usage in each. */
  async function recordFormat1(): Promise<string> {
    await record(cases)
    const text = toPrettyJson({ format: 1, spec: 'support', entries: (await readTape()).entries })
    await writeFile(path, text)
    return text
  }

  it('replays as it is, in every mode that replays, and is left as it is', async () => {
    const text = await recordFormat1()
    for (const mode of ['none', 'new'] as const) {
      const run = await openRun(mode, new LiveModel(() => 'a different answer'))
      for (const caseId of cases) await run.ask(caseId)
      expect(await run.finish(cases)).toEqual({ written: false })
      expect(run.live.calls).toBe(0)
      expect(run.tape.counters.replayed).toBe(cases.length)
    }
    expect(await readText()).toBe(text)
  })

  it('is rewritten as format 2 under -u, with the same keys and entries, and a second run writes nothing', async () => {
    await recordFormat1()
    const before = (await readTape()).entries
    const migrate = await loadTape('all')
    expect(await migrate.finish(new Set(cases))).toEqual({ written: true })
    const migrated = await readText()
    expect(JSON.parse(migrated)).toMatchObject({ format: 2 })
    expect((await readTape()).entries).toEqual(before)

    const again = await loadTape('all')
    expect(await again.finish(new Set(cases))).toEqual({ written: false })
    const replay = await openRun('new')
    for (const caseId of cases) await replay.ask(caseId)
    expect(await replay.finish(cases)).toEqual({ written: false })
    expect(replay.live.calls).toBe(0)
    expect(await readText()).toBe(migrated)
  })

  it('is rewritten as format 2 by any run that records, keeping every recording', async () => {
    await recordFormat1()
    const run = await openRun('new')
    await run.ask('extra')
    expect(await run.finish([...cases, 'extra'])).toEqual({ written: true })
    expect(await readRaw()).toMatchObject({ format: 2 })
    expect(await casesInTape()).toEqual([...cases, 'extra'].sort())
  })
})

describe('a tape in a format this version does not know', () => {
  it.each(['new', 'none', 'all'] as const)('fails Tape.load in mode %s, naming the file, the version and the fix, and is left untouched', async (mode) => {
    await record(['order'])
    const text = (await readText()).replace('"format": 2', '"format": 4')
    await writeFile(path, text)
    const error = await loadTape(mode).then(() => undefined, (failure: unknown) => failure)
    expect(error).toBeInstanceOf(LearnError)
    expect((error as LearnError).file).toBe(path)
    expect((error as LearnError).field).toBe('format')
    expect((error as LearnError).message).toContain(`${path} › format: is tape format 4, written by a newer vitest-learn`)
    expect((error as LearnError).fix).toMatch(/^upgrade vitest-learn \(npm install -D vitest-learn@latest\)/)
    expect(await readText()).toBe(text)
  })
})

/** A tape entry that passes the schema. */
function validEntry(): LearnTapeEntry {
  return {
    key: `${'a'.repeat(16)}#0`,
    case: 'order',
    role: 'student',
    request: { provider: 'mock', model: 'm', modelConfig: {}, messages: [], functions: [], stream: false },
    response: { kind: 'chat', chat: { results: [{ index: 0, content: 'polite_reply: Hello.' }] } },
    latencyMs: 1,
  }
}

describe('a corrupt tape.json', () => {
  const corruptions: [string, () => string, string | undefined][] = [
    ['is not JSON', () => '{ "format": 1, "entries": [', undefined],
    [
      'has a bad key',
      () => toPrettyJson({ format: 1, spec: 'support', entries: [{ ...validEntry(), key: 'not-a-key' }] }),
      'entries[0].key',
    ],
    ['lacks a field', () => toPrettyJson({ format: 1, entries: [] }), '(root)'],
    [
      'has an answer with no result',
      () => toPrettyJson({ format: 1, spec: 'support', entries: [{ ...validEntry(), response: { kind: 'chat', chat: { results: [] } } }] }),
      'entries[0].response.chat.results',
    ],
    [
      'refers to a shared text it does not hold',
      () => {
        const entry = validEntry()
        entry.request.messages = [{ role: 'system', text: 'b'.repeat(16) }]
        return toPrettyJson({ format: 2, spec: 'support', texts: {}, entries: [entry] })
      },
      'entries[0].request.messages[0].text',
    ],
  ]

  async function writeCorrupt(text: string): Promise<void> {
    await mkdir(join(dir, 'snapshots', 'support'), { recursive: true })
    await writeFile(path, text)
  }

  it.each(corruptions.flatMap(([what, text, field]) => (['new', 'none'] as const).map((mode) => [what, mode, text, field] as const)))(
    'that %s fails Tape.load in mode %s, naming the file, and is left untouched',
    async (_what, mode, text, field) => {
      await writeCorrupt(text())
      const error = await loadTape(mode).then(() => undefined, (failure: unknown) => failure)
      expect(error).toBeInstanceOf(LearnError)
      expect((error as LearnError).file).toBe(path)
      expect((error as LearnError).message).toContain(path)
      if (field) {
        expect((error as LearnError).field).toBe(field)
        expect((error as LearnError).message).toContain(`${path} › ${field}: `)
      }
      expect(await readText()).toBe(text())
    },
  )

  it("is replaced by a fresh recording in mode 'all'", async () => {
    await writeCorrupt('{ not json')
    const run = await openRun('all')
    await run.ask('order')
    expect(await run.finish(['order'])).toEqual({ written: true })
    const tape = await readRaw()
    expect(() => assertFormat('tape', tape, path, '')).not.toThrow()
    expect(tape.entries.map((entry) => entry.case)).toEqual(['order'])
  })

  it("is left as it is in mode 'all' when not every case is re-recorded (a filtered -u), with an error naming the file; the journal keeps the answers", async () => {
    const journal = join(dir, 'cache', 'journal', 'support.jsonl')
    const text = '{ "format": 2, "spec": "support", <<<<<<< HEAD'
    await writeCorrupt(text)
    const run = await openRun('all', new LiveModel(), { journal })
    await run.ask('order')
    const error = await run.finish(['order', 'billing']).then(() => undefined, (failure: unknown) => failure)
    expect(error).toBeInstanceOf(LearnError)
    expect((error as LearnError).file).toBe(path)
    expect((error as LearnError).message).toMatch(/is not valid JSON.+\. This -u run did not re-record every case of the spec, so it does not replace the file; the answers this run paid for are kept/)
    expect((error as LearnError).fix).toContain(`${recordCommand} -u, with no test filter`)
    expect(await readText()).toBe(text)
    const resumed = await openRun('all', new LiveModel(), { journal })
    await resumed.ask('order')
    await resumed.ask('billing')
    expect(resumed.live.calls).toBe(1)
    expect(await resumed.finish(['order', 'billing'])).toEqual({ written: true })
    expect((await readRaw()).entries.map((entry) => entry.case).sort()).toEqual(['billing', 'order'])
  })

  it('recorded for another spec fails Tape.load, naming the spec field', async () => {
    await record(['order'])
    const error = await loadTape('new', { spec: 'billing' }).then(() => undefined, (failure: unknown) => failure)
    expect(error).toBeInstanceOf(LearnError)
    expect((error as LearnError).field).toBe('spec')
    expect((error as LearnError).message).toMatch(/recorded for spec "support", not "billing"/)
  })
})

describe('secrets', () => {
  const secret = 'sk-test-secret-0123456789abcdef'

  it('never reach the file, even when the prompt and the answer contain them', async () => {
    const run = await openRun('new', new LiveModel(), { secrets: [secret] })
    await run.ask('order', { query: `My key ${secret} leaked, help` })
    await run.finish(['order'])
    const text = await readText()
    expect(text).toContain('[redacted]')
    expect(text).not.toContain(secret)
  })

  it('do not stop the redacted recording from replaying, nor cause a rewrite', async () => {
    const query = `My key ${secret} leaked, help`
    const first = await openRun('new', new LiveModel(), { secrets: [secret] })
    await first.ask('order', { query })
    await first.finish(['order'])
    const before = await readText()
    const run = await openRun('new', new LiveModel(), { secrets: [secret] })
    await run.ask('order', { query })
    expect(await run.finish(['order'])).toEqual({ written: false })
    expect(run.live.calls).toBe(0)
    expect(run.tape.counters.replayed).toBe(1)
    expect(await readText()).toBe(before)
  })
})

describe('obsolete entries', () => {
  it("are counted but kept in mode 'new' when their case left the spec", async () => {
    await record(['order', 'refund'])
    const run = await openRun('new')
    await run.ask('order')
    await run.finish(['order'])
    expect(run.tape.counters.obsolete).toBe(1)
    expect(await casesInTape()).toEqual(['order', 'refund'])
  })

  it('include recordings a case that ran no longer used', async () => {
    await record(['order'])
    const run = await openRun('new')
    await run.ask('order', { instruction: 'Reply curtly.' })
    await run.finish(['order'])
    expect(run.tape.counters).toMatchObject({ recorded: 1, obsolete: 1 })
    expect(await entriesOf('order')).toHaveLength(2)
  })

  it('exclude recordings of cases that did not run but are still in the spec', async () => {
    await record(['order', 'refund'])
    const run = await openRun('new')
    await run.ask('order')
    await run.finish(['order', 'refund'])
    expect(run.tape.counters.obsolete).toBe(0)
  })

  it("are counted in mode 'none' too", async () => {
    await record(['order', 'refund'])
    const run = await openRun('none')
    await run.ask('order')
    await run.finish(['order'])
    expect(run.tape.counters.obsolete).toBe(1)
  })
})

describe("through ax's openai provider and the scripted model server", () => {
  const apiKey = 'sk-tape-test-key-0123456789abcdef'
  const identity: ModelIdentity = { provider: 'openai', model: 'gpt-4o-mini', config: {} }
  let server: ModelServer
  let openai: AxAIService

  beforeAll(async () => {
    server = await startModelServer({ script: (call) => ({ polite_reply: `Happy to help with "${call.inputs.customer_query}".` }) })
    openai = ai({ name: 'openai', apiKey, apiURL: server.url, config: { model: 'gpt-4o-mini' } } as Parameters<typeof ai>[0])
  })
  afterAll(async () => {
    await server?.close()
  })
  beforeEach(() => server.reset())

  async function runOnServer(mode: TapeMode) {
    const tape = await loadTape(mode, { secrets: [apiKey] })
    const result = await forwardCase(tape, openai, 'order', { identity, query: `Where is my order? My key is ${apiKey}` })
    await tape.finish(new Set(['order']))
    return result
  }

  it('records the streamed answer ax asks for by default, then replays it with no request', async () => {
    const recorded = await runOnServer('new')
    expect(server.requests).toBe(1)
    const tape = await readRaw()
    expect(() => assertFormat('tape', tape, path, '')).not.toThrow()
    expect(tape.entries[0]!.response.kind).toBe('stream')
    server.reset()
    const replayed = await runOnServer('none')
    expect(server.requests).toBe(0)
    expect(replayed.answers[0]).toBeInstanceOf(ReadableStream)
    expect(replayed.reply).toBe(recorded.reply)
  })

  it('keeps the usage the provider reported and reports it on replay', async () => {
    const recorded = await runOnServer('new')
    expect(recorded.service.stats.usage.totalTokens).toBeGreaterThan(0)
    const replayed = await runOnServer('none')
    expect(replayed.service.stats.usage).toEqual(recorded.service.stats.usage)
    expect(replayed.service.stats.costUsd).toBe(recorded.service.stats.costUsd)
  })

  it('never writes the API key', async () => {
    await runOnServer('new')
    expect(server.authorizationSeen).toBe(true)
    expect(await readText()).not.toContain(apiKey)
  })
})

/** A live model whose every call fails, as a provider answering 401 does. */
class FailingModel extends AxMockAIService<string> {
  calls = 0
  constructor(answer: () => AxChatResponse = () => { throw new Error('HTTP 401: invalid api key') }) {
    super({
      chatResponse: async () => {
        this.calls++
        return answer()
      },
    })
  }
}

describe('a run never loses a recording', () => {
  it('under -u, cases whose calls fail keep their recordings, and the file stays byte-identical', async () => {
    await record(['order', 'refund'])
    const before = await readText()
    const live = new FailingModel()
    const tape = await loadTape('all')
    for (const caseId of ['order', 'refund']) await expect(forwardCase(tape, live, caseId)).rejects.toThrow()
    expect(await tape.finish(new Set(['order', 'refund']))).toEqual({ written: false })
    expect(live.calls).toBeGreaterThanOrEqual(2)
    expect(tape.counters).toMatchObject({ kept: 2, obsolete: 0, removed: 0, rerecorded: 0 })
    expect(await readText()).toBe(before)
  })

  it('under -u, one failing case stops every obsolete recording from being dropped', async () => {
    await record(['order', 'refund'])
    const tape = await loadTape('all')
    await forwardCase(tape, new LiveModel(), 'order', { instruction: 'Reply curtly.' })
    await expect(forwardCase(tape, new FailingModel(), 'refund')).rejects.toThrow()
    await tape.finish(new Set(['order', 'refund']))
    expect(tape.counters).toMatchObject({ recorded: 1, obsolete: 1, removed: 0, kept: 1 })
    expect(await entriesOf('order')).toHaveLength(2)
    expect(await entriesOf('refund')).toHaveLength(1)
  })

  it('under -u, when every case succeeds, obsolete recordings are removed and counted', async () => {
    await record(['order', 'refund'])
    const run = await openRun('all')
    await run.ask('order', { instruction: 'Reply curtly.' })
    await run.ask('refund')
    await run.finish(['order', 'refund'])
    expect(run.tape.counters).toMatchObject({ obsolete: 1, removed: 1, kept: 0 })
    expect(await entriesOf('order')).toHaveLength(1)
  })

  it('an answer ax cannot use (no result) is never recorded, in any mode that records', async () => {
    for (const mode of ['new', 'all'] as const) {
      const tape = await loadTape(mode)
      await expect(forwardCase(tape, new FailingModel(() => ({ results: [] })), 'order')).rejects.toThrow()
      expect(await tape.finish(new Set(['order']))).toEqual({ written: false })
      expect(existsSync(path)).toBe(false)
    }
  })

  it('a failed step is asked again under the same key, so the replay finds the answer that worked', async () => {
    let calls = 0
    const flaky = new LiveModel((query) => {
      if (++calls === 1) throw new Error('the first answer is unusable')
      return `Thanks about ${query}.`
    })
    const tape = await loadTape('new')
    await expect(forwardCase(tape, flaky, 'order')).rejects.toThrow()
    await forwardCase(tape, flaky, 'order')
    await tape.finish(new Set(['order']))
    const keys = (await readTape()).entries.map((entry) => entry.key)
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(/#0$/)
    const replay = await openRun('none')
    expect((await replay.ask('order')).reply).toBe('Thanks about What about order?.')
  })
})

describe('the journal of live answers', () => {
  const journal = () => join(dir, 'cache', 'journal', 'support.jsonl')

  it('lets a run that was killed before writing the tape resume without paying again', async () => {
    const killed = await openRun('new', new LiveModel(), { journal: journal() })
    await killed.ask('order')
    await killed.ask('refund')
    await vi.waitFor(async () => expect((await readFile(journal(), 'utf8')).trim().split('\n')).toHaveLength(2))
    expect(existsSync(path)).toBe(false)

    const resumed = await openRun('new', new LiveModel(), { journal: journal() })
    await resumed.ask('order')
    await resumed.ask('refund')
    await resumed.finish(['order', 'refund'])
    expect(resumed.live.calls).toBe(0)
    expect(await casesInTape()).toEqual(['order', 'refund'])
    expect(existsSync(journal())).toBe(false)
  })

  it('skips a torn last line and keeps every complete one', async () => {
    const killed = await openRun('new', new LiveModel(), { journal: journal() })
    await killed.ask('order')
    await vi.waitFor(() => expect(existsSync(journal())).toBe(true))
    await writeFile(journal(), `${await readFile(journal(), 'utf8')}{"key":"torn`)
    const resumed = await openRun('all', new LiveModel(), { journal: journal() })
    await resumed.ask('order')
    await resumed.ask('refund')
    expect(resumed.live.calls).toBe(1)
  })

  it('never holds a secret', async () => {
    const secret = 'sk-test-secret-0123456789abcdef'
    const killed = await openRun('new', new LiveModel(), { journal: journal(), secrets: [secret] })
    await killed.ask('order', { query: `My key ${secret} leaked` })
    await vi.waitFor(() => expect(existsSync(journal())).toBe(true))
    const text = await readFile(journal(), 'utf8')
    expect(text).toContain('[redacted]')
    expect(text).not.toContain(secret)
  })

  it('is not read or written in replay-only mode', async () => {
    await record(['order'])
    const run = await openRun('none', new LiveModel(), { journal: journal() })
    await run.ask('order')
    await run.finish(['order'])
    expect(existsSync(journal())).toBe(false)
  })

  it('keeps an answer resumed from it with the tool calls this run made again, not the journaled ones', async () => {
    const entry: LearnTapeEntry = { ...validEntry(), key: `${'c'.repeat(16)}#0`, tools: [{ name: 'orders_since', arguments: { date: '2026-12-01' }, result: [] }] }
    await mkdir(dirname(journal()), { recursive: true })
    await writeFile(journal(), `${JSON.stringify(entry)}\n`)
    const tape = await loadTape('new', { journal: journal() })
    expect(tape.lookup('c'.repeat(16)).entry).toEqual(entry)
    const again = { ...entry, tools: [{ name: 'orders_since', arguments: { date: '2026-12-02' }, result: [] }] }
    tape.record(again)
    await tape.finish(new Set(['order']))
    expect((await readTape()).entries).toEqual([again])
    expect(tape.counters.recorded).toBe(1)
  })
})
