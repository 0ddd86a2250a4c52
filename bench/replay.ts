// Replay overhead: a spec with 1,000 recorded cases, replayed under CI=true, against a plain Vitest
// file with 1,000 trivial tests, timed in the same run. Run: npx tsx bench/replay.ts
import { execFileSync } from 'node:child_process'
import { startModelServer } from '../test/support/model-server.js'
import { createProject, repoRoot } from '../test/support/project.js'

const cases = 1000
const rounds = Number(process.env.ROUNDS ?? 5)

execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' })

const spec = `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: 'bench-replay',
  program: ax('ticket:string -> category:class "billing, shipping, other"'),
  instruction: 'Route the ticket.',
  cases: Array.from({ length: ${cases} }, (_, index) => ({ input: { ticket: 'Ticket number ' + index } , expected: { category: 'other' } })),
  metric: ({ prediction, example }) => (prediction.category === example.category ? 1 : 0),
  threshold: 0.5,
})
`
const plain = `import { expect, test } from 'vitest'
for (let index = 0; index < ${cases}; index++) test('plain ' + index, () => expect(index).toBe(index))
`
const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'
export default defineConfig({ plugins: [learn({ student: { name: 'openai', apiKey: process.env.TEST_KEY, apiURL: process.env.LEARN_API_URL, config: { model: 'gpt-4o-mini' } } })] })
`

const server = await startModelServer({ script: () => ({ category: 'other' }) })
const project = await createProject({ 'vitest.config.ts': config, 'bench.learn.ts': spec, 'plain.test.ts': plain })
try {
  const record = await project.vitest(['bench.learn.ts'], { env: { TEST_KEY: 'bench-key', LEARN_API_URL: server.url } })
  if (record.code !== 0) throw new Error(`recording failed:\n${record.output}`)
  console.log(`recorded ${server.requests} calls`)

  const time = async (file: string) => {
    const started = performance.now()
    const run = await project.vitest([file], { ci: true })
    if (run.code !== 0) throw new Error(`${file} failed:\n${run.output}`)
    const testsMs = Number(/tests (\d+(?:\.\d+)?)(ms|s)/.exec(run.output)?.slice(1).reduce((value, unit) => String(Number(value) * (unit === 's' ? 1000 : 1))))
    return { wallMs: performance.now() - started, testsMs }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  const learn: { wallMs: number; testsMs: number }[] = []
  const baseline: { wallMs: number; testsMs: number }[] = []
  for (let round = 0; round < rounds; round++) {
    baseline.push(await time('plain.test.ts'))
    learn.push(await time('bench.learn.ts'))
  }
  const wall = { learn: median(learn.map((run) => run.wallMs)), plain: median(baseline.map((run) => run.wallMs)) }
  const tests = { learn: median(learn.map((run) => run.testsMs)), plain: median(baseline.map((run) => run.testsMs)) }
  console.log(`\n${cases} cases, median of ${rounds} rounds, CI=true replay`)
  console.log(`                      plain file   learn spec   ratio`)
  console.log(`wall time (process)   ${wall.plain.toFixed(0).padStart(7)} ms   ${wall.learn.toFixed(0).padStart(7)} ms   ${(wall.learn / wall.plain).toFixed(2)}x`)
  console.log(`tests time (Vitest)   ${tests.plain.toFixed(0).padStart(7)} ms   ${tests.learn.toFixed(0).padStart(7)} ms   ${(tests.learn / tests.plain).toFixed(2)}x`)
  console.log(`per-case overhead     ${((wall.learn - wall.plain) / cases).toFixed(3)} ms (wall)`)
} finally {
  await server.close()
  await project.remove()
}
