// The reliability campaign, long form (the tests in test/reliability/ run a fixed subset):
//   - the bad-inputs table, on every storage adapter (Postgres when it answers);
//   - SIGKILL trials: record, -u, optimize, and AxLearn saving to the files and SQLite stores,
//     KILLS per kind at seeded random moments (default 24, so 120 in all);
//   - two runs at once on one spec (new cases, -u, optimize);
//   - every provider fault during record, -u and optimize, passing and lasting;
//   - the sentinel key searched for in every file, store row and output.
// Prints each section's counts, each problem, and the totals RELIABILITY.md reports.
// Run: npm run bench:reliability   (about 45 minutes; shorter: KILLS=4 KINDS=record,optimize SECTIONS=kills,faults)
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { runBadInputs } from '../test/reliability/support/bad-inputs.js'
import { ConcurrentLab } from '../test/reliability/support/concurrent.js'
import { KillLab, killKinds, storeTrial, type KillOutcome } from '../test/reliability/support/kill-trials.js'
import { FaultLab, faultTrials, type FaultOutcome } from '../test/reliability/support/provider-faults.js'
import { sentinelSearch } from '../test/reliability/support/sentinel.js'
import { repoRoot } from '../test/support/project.js'

const kills = Number(process.env.KILLS ?? 24)
const kinds = killKinds.filter((kind) => (process.env.KINDS ?? killKinds.join(',')).split(',').includes(kind))
const sections = new Set((process.env.SECTIONS ?? 'inputs,kills,concurrent,faults,sentinel').split(','))
const postgresUrl = process.env.LEARN_TEST_POSTGRES_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres'

interface Tally {
  tried: number
  /** Clear errors, or faults handled (retried, or failed naming URL and cause). */
  clear: number
  /** Errors that do not name the file and field, or crashes. */
  unclear: number
  /** Accepted without a word, or a wrong outcome (a run passing that should fail, a checkpoint from failed calls). */
  silent: number
  /** Recordings, acknowledged traces or checkpoints lost, or files left invalid. */
  lost: number
  /** Files, store rows and outputs holding the key. */
  secrets: number
}

const totals: Tally = { tried: 0, clear: 0, unclear: 0, silent: 0, lost: 0, secrets: 0 }
const problems: string[] = []

function report(section: string, tally: Omit<Tally, 'secrets'> & { secrets?: number }, extra = ''): void {
  for (const key of Object.keys(totals) as (keyof Tally)[]) totals[key] += tally[key] ?? 0
  console.log(`${section}: ${tally.tried} tried, ${tally.clear} clear, ${tally.unclear} unclear, ${tally.silent} silent or wrong, ${tally.lost} lost${extra}`)
}

async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' })
const postgres = (await postgresAnswers()) ? postgresUrl : undefined
if (!postgres) console.log(`Postgres does not answer at ${postgresUrl}: its adapter is left out`)
const started = performance.now()

if (sections.has('inputs')) {
  const outcomes = await runBadInputs(postgres ? { postgresUrl: postgres } : {})
  const count = (verdict: string) => outcomes.filter((outcome) => outcome.verdict === verdict).length
  const inputs = new Set(outcomes.map((outcome) => outcome.id.replace(/ \(.*\)$/, ''))).size
  report(`bad inputs (${inputs} inputs)`, { tried: outcomes.length, clear: count('clear'), unclear: count('unclear'), silent: count('silent'), lost: count('lost') })
  for (const outcome of outcomes.filter((item) => item.verdict !== 'clear')) problems.push(`bad input ${outcome.id} (${outcome.what}): ${outcome.verdict}: ${outcome.detail}`)
}

if (sections.has('kills')) {
  const lab = new KillLab()
  await lab.start()
  const dir = await mkdtemp(join(tmpdir(), 'learn-bench-kill-'))
  const outcomes: KillOutcome[] = []
  try {
    for (const kind of kinds) {
      for (let seed = 1; seed <= kills; seed++) {
        const outcome = kind === 'files-store' || kind === 'sqlite-store' ? await storeTrial(kind, seed, dir) : await lab.trial(kind, seed)
        outcomes.push(outcome)
        for (const problem of outcome.problems) problems.push(`kill ${kind} seed ${seed}: ${problem}`)
      }
      const mine = outcomes.filter((outcome) => outcome.kind === kind)
      const calls = mine.flatMap((outcome) => (outcome.calls ? [outcome.calls] : []))
      const sum = (pick: (call: NonNullable<KillOutcome['calls']>) => number) => calls.reduce((total, call) => total + pick(call), 0)
      console.log(
        `  ${kind}: ${mine.length} kills, ${mine.filter((outcome) => outcome.problems.length === 0).length} clean, progress at the kill ${mine.map((outcome) => outcome.progress).join(' ')}` +
          (calls.length ? `; answers kept ${sum((call) => call.kept)}, received but not kept ${sum((call) => call.unkept)}, asked again ${mine.reduce((total, outcome) => total + outcome.paidAgain, 0)}` : ''),
      )
    }
  } finally {
    await lab.close()
    await rm(dir, { recursive: true, force: true })
  }
  const invalid = outcomes.filter((outcome) => outcome.invalid.length > 0).length
  report('SIGKILL trials', {
    tried: outcomes.length,
    clear: outcomes.filter((outcome) => outcome.problems.length === 0).length,
    unclear: outcomes.filter((outcome) => !outcome.recovered).length,
    silent: outcomes.filter((outcome) => outcome.paidAgain > 0).length,
    lost: outcomes.reduce((total, outcome) => total + outcome.lost, 0) + invalid,
  }, ` (${invalid} with an invalid file after the kill, ${outcomes.filter((outcome) => !outcome.recovered).length} not recovered)`)
}

if (sections.has('concurrent')) {
  const lab = new ConcurrentLab()
  await lab.start()
  try {
    const outcomes = [await lab.newCases(), await lab.twoUpdates(), await lab.twoOptimizes()]
    for (const outcome of outcomes.filter((item) => item.verdict !== 'handled')) problems.push(`concurrent ${outcome.scenario}: ${outcome.verdict}: ${outcome.detail}`)
    const count = (verdict: string) => outcomes.filter((outcome) => outcome.verdict === verdict).length
    report('two runs at once', { tried: outcomes.length, clear: count('handled'), unclear: 0, silent: count('wrong'), lost: count('lost') })
  } finally {
    await lab.close()
  }
}

if (sections.has('faults')) {
  const lab = new FaultLab()
  await lab.start()
  try {
    const outcomes: FaultOutcome[] = []
    for (const { phase, fault, lasting } of faultTrials) {
      const outcome = await lab.trial(phase, fault, lasting)
      outcomes.push(outcome)
      console.log(`  ${phase} ${fault}${lasting ? ' (lasting)' : ''}: ${outcome.verdict}, ${outcome.requests} requests: ${outcome.detail.slice(0, 160)}`)
      if (outcome.verdict !== 'handled') problems.push(`fault ${fault} during ${phase}${lasting ? ' (lasting)' : ''}: ${outcome.verdict}: ${outcome.detail}`)
    }
    const count = (verdict: string) => outcomes.filter((outcome) => outcome.verdict === verdict).length
    report('provider faults', { tried: outcomes.length, clear: count('handled'), unclear: count('unclear'), silent: count('wrong'), lost: count('lost') })
  } finally {
    await lab.close()
  }
}

if (sections.has('sentinel')) {
  const result = await sentinelSearch(postgres ? { postgresUrl: postgres } : {})
  for (const place of result.found) problems.push(`the sentinel key is in ${place}`)
  report('sentinel search', { tried: result.searched.length, clear: result.searched.length - result.found.length, unclear: 0, silent: 0, lost: 0, secrets: result.found.length }, `; the key found in ${result.found.length}: ${result.found.join(', ') || 'none'}`)
}

console.log()
console.log(`problems (${problems.length}):`)
for (const problem of problems) console.log(`  - ${problem}`)
console.log()
console.log(
  `total: ${totals.tried} tried, ${totals.clear} clear errors or handled, ${totals.unclear} unclear or not recovered, ` +
    `${totals.silent} silent or wrong, ${totals.lost} records lost or files invalid, ${totals.secrets} secrets on disk or in output ` +
    `(${((performance.now() - started) / 60000).toFixed(1)} min)`,
)
