// Reads what a run's spec tests reported (their meta, locations and results) into one entry per spec.
import type { TestCase, TestModule } from 'vitest/node'
import type { LearnCaseMeta, LearnOptimizeMeta, LearnRegressionMeta, LearnSuiteMeta, LearnThresholdMeta } from './context.js'
import { learnFilePattern } from './transform.js'

export interface CaseEntry {
  id: string
  name: string
  line?: number
  state: 'passed' | 'failed' | 'skipped' | 'pending'
  /** The first line of its error, when it failed. */
  error?: string
  meta?: LearnCaseMeta
}

export interface SpecEntry {
  /** The spec file, absolute. */
  file: string
  cases: CaseEntry[]
  threshold?: { meta: LearnThresholdMeta; line?: number }
  regression?: { meta: LearnRegressionMeta; line?: number }
  suite?: LearnSuiteMeta
  optimize?: LearnOptimizeMeta
}

/** A spec file's test that failed outside any spec's cases and checks: the spec did not load. */
export interface BrokenSpec {
  file: string
  line?: number
  error: string
}

export interface Collected {
  specs: Map<string, SpecEntry>
  broken: BrokenSpec[]
  /** Spec names claimed by more than one file: their recordings would overwrite each other. */
  clashes: Map<string, Set<string>>
}

function caseEntry(test: TestCase, id: string): CaseEntry {
  const result = test.result()
  const meta = test.meta().learn
  const error = result.state === 'failed' ? result.errors?.[0]?.message.split('\n')[0] : undefined
  return {
    id,
    name: test.name,
    ...(test.location ? { line: test.location.line } : {}),
    state: result.state,
    ...(error ? { error } : {}),
    ...(meta?.kind === 'case' ? { meta } : {}),
  }
}

export function collect(testModules: readonly TestModule[]): Collected {
  const specs = new Map<string, SpecEntry>()
  const clashes = new Map<string, Set<string>>()
  const broken: BrokenSpec[] = []
  const entryOf = (name: string, file: string) => {
    let entry = specs.get(name)
    if (!entry) specs.set(name, (entry = { file, cases: [] }))
    if (entry.file !== file) clashes.set(name, new Set([...(clashes.get(name) ?? [entry.file]), file]))
    return entry
  }
  for (const module of testModules) {
    if (!learnFilePattern.test(module.moduleId)) continue
    let specName: string | undefined
    for (const suite of module.children.allSuites()) {
      const meta = suite.meta().learn
      if (meta?.kind === 'suite') entryOf((specName = meta.spec), module.moduleId).suite = meta
    }
    const tests = [...module.children.allTests()]
    for (const test of tests) {
      const meta = test.meta().learn
      const line = test.location ? { line: test.location.line } : {}
      const result = test.result()
      if (!meta && test.meta().learnCase === undefined && result.state === 'failed')
        broken.push({ file: module.moduleId, ...line, error: result.errors?.[0]?.message ?? 'failed' })
      if (meta?.kind === 'threshold') entryOf((specName = meta.spec), module.moduleId).threshold = { meta, ...line }
      if (meta?.kind === 'regression') entryOf((specName = meta.spec), module.moduleId).regression = { meta, ...line }
      if (meta?.kind === 'optimize') entryOf((specName = meta.spec), module.moduleId).optimize = meta
      if (meta?.kind === 'case') specName = meta.spec
    }
    if (specName === undefined) continue
    // Every case test of the spec, also those that failed before reporting anything, or did not run.
    const entry = entryOf(specName, module.moduleId)
    for (const test of tests) {
      const id = test.meta().learnCase
      if (id !== undefined) entry.cases.push(caseEntry(test, id))
    }
  }
  return { specs, broken, clashes }
}
