// Replay at scale: a spec of 1,000 and one of 10,000 recorded cases, replayed under CI=true, each
// against a plain Vitest file with as many trivial tests run under a config WITHOUT the plugin; and
// that plain file under the plugin's config against the same file without it. Every figure is a
// whole `vitest run` process (alternating, median of ROUNDS), in a temporary project where
// vitest-learn is installed as npm would install it. Peak memory is the largest single process
// (GNU time's maximum resident set size), when /usr/bin/time exists. The tape's size is compared
// with the same recordings written as format 1 (before shared texts).
//   npm run bench:replay                 SIZES=1000,10000 ROUNDS=5, KEEP=1 keeps the project (for profiling)
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { toPrettyJson } from '../src/formats/files.js'
import { readTapeFile } from '../src/formats/tape-file.js'
import { startModelServer } from '../test/support/model-server.js'
import { createProject, repoRoot } from '../test/support/project.js'

const sizes = (process.env.SIZES ?? '1000,10000').split(',').map(Number)
const rounds = Number(process.env.ROUNDS ?? 5)
// Replies per case: 1, the issue's measure (one recorded call a case); the specs' default is 5, five times the calls.
const samples = Number(process.env.SAMPLES ?? 1)
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined

execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' })

const spec = (cases: number) => `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: 'bench-${cases}',
  program: ax('ticket:string -> category:class "billing, shipping, other"'),
  instruction: 'Route the ticket.',
  cases: Array.from({ length: ${cases} }, (_, index) => ({ input: { ticket: 'Ticket number ' + index }, expected: { category: 'other' } })),
  metric: ({ prediction, example }) => (prediction.category === example.category ? 1 : 0),
  threshold: 0.5,
  samples: ${samples},
})
`
const plain = (cases: number) => `import { expect, test } from 'vitest'
for (let index = 0; index < ${cases}; index++) test('plain ' + index, () => expect(index).toBe(index))
`
const learnConfig = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'
export default defineConfig({ plugins: [learn({ student: { name: 'openai', apiKey: process.env.TEST_KEY, apiURL: process.env.LEARN_API_URL, config: { model: 'gpt-4o-mini' } } })] })
`
const plainConfig = `import { defineConfig } from 'vitest/config'
export default defineConfig({})
`

interface Run {
  wallMs: number
  /** Largest single process, in MiB; NaN without GNU time. */
  peakMb: number
  /** User + system seconds of the whole process tree; NaN without GNU time. */
  cpuS: number
}

const files: Record<string, string> = { 'vitest.config.ts': learnConfig, 'plain.config.ts': plainConfig }
for (const size of sizes) Object.assign(files, { [`bench-${size}.learn.ts`]: spec(size), [`plain-${size}.test.ts`]: plain(size) })
const project = await createProject(files)

function vitest(args: string[], env: Record<string, string> = {}): Promise<Run & { output: string; code: number | null }> {
  const vitestBin = join(repoRoot, 'node_modules/vitest/vitest.mjs')
  const command = [process.execPath, vitestBin, 'run', ...args]
  const argv = gnuTime ? [gnuTime, '-f', 'bench-peak-kb %M cpu %U %S', ...command] : command
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: project.dir,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const wallMs = performance.now() - started
      const peak = /bench-peak-kb (\d+) cpu ([\d.]+) ([\d.]+)/.exec(output)
      const [peakMb, cpuS] = peak ? [Number(peak[1]) / 1024, Number(peak[2]) + Number(peak[3])] : [NaN, NaN]
      resolve({ wallMs, peakMb, cpuS, output, code })
    })
  })
}

async function timed(args: string[]): Promise<Run> {
  const run = await vitest(args)
  if (run.code !== 0) throw new Error(`vitest run ${args.join(' ')} failed:\n${run.output}`)
  return run
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
/** The median of the runs' ratios, pair by pair (runs alternate, so each pair shared the machine's load). */
const pairRatio = (a: Run[], b: Run[], figure: 'wallMs' | 'cpuS' = 'wallMs') => median(a.map((run, index) => run[figure] / b[index]![figure]))
const ms = (value: number) => `${value.toFixed(0)} ms`
const mb = (value: number) => (Number.isNaN(value) ? 'n/a' : `${value.toFixed(0)} MiB`)
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`

const server = await startModelServer({ script: () => ({ category: 'other' }) })
try {
  for (const size of sizes) {
    const record = await vitest([`bench-${size}.learn.ts`], { CI: '', TEST_KEY: 'bench-key', LEARN_API_URL: server.url })
    if (record.code !== 0) throw new Error(`recording failed:\n${record.output}`)
  }
  console.log(`recorded ${server.requests} calls`)

  const results: { size: number; plain: Run[]; learn: Run[]; plainUnderPlugin: Run[]; tapeBytes: number; format1Bytes: number }[] = []
  for (const size of sizes) {
    const plainArgs = ['--config', 'plain.config.ts', `plain-${size}.test.ts`]
    const result = { size, plain: [] as Run[], learn: [] as Run[], plainUnderPlugin: [] as Run[], tapeBytes: 0, format1Bytes: 0 }
    for (let round = 0; round < rounds; round++) {
      result.plain.push(await timed(plainArgs))
      result.learn.push(await timed([`bench-${size}.learn.ts`]))
      result.plainUnderPlugin.push(await timed([`plain-${size}.test.ts`]))
    }
    const tapePath = join(project.dir, 'snapshots', `bench-${size}`, 'tape.json')
    result.tapeBytes = (await stat(tapePath)).size
    const { entries } = (await readTapeFile(tapePath, ''))!
    result.format1Bytes = Buffer.byteLength(toPrettyJson({ format: 1, spec: `bench-${size}`, entries }))
    results.push(result)
  }

  console.log(`\nCI=true replay, median of ${rounds} alternating rounds; plain = the plain file under a config without the plugin`)
  console.log('cases    plain      learn      ratio   per case   cpu (plain / learn, ratio)   cpu per case   peak (plain / learn)   tape (format 1)')
  for (const { size, plain, learn, tapeBytes, format1Bytes } of results) {
    const wall = { plain: median(plain.map((run) => run.wallMs)), learn: median(learn.map((run) => run.wallMs)) }
    console.log(
      [
        String(size).padEnd(7),
        ms(wall.plain).padStart(9),
        ms(wall.learn).padStart(9),
        `${pairRatio(learn, plain).toFixed(2)}x`.padStart(7),
        `${((wall.learn - wall.plain) / size).toFixed(3)} ms`.padStart(10),
        `${median(plain.map((run) => run.cpuS)).toFixed(2)} s / ${median(learn.map((run) => run.cpuS)).toFixed(2)} s, ${pairRatio(learn, plain, 'cpuS').toFixed(2)}x`.padStart(27),
        `${(((median(learn.map((run) => run.cpuS)) - median(plain.map((run) => run.cpuS))) * 1000) / size).toFixed(3)} ms`.padStart(13),
        `${mb(median(plain.map((run) => run.peakMb)))} / ${mb(median(learn.map((run) => run.peakMb)))}`.padStart(21),
        `${mib(tapeBytes)} (${mib(format1Bytes)}, ${(tapeBytes / format1Bytes).toFixed(2)}x)`.padStart(26),
      ].join('  '),
    )
  }
  if (results.length >= 2) {
    const [small, large] = [results[0]!, results.at(-1)!]
    const extra = (result: (typeof results)[number]) => median(result.learn.map((run) => run.wallMs)) - median(result.plain.map((run) => run.wallMs))
    console.log(`marginal per case (${small.size} → ${large.size}): ${((extra(large) - extra(small)) / (large.size - small.size)).toFixed(3)} ms`)
  }
  console.log('\nthe plain file under the plugin\'s config, against the same file without it')
  for (const { size, plain, plainUnderPlugin } of results)
    console.log(
      `${String(size).padEnd(7)}  wall ${ms(median(plainUnderPlugin.map((run) => run.wallMs)))} / ${ms(median(plain.map((run) => run.wallMs)))}  ${pairRatio(plainUnderPlugin, plain).toFixed(3)}x` +
        `  cpu ${pairRatio(plainUnderPlugin, plain, 'cpuS').toFixed(3)}x`,
    )
} finally {
  await server.close()
  if (process.env.KEEP) console.log(`kept ${project.dir}`)
  else await project.remove()
}
