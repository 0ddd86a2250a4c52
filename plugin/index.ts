import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'vite'
import { configDefaults } from 'vitest/config'
import type { Vitest } from 'vitest/node'
import { LearnError } from '../src/errors.js'
// Not src/models/index.js: that loads @ax-llm/ax, which the main process never needs.
import { retrySettingsProblem, type RetrySettings } from '../src/models/retry.js'
import { isModel, type LearnAIArgs } from '../src/spec.js'
import { unknownNameMessage } from '../src/suggest.js'
import type { LearnOptimizeSettings, LearnProvided } from './context.js'
import { acceptRequested, baselineRefRequested, learnEnv, noCacheRequested, optimizeRequested, recordModeConflict, recordRequested } from './mode.js'
import { LearnReporter, showsAnnotations } from './reporter.js'
import { specNameGuard } from './spec-names.js'
import { learnFilePattern, learnGlob, transformSpec } from './transform.js'
import './context.js'

export interface LearnPluginOptions {
  /** The model under test: plain `ai()` arguments, e.g. { name: 'openai', apiKey, config: { model } }. */
  student?: LearnAIArgs
  /** The stronger model that writes synthetic data and, by default, judges. */
  teacher?: LearnAIArgs
  /** The judge's model; defaults to the teacher, then the student. */
  judge?: LearnAIArgs
  /** Where snapshots/<spec name>/ folders live, relative to the project root. Default `snapshots`. */
  snapshotDir?: string
  /** Production traces optimize learns from: `sqlite:./traces.db`, `postgres://…`, `file:./dir`. */
  traces?: { storage: string }
  /** Settings of `vitest-learn --optimize`. */
  optimize?: LearnOptimizeSettings
  /**
   * Cases of one spec run at once (Vitest's `maxConcurrency`, unless the config sets it). Default 8.
   * A record run of N cases with C calls each at latency L takes about N × C × L / concurrency.
   */
  concurrency?: number
  /** Milliseconds a case may take per sample (a reply and its scoring, retries included); separate from `testTimeout`. Default 120000. */
  timeout?: number
  /** How model calls are retried and how long they may take; see RetrySettings for the defaults. */
  retry?: RetrySettings
  /**
   * Fail a spec's regression check when it is inconclusive (the mean dropped by more than the
   * tolerance, but noise could explain it), instead of warning. Default false.
   */
  failOnInconclusive?: boolean
}

export const defaultConcurrency = 8
export const defaultCaseTimeoutMs = 120_000

const runtimeModule = fileURLToPath(new URL('./runtime.js', import.meta.url))
const reporterRegistered = new WeakSet<Vitest>()
/** The one project per run whose workers run the specs; see configureVitest. */
const specProject = new WeakMap<Vitest, string>()

/**
 * What `learn({ ... })` and its nested settings accept; anything else is a typo. Typed against the
 * interfaces, so an option added there and not here (or the reverse) fails to compile.
 */
const knownOptions: {
  options: Record<keyof LearnPluginOptions, true>
  traces: Record<keyof NonNullable<LearnPluginOptions['traces']>, true>
  optimize: Record<keyof LearnOptimizeSettings, true>
} = {
  options: {
    student: true,
    teacher: true,
    judge: true,
    snapshotDir: true,
    traces: true,
    optimize: true,
    concurrency: true,
    timeout: true,
    retry: true,
    failOnInconclusive: true,
  },
  traces: { storage: true },
  optimize: { concurrency: true, maxTokens: true, maxUsd: true, prices: true, seed: true, noCache: true },
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const where = (field: string) => ({ file: 'vitest.config', field: `learn({ ${field} })` })

function checkKnown(value: Record<string, unknown>, known: Record<string, true>, kind: string, prefix: string): void {
  for (const key of Object.keys(value))
    if (!Object.hasOwn(known, key)) throw new LearnError(unknownNameMessage(kind, key, Object.keys(known)), where(`${prefix}${key}`))
}

function validateOptimizeSetting(setting: string, value: unknown): void {
  const at = where(`optimize.${setting}`)
  if (setting === 'noCache') {
    if (typeof value !== 'boolean') throw new LearnError('must be true or false', at)
  } else if (setting === 'prices') {
    const price = (item: unknown) => isObject(item) && [item.promptPerMillion, item.completionPerMillion].every((rate) => typeof rate === 'number' && rate >= 0)
    if (!isObject(value) || !Object.values(value).every(price))
      throw new LearnError("must map model names to { promptPerMillion, completionPerMillion } in dollars, e.g. { 'my-model': { promptPerMillion: 0.15, completionPerMillion: 0.6 } }", at)
  } else if (typeof value !== 'number' || !(value >= (setting === 'concurrency' ? 1 : 0)))
    throw new LearnError(`must be a number${setting === 'concurrency' ? ' >= 1' : ' >= 0'}`, at)
}

function validateOptions(options: unknown): asserts options is LearnPluginOptions {
  if (!isObject(options)) throw new LearnError('takes one options object: { student, teacher, judge, snapshotDir }', where('options'))
  checkKnown(options, knownOptions.options, 'option', '')
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue
    if (key === 'snapshotDir' && (typeof value !== 'string' || value === '')) throw new LearnError('must be a folder path', where(key))
    if (key === 'failOnInconclusive' && typeof value !== 'boolean') throw new LearnError('must be true or false', where(key))
    if ((key === 'concurrency' || key === 'timeout') && !(Number.isInteger(value) && (value as number) >= 1))
      throw new LearnError(`must be a whole number >= 1${key === 'timeout' ? ' (milliseconds)' : ''}, got ${JSON.stringify(value)}`, where(key))
    if (key === 'traces') {
      if (isObject(value)) checkKnown(value, knownOptions.traces, 'setting', 'traces.')
      if (!isObject(value) || typeof value.storage !== 'string' || value.storage === '')
        throw new LearnError("must be { storage: 'sqlite:./traces.db' } (or memory:, file:./dir, postgres://…)", where(key))
    }
    if (key === 'optimize') {
      if (!isObject(value)) throw new LearnError('must be { concurrency?, maxTokens?, maxUsd?, prices?, seed?, noCache? }', where(key))
      checkKnown(value, knownOptions.optimize, 'setting', 'optimize.')
      for (const [setting, item] of Object.entries(value)) validateOptimizeSetting(setting, item)
    }
    if (key === 'retry') {
      const problem = retrySettingsProblem(value)
      if (problem) throw new LearnError(problem.message, where(problem.setting ? `retry.${problem.setting}` : key))
    }
    if (['student', 'teacher', 'judge'].includes(key) && !isModel(value))
      throw new LearnError("must be ai() arguments such as { name: 'openai', apiKey: process.env.OPENAI_APIKEY, config: { model: 'gpt-4o-mini' } }", where(key))
  }
}

export const learnPluginName = 'vitest-learn'

/** What the plugin tells commands that read the project's config (`vitest-learn report`). */
export interface LearnPluginApi {
  /** `snapshotDir` as given, relative to the project's root. */
  snapshotDir: string
}

/** The vitest-learn plugin: collects `*.learn.ts` specs and turns each into recorded, replayable tests. */
export default function learn(options: LearnPluginOptions = {}): Plugin<LearnPluginApi> {
  validateOptions(options)
  const api: LearnPluginApi = { snapshotDir: options.snapshotDir ?? 'snapshots' }
  return {
    name: learnPluginName,
    api,
    enforce: 'pre',
    config(config) {
      const test = (config.test ??= {})
      // Extend, never replace, the user's include: their own tests keep running beside the specs.
      test.include = [...(test.include ?? configDefaults.include), learnGlob]
      // No includeTaskLocation: it costs every test of the project a stack trace. Spec tests get
      // their case's location from the transform, and Vitest turns it on for `file:line` filters.
      test.maxConcurrency ??= options.concurrency ?? defaultConcurrency
    },
    configureVitest({ vitest, project }) {
      // Projects that `extends: true` inherit this plugin; a spec running in each of them would
      // race on its snapshot folder, so only the first project runs specs.
      const owner = specProject.get(vitest)
      if (owner === undefined) specProject.set(vitest, project.name)
      else if (owner !== project.name) {
        project.config.include = project.config.include.filter((glob) => glob !== learnGlob)
        return
      }
      const root = project.config.root
      const snapshotDir = resolve(root, api.snapshotDir)
      const record = recordRequested()
      const accept = acceptRequested()
      const baselineRef = baselineRefRequested()
      const optimize = optimizeRequested()
      const conflict = recordModeConflict(record, { optimize, accept })
      if (conflict) throw new LearnError(conflict, { field: learnEnv.record })
      const cacheDir = resolve(root, 'node_modules/.cache/vitest-learn')
      const provided: LearnProvided = {
        root,
        snapshotDir,
        models: {
          ...(options.student ? { student: options.student } : {}),
          ...(options.teacher ? { teacher: options.teacher } : {}),
          ...(options.judge ? { judge: options.judge } : {}),
          ...(options.retry ? { retry: options.retry } : {}),
        },
        optimize,
        accept,
        ...(record ? { record } : {}),
        ...(baselineRef ? { baselineRef } : {}),
        failOnInconclusive: options.failOnInconclusive ?? false,
        scoreAnnotations: showsAnnotations(vitest.config),
        optimizeSettings: { ...options.optimize, ...(noCacheRequested() ? { noCache: true } : {}) },
        ...(options.traces ? { traces: options.traces.storage } : {}),
        cacheDir,
        caseTimeoutMs: options.timeout ?? defaultCaseTimeoutMs,
        specNames: {},
      }
      project.provide('vitestLearn', provided)
      if (!reporterRegistered.has(vitest)) {
        reporterRegistered.add(vitest)
        vitest.config.reporters.push(
          specNameGuard(project, (names) => project.provide('vitestLearn', { ...provided, ...names })),
          new LearnReporter(snapshotDir, cacheDir),
        )
      }
    },
    transform(code, id) {
      const file = id.split('?')[0]!
      if (!learnFilePattern.test(file) || file.includes('/node_modules/')) return null
      return transformSpec(code, file, runtimeModule)
    },
  }
}

export type { LearnProvided } from './context.js'
