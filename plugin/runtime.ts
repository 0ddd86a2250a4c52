// Runs inside Vitest workers: the code the transform appends to each spec file calls these.
import { relative } from 'node:path'
import { afterAll, describe, expect, inject, test, type TestContext } from 'vitest'
import { LearnError } from '../src/errors.js'
import { SpecSession, type CaseResult } from '../src/session.js'
import { isLearnSpec, type LearnSpec } from '../src/spec.js'
import type { TapeMode } from '../src/tape/tape.js'
import type { LearnCaseMeta } from './context.js'
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
  const problem = specProblem(value, displayFile)
  const spec = problem ? undefined : (value as LearnSpec)
  let session: Promise<SpecSession> | undefined
  const open = () =>
    (session ??= SpecSession.open({
      spec: spec!,
      specFile: displayFile,
      snapshotDir: `${provided.snapshotDir}/${spec!.name}`,
      mode: currentMode(),
      models: provided.models,
      recordCommand: `npx vitest run ${displayFile}`,
    }))

  const caseTest = (index: number) => {
    const item = spec?.cases[index]
    if (!spec || !item) return
    test(item.name, async (context: TestContext) => {
      const current = await open()
      try {
        const result = await current.runCase(item)
        context.task.meta.learn = { ...caseMeta(spec.name, result, item.id), score: result.score.score, reasons: result.score.reasons }
      } catch (error) {
        context.task.meta.learn = caseMeta(spec.name, current.statsOf(item.id), item.id)
        throw error
      }
    })
  }

  return {
    describe(body: () => void) {
      describe(spec?.name ?? displayFile, body)
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
      test(`gate: mean score >= ${spec.threshold}`, async (context: TestContext) => {
        const gate = (await open()).gate()
        context.task.meta.learn = {
          kind: 'gate',
          spec: spec.name,
          pass: gate.pass,
          mean: gate.mean,
          threshold: gate.threshold,
          scored: gate.scored,
          total: gate.total,
        }
        if (!gate.pass) throw new LearnError(gate.message, { file: displayFile })
      })
      // Vitest reads the first parameter as fixtures, so it must be a destructuring pattern.
      afterAll(async ({}, suite) => {
        if (!session) return
        const current = await session
        const summary = await current.close()
        suite.meta.learn = {
          kind: 'suite',
          spec: spec.name,
          snapshotDir: relative(provided.root, `${provided.snapshotDir}/${spec.name}`),
          ...summary,
        }
      })
    },
  }
}
