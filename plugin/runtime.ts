// Runs inside Vitest workers: the code the transform appends to each spec file calls these.
import { relative } from 'node:path'
import { afterAll, afterEach, describe, expect, inject, test, TestRunner, type TestContext } from 'vitest'
import { LearnError } from '../src/errors.js'
import type { GateResult } from '../src/gate.js'
import { lockSpecFolder } from '../src/formats/spec-folders.js'
import type { HeldLock } from '../src/storage/lock.js'
import { secretsOf, SpecSession, type CaseResult, type SessionMode } from '../src/session.js'
import { isLearnSpec, redactCaseNames, type LearnSpec } from '../src/spec.js'
import { redactDeep } from '../src/runtime/secrets.js'
import type { OptimizeCalls } from '../src/optimize/calls.js'
import type { OptimizeResult } from '../src/optimize/types.js'
import type { LearnCaseMeta, LearnMeta, LearnProvided, LearnRegressionMeta, LearnThresholdMeta } from './context.js'
import type { RecordMode } from './mode.js'
import { nameClash } from './name-clash.js'
import './context.js'
// Optimize, --accept and --baseline-ref import their modules when they run: a replay never loads them.

class SpecLoadFailure {
  constructor(readonly error: unknown) {}
}

/** Evaluates the spec's default export, keeping a throw (an invalid spec) to report as a failing test. */
export function capture<T>(define: () => T): T | SpecLoadFailure {
  try {
    return define()
  } catch (error) {
    return new SpecLoadFailure(error)
  }
}

function specProblem(value: unknown, file: string): LearnError | undefined {
  if (value instanceof SpecLoadFailure) {
    const error = value.error
    if (error instanceof LearnError) return error.inFile(file)
    return new LearnError(`the spec threw while loading: ${error instanceof Error ? error.stack ?? error.message : String(error)}`, { file })
  }
  if (!isLearnSpec(value))
    return new LearnError('a learn spec must `export default defineLearn({ ... })`', {
      file,
      fix: "import { defineLearn } from 'vitest-learn' and export its result as the file's default export",
    })
  return undefined
}

/** An optimize run makes many model calls; Vitest's default 5 s would cut it short. */
const optimizeTimeoutMs = 6 * 60 * 60 * 1000

/** `--accept`: when every case scored and the baseline differs from this run, write this run's scores as the new baseline. */
async function acceptIfChanged(session: SpecSession, specFile: string, snapshotDir: string): Promise<number | undefined> {
  const scores = session.scores()
  if (scores.length !== session.spec.cases.length) return undefined
  const baseline = session.checkpoint?.baseline?.scores
  const same = baseline !== undefined && !session.specEditedSince() && scores.every((score) => baseline[score.caseId] === score.score)
  if (same) return undefined
  const { acceptBaseline } = await import('../src/optimize/accept.js')
  const checkpoint = await acceptBaseline({ spec: session.spec, specFile, snapshotDir, current: session.checkpoint, scores })
  session.useBaselineOf(checkpoint)
  return checkpoint.version
}

/** Why optimize kept the current program, in a few words. */
function keptBecause(result: OptimizeResult): string {
  if (result.components.length === 0) return `the search found nothing better (${result.stats.rounds} rounds, ${result.stats.proposals} proposals, stopped: ${result.stoppedBy})`
  return `the candidate did not beat it by more than noise on the held-out cases (P(better) ${result.comparison.winProbability.toFixed(2)})`
}

/** The run's record mode: --record (LEARN_RECORD) when given, else Vitest's snapshot state (`new`, `all` with -u, `none` in CI). */
function currentMode(provided: LearnProvided): SessionMode {
  if (provided.record) return provided.record === 'missing' ? 'new' : provided.record
  return expect.getState().snapshotState?.snapshotUpdateState ?? 'new'
}

const recordModeOf = (mode: SessionMode): RecordMode => (mode === 'new' ? 'missing' : mode)

function regressionMeta(spec: string, gate: GateResult): LearnRegressionMeta {
  const { comparison, baseline, detectableDrop, ...regression } = gate.regression
  return {
    kind: 'regression',
    spec,
    verdict: regression.verdict,
    pass: regression.pass,
    ...(baseline ? { baseline } : {}),
    ...(comparison ? { comparison: { delta: comparison.delta, interval: comparison.interval, n: comparison.n, pNoise: comparison.pNoise } } : {}),
    ...(detectableDrop !== undefined ? { detectableDrop } : {}),
    drops: regression.drops,
    warnings: regression.warnings,
    summary: regression.summary,
    ...(regression.message ? { message: regression.message } : {}),
  }
}

function caseMeta(spec: string, result: Pick<CaseResult, 'student' | 'judge'>, caseId: string): LearnCaseMeta {
  const { student, judge } = result
  return {
    kind: 'case',
    spec,
    caseId,
    live: student.live + judge.live,
    replayed: student.replayed + judge.replayed,
    usage: {
      promptTokens: student.usage.promptTokens + judge.usage.promptTokens,
      completionTokens: student.usage.completionTokens + judge.usage.completionTokens,
      totalTokens: student.usage.totalTokens + judge.usage.totalTokens,
    },
    costUsd: student.costUsd + judge.costUsd,
    latencyMs: student.latencyMs + judge.latencyMs,
  }
}

/** Each case's scores as test annotations: JUnit shows them as <property name="score" value="0.867">. */
async function annotateScores(context: TestContext, score: CaseResult['score']): Promise<void> {
  await context.annotate(score.score.toFixed(3), 'score')
  for (const [name, value] of Object.entries(score.scorers)) await context.annotate(value.toFixed(3), `score.${name}`)
}

/** 1-based line and column in the spec file, as the transform found them. */
export interface SpecLocation {
  line: number
  column: number
}

/**
 * Gives the test just registered (and, with `suite`, its describe block) a location, as Vitest's
 * includeTaskLocation would, without the stack trace that option costs every test of the project.
 */
function locate(location: SpecLocation, suite = false): void {
  const collector = TestRunner.getCurrentSuite()
  const task = suite ? collector.suite : collector.tasks.at(-1)
  if (task && task.type !== 'collector') task.location = location
}

/** Registers a spec's tests: one per case and a gate, in one `describe` named after the spec. */
export function register(value: unknown, file: string, specLocation: SpecLocation) {
  const provided = inject('vitestLearn')
  const displayFile = relative(provided.root, file)
  const problem = specProblem(value, displayFile) ?? nameClash((value as LearnSpec).name, file, provided)
  const valid = problem ? undefined : (value as LearnSpec)
  // Test names and metas reach the console and report files (junit, json): a key pasted into a
  // case input, or echoed by a model into its answers, must not.
  const secrets = valid ? secretsOf(valid, provided.models) : []
  const spec = valid && redactCaseNames(valid, secrets)
  const setMeta = (context: TestContext, meta: LearnMeta) => {
    context.task.meta.learn = redactDeep(meta, secrets)
  }
  const snapshotDir = spec ? `${provided.snapshotDir}/${spec.name}` : ''
  let session: Promise<SpecSession> | undefined
  const settled = new Map<string, { promise: Promise<void>; resolve: () => void }>()
  const settlement = (taskId: string) => {
    let deferred = settled.get(taskId)
    if (!deferred) {
      let resolve = () => {}
      const promise = new Promise<void>((done) => (resolve = done))
      settled.set(taskId, (deferred = { promise, resolve }))
    }
    return deferred
  }
  // A run that may write the spec's folder holds its lock from its first write-capable step
  // (optimize, or the first case) until afterAll: another run on the same spec waits, then fails.
  let lock: Promise<HeldLock> | undefined
  const lockFolder = () =>
    (lock ??= lockSpecFolder(snapshotDir, {
      timeoutMs: provided.caseTimeoutMs / 2,
      onWait: (message) => console.log(`[vitest-learn] ${message}`),
    }))
  // After optimize, the cases make their calls through its call cache, where most answers are
  // already paid for (also those of a killed optimize run); after it writes a checkpoint, every
  // case is re-recorded under it (mode `all`, which also drops the old recordings).
  let callCache: OptimizeCalls | undefined
  let rerecord = false
  const open = () =>
    (session ??= (async () => {
      const mode = rerecord ? 'all' : currentMode(provided)
      if (mode !== 'none') await lockFolder()
      return SpecSession.open({
        spec: spec!,
        specFile: displayFile,
        snapshotDir,
        mode,
        models: provided.models,
        recordCommand: `npx vitest run ${displayFile}`,
        journalDir: `${provided.cacheDir}/journal`,
        ...(callCache ? { live: { student: callCache.uncapped.student, judge: callCache.uncapped.judge } } : {}),
        failOnInconclusive: provided.failOnInconclusive,
      })
    })())

  const optimizeTest = (current: LearnSpec) =>
    test(
      'optimize',
      { sequential: true, timeout: optimizeTimeoutMs },
      async (context: TestContext) => {
        if (currentMode(provided) === 'none')
          throw new LearnError('optimize calls models and writes checkpoints, but CI is set (replay only)', {
            file: displayFile,
            fix: `run it locally, without CI: npx vitest-learn --optimize ${displayFile}; in a CI job meant to call models, say so: npx vitest-learn --optimize --record=missing`,
          })
        await lockFolder()
        const { openCallCache, runOptimize } = await import('./optimize.js')
        const { result, meta } = await runOptimize(current, provided, displayFile, snapshotDir, secrets)
        setMeta(context, meta)
        callCache = await openCallCache(current, provided, displayFile)
        rerecord = result.decision === 'written'
        if (rerecord) return
        // Nothing better found is a normal outcome: the test passes, and says so.
        const kept = result.previousVersion ? `checkpoint v${result.previousVersion}` : 'the seed instruction'
        await context.annotate(`kept ${kept}: ${keptBecause(result)}: ${meta.comparison}`, 'notice')
      },
    )

  const caseTest = (index: number, location: SpecLocation) => {
    const item = spec?.cases[index]
    if (!spec || !item) return
    // Cases run concurrently (up to Vitest's maxConcurrency); optimize before them and the checks
    // after them stay sequential, even under --sequence.concurrent. A case's samples run in turn.
    const timeout = provided.caseTimeoutMs * spec.samples
    test(item.name, { concurrent: true, timeout, meta: { learnCase: item.id } }, async (context: TestContext) => {
      const current = await open()
      try {
        const result = await current.runCase(item)
        const { score } = result
        setMeta(context, {
          ...caseMeta(spec.name, result, item.id),
          score: score.score,
          scorers: score.scorers,
          samples: score.samples.map((sample) => sample.score),
          reasons: score.reasons,
        })
        if (provided.scoreAnnotations) await annotateScores(context, score)
      } catch (error) {
        setMeta(context, caseMeta(spec.name, current.statsOf(item.id), item.id))
        throw error
      }
    })
    locate(location)
  }

  return {
    describe(body: () => void) {
      describe(spec?.name ?? displayFile, () => {
        locate(specLocation, true)
        // One hook for the suite, rather than onTestFinished in each test (which costs a stack trace).
        afterEach(({ task }) => settlement(task.id).resolve())
        if (spec && provided.optimize) {
          optimizeTest(spec)
          locate(specLocation)
        }
        body()
      })
    },
    test: caseTest,
    /** Cases the transform could not locate one by one (built at run time) point at `cases:`. */
    remainingTests(from: number, casesLocation: SpecLocation) {
      if (problem) {
        test('spec is valid', () => {
          throw problem
        })
        locate(specLocation)
        return
      }
      for (let index = from; index < spec!.cases.length; index++) caseTest(index, casesLocation)
    },
    gate() {
      if (!spec) return
      // Both checks wait for every case test that runs (and may still run, under
      // --sequence.concurrent), then share one verdict.
      let verdict: Promise<{ session: SpecSession; gate: GateResult; accepted?: number }> | undefined
      const settle = (context: TestContext) =>
        (verdict ??= (async () => {
          const cases = context.task.suite?.tasks.filter((task) => task.meta.learnCase !== undefined && task.mode === 'run') ?? []
          await Promise.all(cases.map((task) => settlement(task.id).promise))
          const current = await open()
          const accepted = provided.accept ? await acceptIfChanged(current, displayFile, snapshotDir) : undefined
          if (provided.baselineRef) {
            const { baselineAtRef } = await import('../src/baseline-ref.js')
            current.compareWith(await baselineAtRef({ ref: provided.baselineRef, root: provided.root, snapshotDir, spec }))
          }
          return { session: current, gate: current.gate(), ...(accepted ? { accepted } : {}) }
        })())
      const timeout = provided.caseTimeoutMs * spec.samples * spec.cases.length
      test(`threshold: mean score >= ${spec.threshold}`, { sequential: true, timeout }, async (context: TestContext) => {
        const { session: current, gate } = await settle(context)
        const meta: LearnThresholdMeta = {
          kind: 'threshold',
          spec: spec.name,
          pass: gate.threshold.pass,
          mean: gate.mean,
          interval: gate.interval,
          threshold: spec.threshold,
          tolerance: spec.tolerance,
          scored: gate.scored,
          total: gate.total,
          samples: spec.samples,
          judgeSamples: spec.judgeSamples,
          scorers: gate.scorers,
          record: recordModeOf(current.options.mode),
          ...(gate.threshold.message ? { message: gate.threshold.message } : {}),
        }
        setMeta(context, meta)
        if (!gate.threshold.pass) throw new LearnError(gate.threshold.message, { file: displayFile })
      })
      locate(specLocation)
      test(`regression: drop <= ${spec.tolerance} vs baseline`, { sequential: true, timeout }, async (context: TestContext) => {
        const { session: current, gate, accepted } = await settle(context)
        const edited = !provided.baselineRef && current.specEditedSince() ? current.checkpoint!.version : undefined
        setMeta(context, {
          ...regressionMeta(spec.name, gate),
          ...(edited ? { specEdited: edited } : {}),
          ...(accepted ? { accepted } : {}),
        })
        const { regression } = gate
        for (const warning of regression.warnings) await context.annotate(warning, 'warning')
        if (!regression.pass) throw new LearnError(regression.message, { file: displayFile })
        if (regression.verdict === 'inconclusive') await context.annotate(regression.message, 'warning')
        if (regression.verdict === 'none') context.skip(regression.summary)
      })
      locate(specLocation)
      // Vitest reads the first parameter as fixtures, so it must be a destructuring pattern.
      afterAll(async ({}, suite) => {
        try {
          // A session that failed to open (a corrupt file) has already failed its cases; nothing to write.
          const current = await session?.catch(() => undefined)
          if (!current) return
          const summary = await current.close()
          await callCache?.flush()
          suite.meta.learn = {
            kind: 'suite',
            spec: spec.name,
            record: recordModeOf(current.options.mode),
            snapshotDir: relative(provided.root, `${provided.snapshotDir}/${spec.name}`),
            ...summary,
          }
        } finally {
          await (await lock?.catch(() => undefined))?.release()
        }
      })
    },
  }
}
