import { rm } from 'node:fs/promises'
import { join, relative } from 'node:path'
import pc from 'picocolors'
import type { TestModule, Vitest } from 'vitest/node'
import type { Reporter } from 'vitest/reporters'
import { isSpecFolder, removeCrashDebrisBelow } from '../src/formats/spec-folders.js'
import type { LearnCaseMeta, LearnGateMeta, LearnOptimizeMeta, LearnSuiteMeta } from './context.js'
import { learnFilePattern, learnGlob } from './transform.js'

interface SpecReport {
  file: string
  cases: LearnCaseMeta[]
  gate?: LearnGateMeta
  suite?: LearnSuiteMeta
  optimize?: LearnOptimizeMeta
}

interface Collected {
  specs: Map<string, SpecReport>
  /** Spec names claimed by more than one file: their recordings would overwrite each other. */
  clashes: Map<string, Set<string>>
}

function collect(testModules: readonly TestModule[]): Collected {
  const specs = new Map<string, SpecReport>()
  const clashes = new Map<string, Set<string>>()
  const reportOf = (name: string, file: string) => {
    let report = specs.get(name)
    if (!report) specs.set(name, (report = { file, cases: [] }))
    if (report.file !== file) clashes.set(name, new Set([...(clashes.get(name) ?? [report.file]), file]))
    return report
  }
  for (const module of testModules) {
    if (!learnFilePattern.test(module.moduleId)) continue
    for (const suite of module.children.allSuites()) {
      const meta = suite.meta().learn
      if (meta?.kind === 'suite') reportOf(meta.spec, module.moduleId).suite = meta
    }
    for (const test of module.children.allTests()) {
      const meta = test.meta().learn
      if (meta?.kind === 'case') reportOf(meta.spec, module.moduleId).cases.push(meta)
      if (meta?.kind === 'gate') reportOf(meta.spec, module.moduleId).gate = meta
      if (meta?.kind === 'optimize') reportOf(meta.spec, module.moduleId).optimize = meta
    }
  }
  return { specs, clashes }
}

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - text.length))

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => row.map((cell, column) => pad(cell, widths[column]!)).join('  ').trimEnd())
}

/** After the run: a table per spec, Vitest-style recording counters, and obsolete snapshot folders. */
export class LearnReporter implements Reporter {
  private vitest!: Vitest

  constructor(private readonly snapshotDir: string) {}

  onInit(vitest: Vitest): void {
    this.vitest = vitest
  }

  /** Temporary files of writers that were killed (a previous run, or optimize) go before they are committed. */
  async onTestRunStart(): Promise<void> {
    await removeCrashDebrisBelow(this.snapshotDir)
  }

  async onTestRunEnd(testModules: readonly TestModule[]): Promise<void> {
    const { specs, clashes } = collect(testModules)
    if (specs.size === 0) return
    const log = (line = '') => this.vitest.logger.log(line)
    const root = this.vitest.config.root
    for (const [name, files] of clashes) {
      const list = [...files].map((file) => relative(root, file)).join(' and ')
      this.vitest.logger.error(pc.red(`vitest-learn: the spec name "${name}" is used by ${list}; they would share snapshots/${name}/. Rename one.`))
      process.exitCode = 1
    }
    const rows = [['spec', 'cases', 'mean', 'threshold', 'verdict', 'tokens', 'cost', 'model time', 'replayed', 'live']]
    for (const [name, report] of specs) {
      const tokens = report.cases.reduce((sum, item) => sum + item.usage.totalTokens, 0)
      const cost = report.cases.reduce((sum, item) => sum + item.costUsd, 0)
      const gate = report.gate
      rows.push([
        name,
        gate ? `${gate.scored}/${gate.total}` : String(report.cases.length),
        gate ? gate.mean.toFixed(3) : '-',
        gate ? String(gate.threshold) : '-',
        gate ? (gate.pass ? 'pass' : 'FAIL') : '-',
        String(tokens),
        `$${cost.toFixed(4)}`,
        `${(report.cases.reduce((sum, item) => sum + item.latencyMs, 0) / 1000).toFixed(1)}s`,
        String(report.cases.reduce((sum, item) => sum + item.replayed, 0)),
        String(report.cases.reduce((sum, item) => sum + item.live, 0)),
      ])
    }
    log()
    log(pc.bold(' vitest-learn'))
    table(rows).forEach((line, index) => {
      const colored = index === 0 ? pc.dim(line) : line.replace(/\bFAIL\b/, pc.red('FAIL')).replace(/\bpass\b/, pc.green('pass'))
      log(`   ${colored}`)
    })

    const totals = { recorded: 0, rerecorded: 0, replayed: 0, missing: 0, obsolete: 0, removed: 0, kept: 0 }
    const written: string[] = []
    for (const report of specs.values()) {
      if (!report.suite) continue
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += report.suite.counters[key]
      if (report.suite.tapeWritten || report.suite.tracesWritten) written.push(report.suite.snapshotDir)
    }
    const parts = [
      totals.recorded && pc.green(`${totals.recorded} recorded`),
      totals.rerecorded && pc.green(`${totals.rerecorded} re-recorded`),
      totals.replayed && `${totals.replayed} replayed`,
      totals.missing && pc.red(`${totals.missing} stale or missing`),
      totals.obsolete && pc.yellow(`${totals.obsolete} obsolete${totals.removed ? ` (${totals.removed} removed)` : ''}`),
    ].filter(Boolean)
    log(`   ${pc.dim('Recordings')}  ${parts.length > 0 ? parts.join(pc.dim(' | ')) : 'none'}`)
    if (totals.missing) log(pc.red(`   Stale or missing recordings fail in CI: run the failing spec locally with the model's key set (npx vitest run <spec>), then commit its snapshots/ folder.`))
    if (totals.kept > 0) log(pc.yellow(`   kept ${totals.kept} recording(s) of cases that failed in this run; nothing of theirs was replaced.`))
    if (totals.obsolete > totals.removed)
      log(pc.yellow(`   ${totals.obsolete - totals.removed} obsolete recording(s) kept; run \`npx vitest run -u\` to remove them.`))
    for (const folder of written) log(pc.dim(`   wrote ${folder}/`))
    for (const [name, report] of specs) {
      if (report.gate?.accepted) log(pc.green(`   accepted this run's scores as the baseline of ${name}: checkpoint v${report.gate.accepted}`))
      else if (report.gate?.specEdited)
        log(pc.yellow(`   ${name} was edited after checkpoint v${report.gate.specEdited}: re-optimize (npx vitest-learn --optimize) or accept (npx vitest-learn --accept)`))
    }
    for (const [name, report] of specs) if (report.optimize) this.printOptimize(name, report.optimize, log)
    await this.reportObsoleteFolders(testModules, specs, root, log)
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
        `   ${meta.calls} live calls · ${meta.tokens} tokens · $${meta.usd.toFixed(4)} · ` +
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
    specs: Map<string, SpecReport>,
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
    const update = this.vitest.config.snapshotOptions.updateSnapshot === 'all'
    for (const folder of obsolete) {
      const path = join(this.snapshotDir, folder)
      if (update) await rm(path, { recursive: true, force: true })
      log(
        update
          ? pc.yellow(`   removed obsolete ${relative(root, path)}/ (no spec is named "${folder}")`)
          : pc.yellow(`   obsolete ${relative(root, path)}/: no spec is named "${folder}"; run \`npx vitest run -u\` to remove it`),
      )
    }
  }
}
