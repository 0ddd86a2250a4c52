// Runs inside Vitest workers: the code the transform appends to each spec file calls these.
import { relative } from 'node:path'
import { afterAll, afterEach, describe, expect, inject, test, TestRunner, type TestContext } from 'vitest'
import { LearnError } from '../src/errors.js'
import { SpecSession, type CaseResult } from '../src/session.js'
import { isLearnSpec, redactCaseNames, type LearnSpec } from '../src/spec.js'
import { apiKeysOf } from '../src/redact.js'
import type { TapeMode } from '../src/tape/tape.js'
import { acceptBaseline } from '../src/optimize/accept.js'
import type { OptimizeCalls } from '../src/optimize/calls.js'
import type { OptimizeResult } from '../src/optimize/types.js'
import type { LearnCaseMeta } from './context.js'
import { openCallCache, runOptimize } from './optimize.js'
import { nameClash } from './spec-names.js'
import './context.js'

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
  const checkpoint = await acceptBaseline({ spec: session.spec, specFile, snapshotDir, current: session.checkpoint, scores })
  session.useBaselineOf(checkpoint)
  return checkpoint.version
}

/** Why optimize kept the current program, in a few words. */
function keptBecause(result: OptimizeResult): string {
  if (result.components.length === 0) return `the search found nothing better (${result.stats.rounds} rounds, ${result.stats.proposals} proposals, stopped: ${result.stoppedBy})`
  return `the candidate did not beat it by more than noise on the held-out cases (P(better) ${result.comparison.winProbability.toFixed(2)})`
}

function currentMode(): TapeMode {
  return expect.getState().snapshotState?.snapshotUpdateState ?? 'new'
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
  // Test names reach the console and report files: a key pasted into a case input must not.
  const spec = valid && redactCaseNames(valid, apiKeysOf([...Object.values(provided.models), valid.student, valid.teacher, valid.judgeModel]))
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
  // After optimize writes a checkpoint, every case is re-recorded under it (mode `all`, which also
  // drops the old recordings) through optimize's call cache, where most answers are already paid for.
  let callCache: OptimizeCalls | undefined
  const open = () =>
    (session ??= SpecSession.open({
      spec: spec!,
      specFile: displayFile,
      snapshotDir,
      mode: callCache ? 'all' : currentMode(),
      models: provided.models,
      recordCommand: `npx vitest run ${displayFile}`,
      journalDir: `${provided.cacheDir}/journal`,
      ...(callCache ? { live: { student: callCache.uncapped.student, judge: callCache.uncapped.judge } } : {}),
    }))

  const optimizeTest = (current: LearnSpec) =>
    test(
      'optimize',
      { sequential: true, timeout: optimizeTimeoutMs },
      async (context: TestContext) => {
        if (currentMode() === 'none')
          throw new LearnError('optimize calls models and writes checkpoints, but CI is set (replay only)', {
            file: displayFile,
            fix: `run it locally, without CI: npx vitest-learn --optimize ${displayFile}`,
          })
        const { result, meta } = await runOptimize(current, provided, displayFile, snapshotDir)
        context.task.meta.learn = meta
        if (result.decision === 'written') {
          callCache = await openCallCache(current, provided, displayFile)
          return
        }
        // Nothing better found is a normal outcome: the test passes, and says so.
        const kept = result.previousVersion ? `checkpoint v${result.previousVersion}` : 'the seed instruction'
        await context.annotate(`kept ${kept}: ${keptBecause(result)}: ${meta.comparison}`, 'notice')
      },
    )

  const caseTest = (index: number, location: SpecLocation) => {
    const item = spec?.cases[index]
    if (!spec || !item) return
    // Cases run concurrently (up to Vitest's maxConcurrency); optimize before them and the gate
    // after them stay sequential, even under --sequence.concurrent.
    test(item.name, { concurrent: true, timeout: provided.caseTimeoutMs, meta: { learnCase: item.id } }, async (context: TestContext) => {
      const current = await open()
      try {
        const result = await current.runCase(item)
        context.task.meta.learn = { ...caseMeta(spec.name, result, item.id), score: result.score.score, reasons: result.score.reasons }
      } catch (error) {
        context.task.meta.learn = caseMeta(spec.name, current.statsOf(item.id), item.id)
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
      test(`gate: mean score >= ${spec.threshold}`, { sequential: true, timeout: provided.caseTimeoutMs * spec.cases.length }, async (context: TestContext) => {
        // Every case test that runs (and may still run, under --sequence.concurrent) finishes first.
        const cases = context.task.suite?.tasks.filter((task) => task.meta.learnCase !== undefined && task.mode === 'run') ?? []
        await Promise.all(cases.map((task) => settlement(task.id).promise))
        const current = await open()
        const accepted = provided.accept ? await acceptIfChanged(current, displayFile, snapshotDir) : undefined
        const gate = current.gate()
        context.task.meta.learn = {
          kind: 'gate',
          spec: spec.name,
          pass: gate.pass,
          mean: gate.mean,
          threshold: gate.threshold,
          scored: gate.scored,
          total: gate.total,
          ...(current.specEditedSince() ? { specEdited: current.checkpoint!.version } : {}),
          ...(accepted ? { accepted } : {}),
        }
        if (!gate.pass) throw new LearnError(gate.message, { file: displayFile })
      })
      locate(specLocation)
      // Vitest reads the first parameter as fixtures, so it must be a destructuring pattern.
      afterAll(async ({}, suite) => {
        // A session that failed to open (a corrupt file) has already failed its cases; nothing to write.
        const current = await session?.catch(() => undefined)
        if (!current) return
        const summary = await current.close()
        await callCache?.flush()
        suite.meta.learn = {
          kind: 'suite',
          spec: spec.name,
          mode: current.tape.mode,
          snapshotDir: relative(provided.root, `${provided.snapshotDir}/${spec.name}`),
          ...summary,
        }
      })
    },
  }
}
