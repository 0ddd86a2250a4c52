// The project the campaign runs: a vitest.config.ts whose models point at the scripted server,
// a spec to record and one to optimize, and the scripts the server answers them with.
import type { LearnTapeEntry } from '../../../src/formats/types.generated.js'
import { defaultScript, type Script, type ScriptedCall } from '../../support/model-server.js'
import { SEED_INSTRUCTION, scriptedWorld } from '../../optimize/support.js'

/** One recorded call, as a tape or journal holds it; `fields` override. */
export const tapeEntry = (fields: Partial<Record<keyof LearnTapeEntry, unknown>> = {}): LearnTapeEntry =>
  ({
    key: '0123456789abcdef#0',
    case: 'one',
    role: 'student',
    request: { provider: 'openai', model: 'gpt-4o-mini', modelConfig: {}, messages: [], functions: [], stream: null },
    response: { kind: 'chat', chat: { results: [{ index: 0, content: 'Polite reply: hi' }] } },
    latencyMs: 1,
    ...fields,
  }) as LearnTapeEntry

/** The API key of every campaign run: it must never reach a file. */
export const SENTINEL = 'sk-sentinel-7f3a9c2e5b1d4086'

/** Environment of a live run against the scripted server at `url`. */
export const liveEnv = (url: string, key = SENTINEL): { env: Record<string, string> } => ({ env: { TEST_KEY: key, LEARN_API_URL: url } })

export interface ConfigOptions {
  /** Production trace store optimize reads, e.g. 'sqlite:./traces.db'. */
  traces?: string
  /** Milliseconds a request may take before it is abandoned and retried (default 2000, so a hang costs little). */
  attemptTimeoutMs?: number
}

export function configSource(options: ConfigOptions = {}): string {
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 2000
  const retry = { attemptTimeoutMs, totalTimeoutMs: Math.max(8000, attemptTimeoutMs * 2) }
  const traces = options.traces ? `, traces: { storage: ${JSON.stringify(options.traces)} }` : ''
  return `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'

const model = (name) => ({ name: 'openai', apiKey: process.env.TEST_KEY, apiURL: process.env.LEARN_API_URL, config: { model: name } })
export default defineConfig({
  plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o'), retry: ${JSON.stringify(retry)}, optimize: { concurrency: 4 }${traces} })],
})
`
}

export const recordQueries = Array.from({ length: 8 }, (_, index) => `Question ${index + 1}: where is order #${4200 + index}?`)

/** A spec of 8 cases sampled once (16 calls: student and judge each) with a judge that always passes them. */
export function recordSpecSource(name = 'support', queries: readonly string[] = recordQueries): string {
  return `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: ${JSON.stringify(name)},
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: 'Reply politely.',
  cases: ${JSON.stringify(queries.map((query, index) => ({ id: `q${index + 1}`, input: { customer_query: query } })))},
  judge: 'Polite and gives a next step.',
  threshold: 0.5,
  samples: 1,
})
`
}

/** Answers the record spec: a reply echoing the query, a judge's 0.9. */
export const recordScript: Script = (call: ScriptedCall) => {
  if (call.outputs.includes('score')) return { score: 0.9, reasons: 'Polite; next step given.' }
  if (call.outputs.includes('polite_reply')) return { polite_reply: `Thanks for asking about "${call.inputs.customer_query}". Next step: reply here.` }
  return defaultScript(call)
}

/** The spec optimize-cli.test.ts optimizes: the scripted world's seed misses four rules. */
export function optimizeSpecSource(name = 'support'): string {
  return `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: ${JSON.stringify(name)},
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: ${JSON.stringify(SEED_INSTRUCTION)},
  cases: [
    { input: { customer_query: 'Where is my order #12345?' } },
    { input: { customer_query: 'The lamp arrived broken.' } },
    { input: { customer_query: 'Can I get my money back for a late delivery?' } },
    { input: { customer_query: 'How do I change my shipping address?' } },
    { input: { customer_query: 'My parcel is late again.' } },
    { input: { customer_query: 'I was charged twice, refund me.' } },
  ],
  judge: 'Greets with "Dear customer"; gives one concrete next step; never mentions refunds; signs off as the support team; at most 200 characters.',
  threshold: 0.5,
  samples: 1,
  optimize: { budget: 12, synthCount: 10 },
})
`
}

/** The scripted world's answers; set a fresh one before each run, so synthetic inputs are numbered from 1 again and a rerun asks what the killed run asked. */
export const optimizeScript = (): Script => scriptedWorld().script
