// Runs inside Vitest workers: the code the transform appends to each spec file calls these.
import { relative } from 'node:path'
import { afterAll, describe, expect, inject, test, type TestContext } from 'vitest'
import { LearnError } from '../src/errors.js'
import { lockSpecFolder } from '../src/formats/spec-folders.js'
import type { HeldLock } from '../src/storage/lock.js'
import { SpecSession, type CaseResult } from '../src/session.js'
import { isLearnSpec, redactCaseNames, type LearnSpec } from '../src/spec.js'
import { apiKeysOf } from '../src/redact.js'
import { redactDeep } from '../src/runtime/secrets.js'
import type { TapeMode } from '../src/tape/tape.js'
import { acceptBaseline } from '../src/optimize/accept.js'
import type { OptimizeCalls } from '../src/optimize/calls.js'
import type { LearnCaseMeta, LearnMeta } from './context.js'
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

/** Registers a spec's tests: one per case and a gate, in one `describe` named after the spec. */
export function register(value: unknown, file: string) {
  const provided = inject('vitestLearn')
  const displayFile = relative(provided.root, file)
  const problem = specProblem(value, displayFile) ?? nameClash((value as LearnSpec).name, file, provided)
  const valid = problem ? undefined : (value as LearnSpec)
  // Test names and metas reach the console and report files (junit, json): a key pasted into a
  // case input, or echoed by a model into its answers, must not.
  const secrets = valid ? apiKeysOf([...Object.values(provided.models), valid.student, valid.teacher, valid.judgeModel]) : []
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
      const mode = rerecord ? 'all' : currentMode()
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
      })
    })())

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
        await lockFolder()
        const { result, meta } = await runOptimize(current, provided, displayFile, snapshotDir, secrets)
        setMeta(context, meta)
        callCache = await openCallCache(current, provided, displayFile)
        rerecord = result.decision === 'written'
        if (rerecord) return
        const kept = result.previousVersion ? `checkpoint v${result.previousVersion}` : 'the seed instruction'
        throw new LearnError(`kept ${kept}: the candidate did not beat it by more than noise on the held-out cases: ${meta.comparison}`, {
          file: displayFile,
        })
      },
    )

  const caseTest = (index: number) => {
    const item = spec?.cases[index]
    if (!spec || !item) return
    // Cases run concurrently (up to Vitest's maxConcurrency); optimize before them and the gate
    // after them stay sequential, even under --sequence.concurrent.
    test(item.name, { concurrent: true, timeout: provided.caseTimeoutMs, meta: { learnCase: item.id } }, async (context: TestContext) => {
      context.onTestFinished(() => settlement(context.task.id).resolve())
      const current = await open()
      try {
        const result = await current.runCase(item)
        setMeta(context, { ...caseMeta(spec.name, result, item.id), score: result.score.score, reasons: result.score.reasons })
      } catch (error) {
        setMeta(context, caseMeta(spec.name, current.statsOf(item.id), item.id))
        throw error
      }
    })
  }

  return {
    describe(body: () => void) {
      describe(spec?.name ?? displayFile, () => {
        if (spec && provided.optimize) optimizeTest(spec)
        body()
      })
    },
    test: caseTest,
    remainingTests(from: number) {
      if (problem) {
        test('spec is valid', () => {
          throw problem
        })
        return
      }
      for (let index = from; index < spec!.cases.length; index++) caseTest(index)
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
        setMeta(context, {
          kind: 'gate',
          spec: spec.name,
          pass: gate.pass,
          mean: gate.mean,
          threshold: gate.threshold,
          scored: gate.scored,
          total: gate.total,
          ...(current.specEditedSince() ? { specEdited: current.checkpoint!.version } : {}),
          ...(accepted ? { accepted } : {}),
        })
        if (!gate.pass) throw new LearnError(gate.message, { file: displayFile })
      })
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
            mode: current.tape.mode,
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
