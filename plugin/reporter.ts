import { appendFile, rm } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import pc from 'picocolors'
import type { TestModule, Vitest } from 'vitest/node'
import type { Reporter } from 'vitest/reporters'
import { removeStaleTemporaries, toPrettyJson, writeFileAtomic } from '../src/formats/files.js'
import type { LearnReport, LearnReportSpec } from '../src/formats/types.generated.js'
import { isSpecFolder, removeCrashDebrisBelow } from '../src/formats/spec-folders.js'
import { annotationsOf, stepSummary, workflowCommand, type Annotation } from '../src/report/github.js'
import { collect, type BrokenSpec, type SpecEntry } from './collect.js'
import type { LearnOptimizeMeta } from './context.js'
import { signed } from '../src/stats.js'
import { buildReport } from './learn-report.js'
import { reportPageRequested } from './mode.js'
import { learnGlob } from './transform.js'

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - text.length))

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => row.map((cell, column) => pad(cell, widths[column]!)).join('  ').trimEnd())
}

/** Reporters that print a machine-readable document to stdout unless given a file. */
const documentReporters = ['json', 'junit', 'tap', 'tap-flat']

/**
 * Reporters that show test annotations, the place of a case's scores: JUnit properties, the HTML
 * report, verbose and TAP output, and blob files (a --merge-reports run hands them to its JUnit).
 */
const annotationReporters = ['junit', 'html', 'verbose', 'tap', 'tap-flat', 'blob']

/** Whether a reporter shows test annotations, so the cases' scores are worth annotating. */
export function showsAnnotations(config: Pick<Vitest['config'], 'reporters'>): boolean {
  return config.reporters.some((reporter) => {
    const name = Array.isArray(reporter) ? reporter[0] : reporter
    return typeof name === 'string' && annotationReporters.includes(name)
  })
}

/** Whether a reporter writes a document to stdout, which a line of ours would corrupt. */
export function stdoutTaken(config: Pick<Vitest['config'], 'reporters' | 'outputFile'>): boolean {
  return config.reporters.some((reporter) => {
    const [name, options] = Array.isArray(reporter) ? reporter : [reporter, undefined]
    if (typeof name !== 'string' || !documentReporters.includes(name)) return false
    const { outputFile } = config
    const file = (options as { outputFile?: string } | undefined)?.outputFile ?? (typeof outputFile === 'string' ? outputFile : outputFile?.[name])
    return !file
  })
}

function verdictCell(spec: LearnReportSpec): string {
  if (!spec.threshold.pass) return 'FAIL'
  const { verdict, pass } = spec.regression
  if (verdict === 'regressed' || !pass) return verdict === 'inconclusive' ? 'INCONCLUSIVE' : verdict === 'regressed' ? 'REGRESSED' : 'FAIL'
  return verdict === 'inconclusive' ? 'inconclusive' : 'pass'
}


/**
 * After the run: a table per spec and Vitest-style recording counters, obsolete snapshot folders;
 * on GitHub Actions, annotations and a step summary; learn-report.json where --outputFile.learn
 * points. Everything it prints goes to stderr when a reporter prints a document to stdout.
 */
export class LearnReporter implements Reporter {
  private vitest!: Vitest

  constructor(
    private readonly snapshotDir: string,
    /** Optimize's call cache and the journals of live answers (see LearnProvided.cacheDir). */
    private readonly cacheDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  onInit(vitest: Vitest): void {
    this.vitest = vitest
  }

  /** Temporary files of writers that were killed (a previous run, or optimize) go before they are committed, or pile up in the cache. */
  async onTestRunStart(): Promise<void> {
    await Promise.all([
      removeCrashDebrisBelow(this.snapshotDir),
      removeStaleTemporaries(this.cacheDir),
      removeStaleTemporaries(join(this.cacheDir, 'journal')),
    ])
  }

  async onTestRunEnd(testModules: readonly TestModule[]): Promise<void> {
    const { specs, broken, clashes } = collect(testModules)
    if (specs.size === 0 && broken.length === 0) return
    const { config } = this.vitest
    const toStderr = stdoutTaken(config)
    const log = (line = '') => (toStderr ? this.vitest.logger.error(line) : this.vitest.logger.log(line))
    const root = config.root
    for (const [name, files] of clashes) {
      const list = [...files].map((file) => relative(root, file)).join(' and ')
      this.vitest.logger.error(pc.red(`vitest-learn: the spec name "${name}" is used by ${list}; they would share snapshots/${name}/. Rename one.`))
      process.exitCode = 1
    }
    const report = buildReport({ specs, broken, clashes }, root)
    this.printSummary(report, specs, log)
    for (const [name, entry] of specs) if (entry.optimize) this.printOptimize(name, entry.optimize, log)
    await this.reportObsoleteFolders(testModules, specs, root, log)
    if (this.env.GITHUB_ACTIONS === 'true') await this.writeGitHubOutput(report, broken, log)
    await this.writeReport(report, log)
    // A shard's report would be partial: the page is the merge's (or `vitest-learn report`'s) to write.
    if (reportPageRequested(this.env) && !config.shard) {
      // Loaded only when a page is asked for: a run without one (plain tests too) does not pay for it.
      const { writeRunPage } = await import('./report-page.js')
      await writeRunPage(report, { root, snapshotDir: this.snapshotDir, cacheDir: this.cacheDir }, log)
    }
  }

  private printSummary(report: LearnReport, specs: Map<string, SpecEntry>, log: (line?: string) => void): void {
    if (specs.size === 0) return
    const rows = [['spec', 'cases', 'mean', '95% CI', 'threshold', 'baseline', 'Δ', 'verdict', 'tokens', 'cost', 'model time', 'replayed', 'live']]
    const reported = new Map(report.specs.map((spec) => [spec.name, spec]))
    for (const [name, entry] of specs) {
      const metas = entry.cases.flatMap((item) => (item.meta ? [item.meta] : []))
      const sum = (pick: (meta: (typeof metas)[number]) => number) => metas.reduce((total, meta) => total + pick(meta), 0)
      const spec = reported.get(name)
      // Cases run without their spec's checks (a file:line filter) still count their calls.
      const checks = spec
        ? [
            `${spec.scored}/${spec.total}${spec.samples > 1 ? `×${spec.samples}` : ''}`,
            spec.mean.toFixed(3),
            `${spec.interval[0].toFixed(3)}..${spec.interval[1].toFixed(3)}`,
            String(spec.threshold.value),
            spec.regression.baseline ? spec.regression.baseline.mean.toFixed(3) : '-',
            spec.regression.delta === undefined ? '-' : signed(spec.regression.delta),
            verdictCell(spec),
          ]
        : [String(metas.length), '-', '-', '-', '-', '-', '-']
      rows.push([
        name,
        ...checks,
        String(sum((meta) => meta.usage.totalTokens)),
        `$${sum((meta) => meta.costUsd).toFixed(4)}`,
        `${(sum((meta) => meta.latencyMs) / 1000).toFixed(1)}s`,
        String(sum((meta) => meta.replayed)),
        String(sum((meta) => meta.live)),
      ])
    }
    log()
    log(pc.bold(' vitest-learn'))
    table(rows).forEach((line, index) => {
      const colored =
        index === 0
          ? pc.dim(line)
          : line
              .replace(/\b(FAIL|REGRESSED|INCONCLUSIVE)\b/, (word) => pc.red(word))
              .replace(/\binconclusive\b/, pc.yellow('inconclusive'))
              .replace(/\bpass\b/, pc.green('pass'))
      log(`   ${colored}`)
    })
    for (const spec of report.specs) {
      const scorers = Object.entries(spec.scorers)
      if (scorers.length > 1) log(pc.dim(`   ${spec.name} scorers: ${scorers.map(([name, value]) => `${name} ${value.toFixed(3)}`).join(' · ')}`))
      const { regression } = spec
      const summary = specs.get(spec.name)!.regression?.meta.summary
      const resolution = regression.detectableDrop === undefined ? '' : ` · catches drops ≥ ${regression.detectableDrop.toFixed(3)}`
      if (regression.verdict !== 'none' && summary) log(pc.dim(`   ${spec.name}: ${summary}${resolution}`))
      if (regression.verdict === 'inconclusive')
        log((regression.pass ? pc.yellow : pc.red)(`   ! ${spec.name} is INCONCLUSIVE: ${(regression.message ?? '').split('\n')[0]}`))
      for (const warning of regression.warnings) log(pc.yellow(`   ! ${spec.name}: ${warning}`))
    }

    const totals = { recorded: 0, rerecorded: 0, replayed: 0, missing: 0, obsolete: 0, removed: 0, kept: 0 }
    const written: string[] = []
    const live: string[] = []
    for (const [name, entry] of specs) {
      if (!entry.suite) continue
      if (entry.suite.record === 'live') {
        live.push(name)
        continue
      }
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += entry.suite.counters[key]
      if (entry.suite.tapeWritten || entry.suite.tracesWritten || entry.suite.historyWritten) written.push(entry.suite.snapshotDir)
    }
    const parts = [
      totals.recorded && pc.green(`${totals.recorded} recorded`),
      totals.rerecorded && pc.green(`${totals.rerecorded} re-recorded`),
      totals.replayed && `${totals.replayed} replayed`,
      totals.missing && pc.red(`${totals.missing} stale or missing`),
      totals.obsolete && pc.yellow(`${totals.obsolete} obsolete${totals.removed ? ` (${totals.removed} removed)` : ''}`),
    ].filter(Boolean)
    if (live.length < specs.size) log(`   ${pc.dim('Recordings')}  ${parts.length > 0 ? parts.join(pc.dim(' | ')) : 'none'}`)
    if (live.length > 0) log(`   ${pc.dim('Live')}  ${live.join(', ')}: every call made live (--record=live); nothing was written`)
    if (totals.missing) log(pc.red(`   Stale or missing recordings fail in CI: run the failing spec locally with the model's key set (npx vitest run <spec>), then commit its snapshots/ folder.`))
    if (totals.kept > 0) log(pc.yellow(`   kept ${totals.kept} recording(s) of cases that failed in this run; nothing of theirs was replaced.`))
    if (totals.obsolete > totals.removed)
      log(pc.yellow(`   ${totals.obsolete - totals.removed} obsolete recording(s) kept; run \`npx vitest run -u\` to remove them.`))
    for (const folder of written) log(pc.dim(`   wrote ${folder}/`))
    for (const [name, entry] of specs) {
      const regression = entry.regression?.meta
      if (regression?.accepted) log(pc.green(`   accepted this run's scores as the baseline of ${name}: checkpoint v${regression.accepted}`))
      else if (regression?.specEdited)
        log(pc.yellow(`   ${name} was edited after checkpoint v${regression.specEdited}: re-optimize (npx vitest-learn --optimize) or accept (npx vitest-learn --accept)`))
    }
  }

  /**
   * Annotations on the specs' lines, and the step summary when the job has one. A shard that writes
   * a blob report leaves both to the --merge-reports run, so nothing shows twice.
   */
  private async writeGitHubOutput(report: LearnReport, broken: readonly BrokenSpec[], log: (line?: string) => void): Promise<void> {
    const { root, shard, reporters } = this.vitest.config
    if (shard && reporters.some((reporter) => (Array.isArray(reporter) ? reporter[0] : reporter) === 'blob')) return
    const workspace = this.env.GITHUB_WORKSPACE ?? root
    const annotations = [
      ...broken.map((spec): Annotation => ({ level: 'error', file: relative(root, spec.file), ...(spec.line ? { line: spec.line } : {}), title: 'vitest-learn: spec did not load', message: spec.error })),
      ...annotationsOf(report),
    ]
    for (const annotation of annotations) log(workflowCommand(annotation, (file) => relative(workspace, resolve(root, file))))
    const summaryFile = this.env.GITHUB_STEP_SUMMARY
    if (summaryFile) await appendFile(summaryFile, stepSummary(report))
  }

  /** learn-report.json, where --outputFile.learn (test.outputFile.learn) points; a shard's report would be partial, so only the merge writes it. */
  private async writeReport(report: LearnReport, log: (line?: string) => void): Promise<void> {
    const { outputFile, shard, root } = this.vitest.config
    const file = typeof outputFile === 'object' ? outputFile.learn : undefined
    if (!file) return
    if (shard) {
      log(pc.dim(`   learn-report.json: written by the --merge-reports run of the shards`))
      return
    }
    const path = resolve(root, file)
    await writeFileAtomic(path, toPrettyJson(report))
    log(pc.dim(`   wrote ${relative(root, path)}`))
  }

  private printOptimize(name: string, meta: LearnOptimizeMeta, log: (line?: string) => void): void {
    const verdict =
      meta.decision === 'written'
        ? pc.green(`wrote v${meta.version}`)
        : pc.yellow(`kept ${meta.previousVersion ? `v${meta.previousVersion}` : 'the seed'}`)
    log()
    log(`${pc.bold(' vitest-learn optimize')}  ${name}: ${verdict}  ${meta.comparison}  ${pc.dim(`P(better) ${meta.winProbability.toFixed(2)}`)}`)
    log(
      pc.dim(
        `   ${meta.calls} live calls${meta.baselineCalls > 0 ? ` (${meta.baselineCalls} measuring v${meta.version}'s baseline)` : ''} · ${meta.tokens} tokens · $${meta.usd.toFixed(4)} · ` +
          `${meta.rounds}/${meta.budget} rounds, ${meta.proposals} proposals, ${meta.accepted} kept · stopped by ${meta.stoppedBy}`,
      ),
    )
    for (const line of meta.programDiff.split('\n').filter(Boolean))
      log(`   ${line.startsWith('+') ? pc.green(line) : line.startsWith('-') ? pc.red(line) : pc.dim(line)}`)
    for (const warning of meta.warnings) log(pc.yellow(`   ! ${warning}`))
    if (meta.decision === 'written') log(pc.dim(`   commit snapshots/${name}/: checkpoint.json, checkpoints/, tape.json`))
  }

  /** Spec folders in snapshots/ that no spec claims; only judged when every spec file ran and loaded. Folders a test run did not write are left alone. */
  private async reportObsoleteFolders(
    testModules: readonly TestModule[],
    specs: Map<string, SpecEntry>,
    root: string,
    log: (line?: string) => void,
  ): Promise<void> {
    // Loaded only here: a run without specs (or a config that never reaches this) does not pay for it.
    const { default: fg } = await import('fast-glob')
    const onDisk = await fg(learnGlob, { cwd: root, absolute: true, ignore: ['**/node_modules/**', ...this.vitest.config.exclude] })
    const ran = new Set(testModules.map((module) => module.moduleId))
    const claimed = new Set([...specs.values()].filter((report) => report.suite).map((report) => report.file))
    if (!onDisk.every((file) => ran.has(file) && claimed.has(file))) return
    const folders = await fg('*', { cwd: this.snapshotDir, onlyDirectories: true })
    const unclaimed = folders.filter((folder) => !specs.has(folder)).sort()
    const written = await Promise.all(unclaimed.map((folder) => isSpecFolder(join(this.snapshotDir, folder))))
    const obsolete = unclaimed.filter((_, index) => written[index])
    const foreign = unclaimed.filter((_, index) => !written[index])
    if (foreign.length > 0)
      log(pc.yellow(`   left alone in ${relative(root, this.snapshotDir)}/, not written by a test run (no tape.json): ${foreign.join(', ')}; production stores belong in .learn/`))
    if (obsolete.length === 0) return
    // A run in which a test failed removes no folder: a failed run never costs a recording.
    const updating = this.vitest.config.snapshotOptions.updateSnapshot === 'all'
    const failed = testModules.some((module) => module.state() === 'failed')
    for (const folder of obsolete) {
      const path = join(this.snapshotDir, folder)
      if (updating && !failed) await rm(path, { recursive: true, force: true })
      const shown = `${relative(root, path)}/`
      log(
        pc.yellow(
          updating && !failed
            ? `   removed obsolete ${shown} (no spec is named "${folder}")`
            : updating
              ? `   kept obsolete ${shown} (no spec is named "${folder}"): this run has failures, and only a -u run that passes removes it`
              : `   obsolete ${shown}: no spec is named "${folder}"; run \`npx vitest run -u\` to remove it`,
        ),
      )
    }
  }
}
