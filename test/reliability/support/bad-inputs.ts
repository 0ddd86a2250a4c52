// The bad-inputs table: spec fields, tapes, traces, checkpoints, synthetic files, the call cache,
// journals, stores' files, storage queries and items, and options. Each must fail with an error
// that names the file and the field (where the input has them), and leave every file it touched
// byte-identical. Spec and file inputs run in real Vitest runs of one project (one spec per
// input); storage inputs against every adapter. Plain code, free of Vitest.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ax } from '@ax-llm/ax'
import { LearnError } from '../../../src/errors.js'
import { AxFileStorage, AxLearn, AxMemoryStorage, AxPostgresStorage, AxSQLiteStorage, createStorage, type LearnStorage } from '../../../src/index.js'
import learn from '../../../plugin/index.js'
import { startModelServer } from '../../support/model-server.js'
import { createProject } from '../../support/project.js'
import { changedFiles, fingerprint } from './check-files.js'
import { configSource, liveEnv, optimizeScript, recordScript, tapeEntry } from './fixtures.js'

export type Verdict = 'clear' | 'unclear' | 'silent' | 'lost'

export interface BadInputOutcome {
  id: string
  kind: string
  what: string
  verdict: Verdict
  /** The first line of the error, or why the verdict. */
  detail: string
}

/** Where the error must point: the file (as shown to the user) and the field, when the input has them. */
interface Expected {
  file?: string
  field?: string
}

// ---------------------------------------------------------------------------------------------
// Inputs a test run meets: each is a spec file bad-<id>.learn.ts, with files of its own planted.
// ---------------------------------------------------------------------------------------------

interface RunInput {
  id: string
  kind: 'spec' | 'tape' | 'traces' | 'checkpoint' | 'journal' | 'synthetic' | 'cache'
  what: string
  /** Replaces parts of the valid spec's source: [search, replacement]. */
  edit?: [string, string][]
  /** Files to plant, relative to the project; `{dir}` is the spec's snapshot folder. A value of null plants a folder. */
  files?: Record<string, string | null>
  expect: Expected & { passes?: boolean }
}

/** `{dir}`: the spec's snapshot folder; `{name}`: its name. */
const fill = (text: string, name: string) => text.replaceAll('{dir}', `snapshots/${name}`).replaceAll('{name}', name)

const validCase = "{ id: 'one', input: { customer_query: 'Where is my order?' } }"
const secondCase = "{ id: 'two', input: { customer_query: 'The lamp is broken.' } }"

function specSource(name: string, edit: [string, string][] = []): string {
  let source = `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: '${name}',
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: 'Reply politely.',
  cases: [${validCase}, ${secondCase}],
  judge: 'Polite and gives a next step.',
  threshold: 0.5,
  optimize: { budget: 2, synthCount: 5 },
})
`
  for (const [search, replacement] of edit) {
    const found = fill(search, name)
    if (!source.includes(found)) throw new Error(`bad input edit: "${found}" is not in the spec`)
    source = source.replace(found, replacement)
  }
  return source
}

const tape = (entries: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ format: 1, spec: '{name}', entries, ...extra }, null, 2)
const checkpoint = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ format: 1, name: '{name}', version: 1, parent: null, created: '2024-01-01T00:00:00.000Z', program: { instruction: 'Reply.' }, ...fields }, null, 2)
const trace = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'trace', id: 'one', name: '{name}', input: {}, output: {}, startTime: '2024-01-01T00:00:00.000Z', endTime: '2024-01-01T00:00:01.000Z', durationMs: 1, ...fields })
const synthetic = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ format: 1, spec: '{name}', signature: 'customer_query:string -> polite_reply:string', created: '2024-01-01T00:00:00.000Z', examples: [], ...fields }, null, 2)

export const runInputs: RunInput[] = [
  { id: 'typo', kind: 'spec', what: 'a misspelled field (threshhold)', edit: [['threshold:', 'threshhold:']], expect: { field: 'threshhold' } },
  { id: 'threshold-text', kind: 'spec', what: "threshold: 'high'", edit: [['threshold: 0.5', "threshold: 'high'"]], expect: { field: 'threshold' } },
  { id: 'no-cases', kind: 'spec', what: 'cases: []', edit: [[`cases: [${validCase}, ${secondCase}]`, 'cases: []']], expect: { field: 'cases' } },
  { id: 'missing-input-field', kind: 'spec', what: "a case input without the program's input field", edit: [["input: { customer_query: 'Where is my order?' }", "input: { question: 'Where is my order?' }"]], expect: { field: 'cases[0].input' } },
  { id: 'function-input', kind: 'spec', what: 'a function in a case input', edit: [["input: { customer_query: 'Where is my order?' }", "input: { customer_query: 'Where?', callback: () => 1 }"]], expect: { field: 'cases[0].input.callback' } },
  { id: 'circular-input', kind: 'spec', what: 'a circular case input', edit: [['export default', "const loop = { customer_query: 'Where?' }\nloop.self = loop\nexport default"], ["input: { customer_query: 'Where is my order?' }", 'input: loop']], expect: { field: 'cases[0].input.self' } },
  { id: 'long-name', kind: 'spec', what: 'a 300-character spec name', edit: [["name: '{name}'", `name: '${'x'.repeat(300)}'`]], expect: { field: 'name' } },
  { id: 'slash-name', kind: 'spec', what: 'a spec name with a slash', edit: [["name: '{name}'", "name: 'team/support'"]], expect: { field: 'name' } },
  { id: 'duplicate-ids', kind: 'spec', what: 'two cases with one id', edit: [["id: 'two'", "id: 'one'"]], expect: { field: 'cases[1].id' } },
  { id: 'no-judge', kind: 'spec', what: 'neither judge nor metric', edit: [["  judge: 'Polite and gives a next step.',\n", '']], expect: { field: 'judge' } },
  { id: 'negative-budget', kind: 'spec', what: 'optimize.budget: -1', edit: [['budget: 2', 'budget: -1']], expect: { field: 'optimize.budget' } },
  { id: 'model-string', kind: 'spec', what: "student: 'gpt-4o' (a name, not ai() arguments)", edit: [['  threshold: 0.5,', "  threshold: 0.5,\n  student: 'gpt-4o',"]], expect: { field: 'student' } },
  { id: 'expected-text', kind: 'spec', what: "expected: 'yes' (not an object)", edit: [["input: { customer_query: 'Where is my order?' }", "input: { customer_query: 'Where is my order?' }, expected: 'yes'"]], expect: { field: 'cases[0].expected' } },
  { id: 'no-default-export', kind: 'spec', what: 'a spec file without defineLearn', edit: [['export default defineLearn(', 'export default (']], expect: {} },

  { id: 'tape-truncated', kind: 'tape', what: 'tape.json cut off mid-way', files: { '{dir}/tape.json': tape([tapeEntry()]).slice(0, 120) }, expect: { file: '{dir}/tape.json' } },
  { id: 'tape-empty', kind: 'tape', what: 'tape.json of 0 bytes', files: { '{dir}/tape.json': '' }, expect: { file: '{dir}/tape.json' } },
  { id: 'tape-folder', kind: 'tape', what: 'tape.json is a folder', files: { '{dir}/tape.json': null }, expect: { file: '{dir}/tape.json' } },
  { id: 'tape-format', kind: 'tape', what: 'format: 99', files: { '{dir}/tape.json': tape([], { format: 99 }) }, expect: { file: '{dir}/tape.json', field: 'format' } },
  { id: 'tape-other-spec', kind: 'tape', what: "a tape recorded for another spec's name", files: { '{dir}/tape.json': tape([]).replace('{name}', 'another') }, expect: { file: '{dir}/tape.json', field: 'spec' } },
  { id: 'tape-entries-object', kind: 'tape', what: 'entries is an object', files: { '{dir}/tape.json': tape([], { entries: {} }) }, expect: { file: '{dir}/tape.json', field: 'entries' } },
  { id: 'tape-no-key', kind: 'tape', what: 'an entry without its key', files: { '{dir}/tape.json': tape([{ ...tapeEntry(), key: undefined }]) }, expect: { file: '{dir}/tape.json', field: 'entries[0]' } },
  { id: 'tape-bad-key', kind: 'tape', what: "an entry key that is not '<hash>#<n>'", files: { '{dir}/tape.json': tape([tapeEntry({ key: 'abc' })]) }, expect: { file: '{dir}/tape.json', field: 'entries[0].key' } },
  { id: 'tape-no-results', kind: 'tape', what: 'a response without results', files: { '{dir}/tape.json': tape([tapeEntry({ response: { kind: 'chat', chat: {} } })]) }, expect: { file: '{dir}/tape.json', field: 'entries[0].response' } },
  { id: 'tape-duplicate-key', kind: 'tape', what: 'two entries with one key', files: { '{dir}/tape.json': tape([tapeEntry(), tapeEntry({ latencyMs: 2 })]) }, expect: { file: '{dir}/tape.json', field: 'entries[1].key' } },
  { id: 'tape-role', kind: 'tape', what: "role: 'boss'", files: { '{dir}/tape.json': tape([tapeEntry({ role: 'boss' })]) }, expect: { file: '{dir}/tape.json', field: 'entries[0].role' } },
  { id: 'tape-latency', kind: 'tape', what: 'latencyMs: -5', files: { '{dir}/tape.json': tape([tapeEntry({ latencyMs: -5 })]) }, expect: { file: '{dir}/tape.json', field: 'entries[0].latencyMs' } },
  { id: 'tape-bom', kind: 'tape', what: 'a byte-order mark before the JSON', files: { '{dir}/tape.json': `\uFEFF${tape([])}` }, expect: { file: '{dir}/tape.json' } },
  { id: 'tape-null', kind: 'tape', what: 'tape.json holding null', files: { '{dir}/tape.json': 'null' }, expect: { file: '{dir}/tape.json', field: '(root)' } },

  { id: 'traces-garbled', kind: 'traces', what: 'a garbled second line of traces.jsonl', files: { '{dir}/traces.jsonl': `${trace()}\n{"type": "tra\n` }, expect: { file: '{dir}/traces.jsonl:2' } },
  { id: 'traces-fields', kind: 'traces', what: 'a traces.jsonl line without its fields', files: { '{dir}/traces.jsonl': '{"type":"trace"}\n' }, expect: { file: '{dir}/traces.jsonl:1', field: '(root)' } },

  { id: 'checkpoint-truncated', kind: 'checkpoint', what: 'checkpoint.json cut off', files: { '{dir}/checkpoint.json': checkpoint().slice(0, 50) }, expect: { file: '{dir}/checkpoint.json' } },
  { id: 'checkpoint-version', kind: 'checkpoint', what: 'version: 0', files: { '{dir}/checkpoint.json': checkpoint({ version: 0 }) }, expect: { file: '{dir}/checkpoint.json', field: 'version' } },
  { id: 'checkpoint-no-instruction', kind: 'checkpoint', what: 'a program without its instruction', files: { '{dir}/checkpoint.json': checkpoint({ program: {} }) }, expect: { file: '{dir}/checkpoint.json', field: 'program' } },
  { id: 'checkpoint-score', kind: 'checkpoint', what: 'a baseline score of 1.5', files: { '{dir}/checkpoint.json': checkpoint({ baseline: { mean: 1.5, scores: { one: 1.5 } } }) }, expect: { file: '{dir}/checkpoint.json', field: 'baseline' } },
  { id: 'checkpoint-other-spec', kind: 'checkpoint', what: "a checkpoint of another spec's name", files: { '{dir}/checkpoint.json': checkpoint().replace('{name}', 'another') }, expect: { file: '{dir}/checkpoint.json', field: 'name' } },

  { id: 'journal-garbage', kind: 'journal', what: 'a journal of garbage lines (a cache: skipped, the run records afresh)', files: { 'node_modules/.cache/vitest-learn/journal/{name}.jsonl': 'not json\n{"key":\n' }, expect: { passes: true } },
]

/** Optimize meets these: each spec bad-<id> runs `vitest-learn --optimize`. */
export const optimizeInputs: RunInput[] = [
  { id: 'synthetic-truncated', kind: 'synthetic', what: 'synthetic.json cut off', files: { '{dir}/synthetic.json': synthetic().slice(0, 40) }, expect: { file: '{dir}/synthetic.json' } },
  { id: 'synthetic-example', kind: 'synthetic', what: 'a synthetic example without its input', files: { '{dir}/synthetic.json': synthetic({ examples: [{ id: 's1', expected: {}, category: 'normal' }] }) }, expect: { file: '{dir}/synthetic.json', field: 'examples[0]' } },
  { id: 'synthetic-other-spec', kind: 'synthetic', what: "synthetic cases of another spec's name", files: { '{dir}/synthetic.json': synthetic({ examples: [{ id: 's1', input: { customer_query: 'Hi?' }, expected: { polite_reply: 'Hello.' }, category: 'normal' }] }).replace('{name}', 'another') }, expect: { file: '{dir}/synthetic.json', field: 'spec' } },
  { id: 'cache-garbled', kind: 'cache', what: "optimize's call cache garbled", files: { 'node_modules/.cache/vitest-learn/{name}.json': '{"format": 1, "spec": "{name}", "entr' }, expect: { file: 'node_modules/.cache/vitest-learn/{name}.json' } },
  { id: 'opt-checkpoint-version', kind: 'checkpoint', what: "a checkpoint.json whose version is text, met by optimize", files: { '{dir}/checkpoint.json': checkpoint({ version: 'one' }) }, expect: { file: '{dir}/checkpoint.json', field: 'version' } },
]


interface JsonReport {
  testResults: { name: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[]
}

/** Judges one failure message against what it must name. */
function judge(message: string | undefined, expected: Expected, name: string): { verdict: Verdict; detail: string } {
  if (message === undefined) return { verdict: 'silent', detail: 'no test failed' }
  const first = message.split('\n')[0]!
  const file = expected.file && fill(expected.file, name)
  const field = expected.field
  const missing = [
    file && !first.includes(file) && `the file ${file}`,
    field && !first.includes(` › ${field}`) && `the field ${field}`,
    !/^LearnError: /.test(first) && 'an error of its own (not a crash)',
  ].filter(Boolean)
  return missing.length === 0 ? { verdict: 'clear', detail: first } : { verdict: 'unclear', detail: `${first} (lacks ${missing.join(', ')})` }
}

async function plant(dir: string, input: RunInput, name: string): Promise<void> {
  for (const [path, text] of Object.entries(input.files ?? {})) {
    const target = join(dir, fill(path, name))
    if (text === null) await mkdir(target, { recursive: true })
    else {
      await mkdir(join(target, '..'), { recursive: true })
      await writeFile(target, fill(text, name))
    }
  }
}

/** Runs every input of `inputs` in one project: a real Vitest run (or `vitest-learn --optimize`). */
async function runTable(inputs: RunInput[], optimize: boolean): Promise<BadInputOutcome[]> {
  const server = await startModelServer({ script: optimize ? optimizeScript() : recordScript })
  const files: Record<string, string> = { 'vitest.config.ts': configSource() }
  for (const input of inputs) files[`bad-${input.id}.learn.ts`] = specSource(`bad-${input.id}`, input.edit)
  const project = await createProject(files)
  try {
    for (const input of inputs) await plant(project.dir, input, `bad-${input.id}`)
    const cache = { include: ['node_modules/.cache'] }
    const before = await fingerprint(project.dir, cache)
    // One worker for every spec file (--no-isolate): the same verdicts, in a sixth of the time.
    const args = ['--no-isolate', '--reporter=json', '--outputFile.json=report.json']
    const run = optimize ? await project.learn(['--optimize', ...args], liveEnv(server.url)) : await project.vitest(args, liveEnv(server.url))
    const report = JSON.parse(await project.read('report.json').catch(() => '{"testResults":[]}')) as JsonReport
    const after = await fingerprint(project.dir, cache)
    const changed = changedFiles(before, after)
    return inputs.map((input) => {
      const name = `bad-${input.id}`
      const result = report.testResults.find((module) => module.name.endsWith(`/${name}.learn.ts`))
      const failure = result?.assertionResults.find((test) => test.status === 'failed')?.failureMessages[0]
      const planted = Object.keys(input.files ?? {}).map((path) => fill(path, name))
      const touched = changed.filter((path) => planted.some((file) => path === file || path.startsWith(`${file}/`)))
      const base = { id: input.id, kind: input.kind, what: input.what }
      if (!result) return { ...base, verdict: 'unclear', detail: `the run reported nothing for ${name}.learn.ts: ${run.output.slice(-300)}` }
      if (input.expect.passes) {
        const ok = failure === undefined && (touched.length === 0 || input.kind === 'journal')
        return { ...base, verdict: ok ? 'clear' : 'unclear', detail: failure?.split('\n')[0] ?? 'handled: the run passed' }
      }
      if (touched.length > 0) return { ...base, verdict: 'lost', detail: `changed ${touched.join(', ')}` }
      return { ...base, ...judge(failure, input.expect, name) }
    })
  } finally {
    await server.close()
    await project.remove()
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs a program meets through the library: storage items and queries, stores' files, options.
// ---------------------------------------------------------------------------------------------

interface CallInput {
  id: string
  kind: 'query' | 'item' | 'store file' | 'options'
  what: string
  /** Throws (or rejects) with the error under test. */
  run: (context: { storage: LearnStorage; dir: string }) => unknown
  expect: Expected
}

const circular: Record<string, unknown> = { question: 'loop' }
circular.self = circular
const goodTrace = { type: 'trace', id: 't1', name: 'agent', input: {}, output: {}, startTime: new Date(0), endTime: new Date(1), durationMs: 1 } as const

/** Queries and items every adapter must refuse alike, naming the field. */
export const storageInputs: CallInput[] = [
  { id: 'query-type', kind: 'query', what: "query type 'traces'", run: ({ storage }) => storage.load('agent', { type: 'traces' as 'trace' }), expect: { field: 'query.type' } },
  { id: 'query-limit', kind: 'query', what: 'limit: -1', run: ({ storage }) => storage.load('agent', { type: 'trace', limit: -1 }), expect: { field: 'query.limit' } },
  { id: 'query-since', kind: 'query', what: "since: 'yesterday'", run: ({ storage }) => storage.load('agent', { type: 'trace', since: 'yesterday' as unknown as Date }), expect: { field: 'query.since' } },
  { id: 'query-version', kind: 'query', what: 'version on a trace query', run: ({ storage }) => storage.load('agent', { type: 'trace', version: 2 }), expect: { field: 'query.version' } },
  { id: 'query-name', kind: 'query', what: "name 'a/b'", run: ({ storage }) => storage.load('a/b', { type: 'trace' }), expect: { field: 'name' } },
  { id: 'query-unknown', kind: 'query', what: 'an unknown query field (newest)', run: ({ storage }) => storage.load('agent', { type: 'trace', newest: true } as never), expect: { field: 'query.newest' } },
  { id: 'item-long-id', kind: 'item', what: 'a 5,000-character trace id', run: ({ storage }) => storage.save('agent', { ...goodTrace, id: 'x'.repeat(5000) }), expect: { field: 'trace.id' } },
  { id: 'item-circular', kind: 'item', what: 'a circular trace input', run: ({ storage }) => storage.save('agent', { ...goodTrace, input: circular }), expect: { field: 'trace.input' } },
  { id: 'item-version', kind: 'item', what: 'checkpoint version 2^53', run: ({ storage }) => storage.save('agent', { type: 'checkpoint', name: 'agent', version: 2 ** 53, createdAt: new Date() }), expect: { field: 'checkpoint.version' } },
  { id: 'item-date', kind: 'item', what: 'an Invalid Date startTime', run: ({ storage }) => storage.save('agent', { ...goodTrace, startTime: new Date(Number.NaN) }), expect: { field: 'trace.startTime' } },
  { id: 'item-unknown', kind: 'item', what: 'an unknown trace field (score)', run: ({ storage }) => storage.save('agent', { ...goodTrace, score: 1 } as never), expect: { field: 'trace.score' } },
  { id: 'item-usage', kind: 'item', what: 'usage.totalTokens: 1.5', run: ({ storage }) => storage.save('agent', { ...goodTrace, usage: { promptTokens: 1, completionTokens: 0, totalTokens: 1.5 } }), expect: { field: 'trace.usage.totalTokens' } },
]

/** The files store's own files, corrupted: loads and saves fail naming them, and leave them as they are. */
export const storeFileInputs: CallInput[] = [
  {
    id: 'store-traces-line',
    kind: 'store file',
    what: "a garbled middle line of the files store's traces.jsonl",
    run: async ({ dir }) => {
      await plantStore(dir, 'traces.jsonl', `${trace({ id: 'a', name: 'agent' })}\n{"garbled\n${trace({ id: 'b', name: 'agent' })}\n`)
      const store = new AxFileStorage({ dir })
      await store.save('agent', goodTrace).finally(() => store.close())
    },
    expect: { file: 'agent/traces.jsonl:2' },
  },
  {
    id: 'store-checkpoint',
    kind: 'store file',
    what: "the files store's checkpoint.json with a text version",
    run: async ({ dir }) => {
      await plantStore(dir, 'checkpoint.json', checkpoint({ version: 'two' }).replace('{name}', 'agent'))
      await new AxFileStorage({ dir }).load('agent', { type: 'checkpoint' })
    },
    expect: { file: 'agent/checkpoint.json', field: 'version' },
  },
  {
    id: 'store-history',
    kind: 'store file',
    what: 'checkpoints/v1.json holding version 3',
    run: async ({ dir }) => {
      await plantStore(dir, 'checkpoint.json', checkpoint().replace('{name}', 'agent'))
      await plantStore(dir, 'checkpoints/v1.json', checkpoint({ version: 3 }).replace('{name}', 'agent'))
      await new AxFileStorage({ dir }).load('agent', { type: 'checkpoint' })
    },
    expect: { file: 'agent/checkpoints/v1.json', field: 'version' },
  },
  {
    id: 'store-in-snapshots',
    kind: 'store file',
    what: "a files store opened on the plugin's snapshots/",
    run: async ({ dir }) => {
      await plantStore(dir, 'tape.json', tape([]).replace('{name}', 'agent'))
      await new AxFileStorage({ dir }).load('agent', { type: 'trace' })
    },
    expect: { file: '{dir}' },
  },
  {
    id: 'store-sqlite-garbage',
    kind: 'store file',
    what: 'a SQLite store on a file that is not a database',
    run: async ({ dir }) => {
      await writeFile(join(dir, 'traces.db'), 'this is not a database '.repeat(100))
      const store = new AxSQLiteStorage({ path: join(dir, 'traces.db') })
      await store.load('agent', { type: 'trace' }).finally(() => store.close().catch(() => {}))
    },
    expect: { file: 'traces.db' },
  },
]

async function plantStore(dir: string, file: string, text: string): Promise<void> {
  const path = join(dir, 'agent', file)
  await mkdir(join(path, '..'), { recursive: true })
  await writeFile(path, text)
}

/** Options of the plugin and of AxLearn. */
export const optionInputs: CallInput[] = [
  { id: 'plugin-concurrency', kind: 'options', what: 'learn({ concurrency: 0 })', run: () => learn({ concurrency: 0 }), expect: { file: 'vitest.config', field: 'learn({ concurrency })' } },
  { id: 'plugin-typo', kind: 'options', what: 'learn({ studnet })', run: () => learn({ studnet: {} } as never), expect: { file: 'vitest.config', field: 'learn({ studnet })' } },
  { id: 'plugin-retry', kind: 'options', what: 'learn({ retry: { maxAttempts: 0 } })', run: () => learn({ retry: { maxAttempts: 0 } }), expect: { file: 'vitest.config', field: 'learn({ retry.maxAttempts })' } },
  { id: 'plugin-traces', kind: 'options', what: "learn({ traces: 'sqlite:./t.db' }) (not an object)", run: () => learn({ traces: 'sqlite:./t.db' } as never), expect: { file: 'vitest.config', field: 'learn({ traces })' } },
  { id: 'storage-url', kind: 'options', what: "storage URL 'ftp://host/x'", run: () => createStorage('ftp://host/x'), expect: { field: 'storage' } },
  { id: 'axlearn-name', kind: 'options', what: "AxLearn name ''", run: () => new AxLearn(ax('question:string -> answer:string'), { name: '', storage: 'memory:' }), expect: { field: 'AxLearn options.name' } },
  {
    id: 'axlearn-checkpoints',
    kind: 'options',
    what: 'AxLearn checkpoints: a folder that does not exist',
    run: async ({ dir }) => {
      let reported: unknown
      const agent = new AxLearn(ax('question:string -> answer:string'), { name: 'agent', storage: 'memory:', checkpoints: join(dir, 'missing'), onError: (error) => (reported = error) })
      await agent.ready()
      throw reported
    },
    expect: { file: 'missing', field: 'AxLearn options.checkpoints' },
  },
]

const adapters: [string, (dir: string) => LearnStorage][] = [
  ['memory', () => new AxMemoryStorage()],
  ['files', (dir) => new AxFileStorage({ dir: join(dir, '.learn') })],
  ['sqlite', (dir) => new AxSQLiteStorage({ path: join(dir, 'traces.db') })],
]

/** Runs one library input; its error must be a LearnError naming what `expect` says; files below `dir` must not change. */
async function runCall(input: CallInput, storage: LearnStorage, dir: string, adapter?: string): Promise<BadInputOutcome> {
  const base = { id: adapter ? `${input.id} (${adapter})` : input.id, kind: input.kind, what: input.what }
  const before = await fingerprint(dir)
  let error: unknown
  try {
    await input.run({ storage, dir })
  } catch (caught) {
    error = caught
  }
  const after = await fingerprint(dir)
  const touched = changedFiles(before, after).filter((path) => before.has(path))
  if (touched.length > 0) return { ...base, verdict: 'lost', detail: `changed ${touched.join(', ')}` }
  if (error === undefined) return { ...base, verdict: 'silent', detail: 'accepted without an error' }
  const message = error instanceof Error ? error.message : String(error)
  const first = message.split('\n')[0]!
  const file = input.expect.file?.replace('{dir}', dir)
  if (!(error instanceof LearnError)) return { ...base, verdict: 'unclear', detail: `${(error as Error).name ?? 'thrown'}: ${first}` }
  const missing = [
    file !== undefined && !(error.file ?? '').endsWith(file) && `the file ${file}`,
    input.expect.field !== undefined && error.field !== input.expect.field && `the field ${input.expect.field} (got ${error.field})`,
  ].filter(Boolean)
  return { ...base, verdict: missing.length === 0 ? 'clear' : 'unclear', detail: missing.length === 0 ? first : `${first} (lacks ${missing.join(', ')})` }
}

/** Every storage input against every adapter (Postgres too, given its URL), the stores' files, and the options. */
async function runLibrary(postgresUrl: string | undefined): Promise<BadInputOutcome[]> {
  const outcomes: BadInputOutcome[] = []
  const makers = [...adapters]
  const schema = `learn_bad_${process.pid}_${Date.now().toString(36)}`
  if (postgresUrl) makers.push(['postgres', () => new AxPostgresStorage({ connectionString: postgresUrl, schema })])
  for (const [adapter, make] of makers) {
    const dir = await mkdtemp(join(tmpdir(), 'learn-bad-'))
    const storage = make(dir)
    try {
      await storage.save('agent', goodTrace) // files exist to be checked for changes
      await storage.flush()
      for (const input of storageInputs) outcomes.push(await runCall(input, storage, dir, adapter))
    } finally {
      await storage.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
  if (postgresUrl) {
    const pg = await import('pg')
    const client = new pg.default.Client({ connectionString: postgresUrl })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end())
  }
  for (const input of [...storeFileInputs, ...optionInputs]) {
    const dir = await mkdtemp(join(tmpdir(), 'learn-bad-'))
    try {
      outcomes.push(await runCall(input, new AxMemoryStorage(), dir))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  return outcomes
}

/** The ids runBadInputs() reports, in its order. */
export function badInputIds(withPostgres: boolean): string[] {
  const names = [...adapters.map(([name]) => name), ...(withPostgres ? ['postgres'] : [])]
  return [
    ...runInputs.map((input) => input.id),
    ...optimizeInputs.map((input) => input.id),
    ...names.flatMap((adapter) => storageInputs.map((input) => `${input.id} (${adapter})`)),
    ...[...storeFileInputs, ...optionInputs].map((input) => input.id),
  ]
}

/** The whole table; `postgresUrl` adds the Postgres adapter to the storage inputs. */
export async function runBadInputs(options: { postgresUrl?: string } = {}): Promise<BadInputOutcome[]> {
  return [...(await runTable(runInputs, false)), ...(await runTable(optimizeInputs, true)), ...(await runLibrary(options.postgresUrl))]
}

