// The sentinel search: a project whose API key is SENTINEL records, re-records through provider
// errors that echo the key, is killed mid-run (leaving its journal), is optimized, and logs
// production traces to the files, SQLite and Postgres stores; its models and users put the key
// everywhere they plausibly could (a case input, answers quoting it, a teacher copying it into
// synthetic cases and proposed prompts, error messages). Then every file written, every report,
// every store row and every line printed is searched for the key. Plain code, free of Vitest.
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { ai, ax } from '@ax-llm/ax'
import pg from 'pg'
import { AxLearn, AxPostgresStorage, createStorage, type AxStorage, type LearnStorage } from '../../../src/index.js'
import { startModelServer, type Script, type ScriptedReply } from '../../support/model-server.js'
import { createProject } from '../../support/project.js'
import { configSource, liveEnv, optimizeScript, optimizeSpecSource, recordScript, recordSpecSource, recordQueries, SENTINEL } from './fixtures.js'

/** A model that repeats the key wherever it writes text: in every string of its answer. */
function echoing(script: Script): Script {
  const echo = (value: unknown): unknown =>
    typeof value === 'string' ? `${value} (key ${SENTINEL})` : Array.isArray(value) ? value.map(echo) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, echo(item)])) : value
  return async (call) => echo(await script(call)) as ScriptedReply
}

export interface SentinelResult {
  /** Files and store tables searched, and run outputs. */
  searched: string[]
  /** Where the key was found. */
  found: string[]
}

async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 60_000) throw new Error('gave up waiting for a journal to kill the run over')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => {
      const rel = relative(dir, path)
      // The packages are links to this repository's node_modules; what runs write below it is searched.
      return !rel.startsWith('node_modules/') || rel.startsWith('node_modules/.cache/') || rel.startsWith('node_modules/.vite/')
    })
}

const reports = (name: string) => ['--reporter=default', '--reporter=junit', `--outputFile.junit=reports/${name}.xml`, '--reporter=json', `--outputFile.json=reports/${name}.json`]

/** Runs the whole scenario; `postgresUrl` adds the Postgres store (its rows are searched, then its schema dropped). */
export async function sentinelSearch(options: { postgresUrl?: string } = {}): Promise<SentinelResult> {
  const server = await startModelServer({ script: echoing(recordScript), latencyMs: 50 })
  const pasted = `My API key is ${SENTINEL}, why is it refused?`
  const project = await createProject({
    'vitest.config.ts': configSource(),
    'support.learn.ts': recordSpecSource('support', [...recordQueries.slice(0, 3), pasted]),
    'tuned.learn.ts': optimizeSpecSource('tuned').replace("{ customer_query: 'My parcel is late again.' }", `{ customer_query: ${JSON.stringify(pasted)} }`),
  })
  const env = liveEnv(server.url)
  const schema = `learn_sentinel_${process.pid}_${Date.now().toString(36)}`
  const searched = new Set<string>()
  const found = new Set<string>()
  /** After each step: every file the project holds now (the journal of a killed run is gone once the next run resumes it), and the step's output. */
  const search = async (step: string, output: string) => {
    for (const path of await filesBelow(project.dir)) {
      const rel = relative(project.dir, path)
      if (rel.endsWith('.learn.ts')) continue // the user's own files, where the key was pasted
      searched.add(rel)
      const bytes = await readFile(path)
      if (bytes.includes(SENTINEL)) found.add(rel)
    }
    searched.add(`output of the ${step}`)
    if (output.includes(SENTINEL)) found.add(`output of the ${step}`)
  }
  try {
    const record = await project.vitest(reports('record'), env)
    await search('record run', record.output)
    if (record.code !== 0) throw new Error(`the sentinel project's first recording failed:\n${record.output}`)

    // A run killed once some answers are journaled: its journal stays behind.
    await project.write('support.learn.ts', recordSpecSource('support', [...recordQueries.slice(0, 3), pasted]).replace("'Reply politely.'", "'Reply politely, briefly.'"))
    server.reset()
    const cache = join(project.dir, 'node_modules/.cache/vitest-learn')
    const killed = project.start([], env)
    await until(() => existsSync(join(cache, 'journal/support.jsonl')))
    await search('killed run', (await killed.kill()).output)

    // Providers that echo the key in their errors: a retried 500, then refused keys; then answers ax cannot parse.
    server.failNext(2, { status: 500, message: `upstream failed for key ${SENTINEL}` })
    await search('-u run with 500s', (await project.vitest(['-u', 'support.learn.ts', ...reports('update')], env)).output)
    server.failNext(100, { status: 401, message: `Incorrect API key provided: ${SENTINEL}` })
    await search('-u run with 401s', (await project.vitest(['-u', 'support.learn.ts', ...reports('refused')], env)).output)
    server.reset()
    server.setScript(() => `Sorry, I cannot answer that with key ${SENTINEL}.`)
    await search('-u run with unparsable answers', (await project.vitest(['-u', 'support.learn.ts', ...reports('unparsable')], env)).output)

    // An optimize run killed mid-search leaves its call cache and the cache's journal; the next one finishes.
    server.reset()
    server.setScript(echoing(optimizeScript()))
    const optimizing = project.start(['--optimize', 'tuned.learn.ts'], { ...env, bin: 'learn' })
    await until(() => existsSync(join(cache, 'journal', 'optimize-tuned.jsonl')))
    await search('killed optimize run', (await optimizing.kill()).output)
    server.setScript(echoing(optimizeScript()))
    await search('optimize run', (await project.learn(['--optimize', 'tuned.learn.ts', ...reports('optimize')], env)).output)

    // CI with the key in its environment, as a machine that holds it for other jobs (a key the
    // process is never given cannot be told from other text, and is in the user's own files anyway).
    await search('CI run', (await project.vitest(reports('ci'), { ci: true, env: env.env })).output)

    // Production: AxLearn on a real provider client whose key the server echoes, in every store.
    server.setScript(echoing(() => ({ answer: 'Four.' })))
    const stores: LearnStorage[] = [
      createStorage(`file:${join(project.dir, '.learn')}`),
      createStorage(`sqlite:${join(project.dir, 'traces.db')}`),
      ...(options.postgresUrl ? [new AxPostgresStorage({ connectionString: options.postgresUrl, schema })] : []),
    ]
    const llm = ai({ name: 'openai', apiKey: SENTINEL, apiURL: server.url, config: { model: 'gpt-4o-mini' } as never })
    for (const storage of stores) await logTraces(storage, llm, server)
    for (const storage of stores) await storage.close()
    await search('AxLearn', '')
    if (options.postgresUrl) {
      searched.add(`postgres schema ${schema}`)
      for (const table of await postgresRowsWith(options.postgresUrl, schema)) found.add(table)
    }
    return { searched: [...searched], found: [...found] }
  } finally {
    await server.close()
    await project.remove()
    if (options.postgresUrl) await dropSchema(options.postgresUrl, schema)
  }
}

async function logTraces(storage: AxStorage, llm: ReturnType<typeof ai>, server: { failNext: (count: number, fault: { status: number; message: string }) => void }): Promise<void> {
  const agent = new AxLearn(ax('question:string -> answer:string'), { name: 'agent', storage, onError: () => {} })
  await agent.forward(llm, { question: 'What is 2+2?' })
  server.failNext(1, { status: 401, message: `Incorrect API key provided: ${SENTINEL}` })
  await agent.forward(llm, { question: 'And 3+3?' }).catch(() => undefined)
  const [trace] = await agent.getTraces({ limit: 1 })
  await agent.addFeedback(trace!.id, { score: 0, comment: 'quoted the key' })
  await agent.flush()
}

async function postgresRowsWith(url: string, schema: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const found: string[] = []
    for (const table of ['learn_traces', 'learn_checkpoints']) {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${schema}".${table} AS r WHERE r::text LIKE $1`, [`%${SENTINEL}%`])
      if ((rows[0] as { n: number }).n > 0) found.push(`postgres ${schema}.${table}`)
    }
    return found
  } finally {
    await client.end()
  }
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end())
}
