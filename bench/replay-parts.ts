// Where a replayed case's time goes, in one process without Vitest: ax's forward() with the
// recorded answer handed straight to it (no tape), against a whole SpecSession.runCase replaying
// the same answers from a tape; both warm. Then the live heap after the run (forced collections),
// to tell what a replay keeps from the garbage a whole-process peak also counts.
//   npm run bench:replay-parts            CASES=5000 (recorded once from a local scripted server)
// The recording runs in a child process: a process that records tracks tape steps with async
// context, which would slow every promise of the replay measured here (a CI replay never records).
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ax, AxMockAIService } from '@ax-llm/ax'
import { DelegatingAIService } from '../src/delegating-service.js'
import { SpecSession, type SessionMode } from '../src/session.js'
import { defineLearn } from '../src/spec.js'
import { startModelServer } from '../test/support/model-server.js'

const cases = Number(process.env.CASES ?? 5000)
const warm = Math.min(2000, Math.floor(cases / 4))
const signature = 'ticket:string -> category:class "billing, shipping, other"'
const instruction = 'Route the ticket.'
const gc = (globalThis as { gc?: () => void }).gc

const spec = defineLearn({
  name: 'replay-parts',
  program: ax(signature),
  instruction,
  cases: Array.from({ length: cases }, (_, index) => ({ input: { ticket: `Ticket number ${index}` }, expected: { category: 'other' as const } })),
  metric: ({ prediction, example }) => (prediction.category === example.category ? 1 : 0),
  samples: 1,
})

/** Answers every call with the same parsed-to-be answer, as a replayed call would: ax alone, nothing recorded. */
class FixedAnswer extends DelegatingAIService {
  override async chat() {
    return { results: [{ index: 0, content: 'Category: other', finishReason: 'stop' as const }] }
  }
}

const perCall = async (count: number, run: (index: number) => Promise<unknown>): Promise<number> => {
  const started = performance.now()
  for (let index = 0; index < count; index++) await run(index)
  return ((performance.now() - started) / count) * 1000
}

const models = (url: string) => ({ student: { name: 'openai' as const, apiKey: 'bench-key', apiURL: url, config: { model: 'gpt-4o-mini' } } })
const open = (dir: string, mode: SessionMode, url = 'http://127.0.0.1:9') =>
  SpecSession.open({ spec, specFile: 'bench', snapshotDir: join(dir, spec.name), mode, models: models(url), recordCommand: 'bench' })

if (process.env.REPLAY_PARTS_RECORD) {
  const server = await startModelServer({ script: () => ({ category: 'other' }) })
  try {
    const recording = await open(process.env.REPLAY_PARTS_RECORD, 'new', server.url)
    for (const item of spec.cases) await recording.runCase(item)
    await recording.close()
  } finally {
    await server.close()
  }
} else {
  const dir = await mkdtemp(join(tmpdir(), 'vitest-learn-replay-parts-'))
  try {
    execFileSync(process.execPath, [...process.execArgv, process.argv[1]!], { env: { ...process.env, REPLAY_PARTS_RECORD: dir }, stdio: 'inherit' })

    const program = ax(signature)
    program.setInstruction(instruction)
    const fixed = new FixedAnswer(new AxMockAIService({}))
    const forward = (index: number) => program.forward(fixed, { ticket: `Ticket number ${index}` }, { stream: false })
    await perCall(warm, forward)
    const axAlone = await perCall(cases - warm, (index) => forward(index + warm))

    const heapMb = () => {
      gc?.()
      gc?.()
      return process.memoryUsage().heapUsed / 1024 / 1024
    }
    const before = heapMb()
    const session = await open(dir, 'none')
    const loaded = heapMb()
    await perCall(warm, (index) => session.runCase(spec.cases[index]!))
    const runCase = await perCall(cases - warm, (index) => session.runCase(spec.cases[index + warm]!))
    const after = heapMb()

    console.log(`${cases} cases, ${warm} of them to warm up; microseconds per case, warm`)
    console.log(`ax forward() alone, answer handed to it   ${axAlone.toFixed(1)} us`)
    console.log(`SpecSession.runCase, replayed from a tape  ${runCase.toFixed(1)} us  (${(runCase / axAlone).toFixed(2)}x ax alone)`)
    if (gc) console.log(`live heap: the tape +${(loaded - before).toFixed(1)} MiB, then every case run +${(after - loaded).toFixed(1)} MiB (${(((after - loaded) * 1024) / cases).toFixed(2)} KiB a case); ${after.toFixed(0)} MiB in all`)
    else console.log('live heap: run with node --expose-gc (npm run bench:replay-parts does) to measure it')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
