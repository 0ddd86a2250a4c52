// Phase two of the report page: turns the files loaded from a project (load.ts) into the page's
// model (model.ts). Pure functions, no I/O.
import type { LearnCheckpoint, LearnHistoryLine, LearnReport, LearnReportSpec, LearnTraceLine } from '../../formats/types.generated.js'
import type { LoadedRun, ProjectFiles, SpecFiles } from './load.js'
import type { CandidatePoint, CaseRow, HistoryPoint, OptimizeRunView, ProgramVersion, ReportModel, SpecVerdict, SpecView } from './model.js'

type ReportCase = LearnReportSpec['cases'][number]

const mean = (values: readonly number[]) => (values.length === 0 ? undefined : values.reduce((sum, value) => sum + value, 0) / values.length)
const pretty = (value: unknown) => JSON.stringify(value, null, 2)
const shortDate = (iso: string) => iso.slice(0, 10)

function historyLabel(line: LearnHistoryLine): string {
  return `${shortDate(line.date)} ${line.mode === 'all' ? 're-recorded' : 'recorded'}${line.commit ? ` @${line.commit.slice(0, 7)}` : ''}`
}

/** Score history: recorded runs, checkpoints' baselines and the last report's run, by date. */
function historyPoints(files: SpecFiles, report: LearnReport | undefined, spec: LearnReportSpec | undefined): HistoryPoint[] {
  const points: HistoryPoint[] = [
    ...files.history.map((line): HistoryPoint => ({ kind: 'run', date: line.date, label: historyLabel(line), mean: line.mean, interval: [line.interval[0]!, line.interval[1]!], pass: line.pass })),
    ...files.checkpoints.flatMap((checkpoint): HistoryPoint[] =>
      checkpoint.baseline ? [{ kind: 'checkpoint', date: checkpoint.created, label: `v${checkpoint.version} baseline`, mean: checkpoint.baseline.mean }] : [],
    ),
  ]
  const newest = files.history.reduce((latest, line) => (line.date > latest ? line.date : latest), '')
  if (report && spec && report.created > newest)
    points.push({ kind: 'report', date: report.created, label: `${shortDate(report.created)} last run (${spec.record})`, mean: spec.mean, interval: [spec.interval[0]!, spec.interval[1]!], pass: spec.pass })
  return points.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
}

function reportVerdict(spec: LearnReportSpec): SpecVerdict {
  const { regression } = spec
  const verdict = !spec.threshold.pass ? 'fail' : regression.verdict === 'regressed' || regression.verdict === 'inconclusive' ? regression.verdict : spec.pass ? 'pass' : 'fail'
  return {
    source: 'report',
    verdict,
    mean: spec.mean,
    interval: [spec.interval[0]!, spec.interval[1]!],
    threshold: spec.threshold.value,
    ...(regression.baseline ? { baseline: regression.baseline } : {}),
    ...(regression.delta !== undefined ? { delta: regression.delta } : {}),
    ...(regression.interval ? { deltaInterval: [regression.interval[0]!, regression.interval[1]!] as const } : {}),
    cost: { ...spec.cost },
  }
}

function historyVerdict(line: LearnHistoryLine, current: LearnCheckpoint | undefined): SpecVerdict {
  const regression = line.regression
  const verdict = !line.pass ? 'fail' : regression && regression.verdict !== 'pass' ? regression.verdict : 'pass'
  const baselineMean = current?.baseline && regression?.baseline === `checkpoint v${current.version}` ? current.baseline.mean : undefined
  return {
    source: 'history',
    verdict,
    mean: line.mean,
    interval: [line.interval[0]!, line.interval[1]!],
    threshold: line.threshold,
    ...(regression && baselineMean !== undefined ? { baseline: { label: regression.baseline, mean: baselineMean } } : {}),
    ...(regression ? { delta: regression.delta, deltaInterval: [regression.interval[0]!, regression.interval[1]!] as const } : {}),
    cost: { usd: line.usd, live: line.live },
  }
}

/** The seed (from the first run that started without a checkpoint) and every checkpoint. */
function programVersions(files: SpecFiles): ProgramVersion[] {
  const seedRun = files.runs.find((run) => run.record.previousVersion === undefined)
  const seed = seedRun?.record.candidates.find((candidate) => candidate.origin === 'start')
  return [
    ...(seed ? [{ label: 'seed', created: seedRun!.record.started, instruction: seed.instruction, demos: '' }] : []),
    ...files.checkpoints.map((checkpoint) => ({
      label: `v${checkpoint.version}`,
      created: checkpoint.created,
      instruction: checkpoint.program.instruction,
      demos: checkpoint.program.demos?.length ? pretty(checkpoint.program.demos) : '',
    })),
  ]
}

/** The candidates on the chain of parents from the final one. */
export function acceptedPath(candidates: LoadedRun['record']['candidates']): Set<number> {
  const byId = new Map(candidates.map((candidate) => [candidate.id, candidate]))
  const path = new Set<number>()
  for (let next = candidates.find((candidate) => candidate.final); next && !path.has(next.id); next = next.parent === null ? undefined : byId.get(next.parent))
    path.add(next.id)
  return path
}

function optimizeRun({ file, from, record }: LoadedRun): OptimizeRunView {
  const path = acceptedPath(record.candidates)
  return {
    file,
    from,
    started: record.started,
    finished: record.finished,
    budget: record.budget,
    decision: record.decision,
    ...(record.version !== undefined ? { version: record.version } : {}),
    ...(record.previousVersion !== undefined ? { previousVersion: record.previousVersion } : {}),
    stoppedBy: record.stoppedBy,
    comparison: { ...record.comparison, interval: [record.comparison.interval[0], record.comparison.interval[1]] },
    cost: { ...record.cost },
    candidates: record.candidates.map(
      (candidate): CandidatePoint => ({
        id: candidate.id,
        parent: candidate.parent,
        round: candidate.round,
        origin: candidate.origin,
        ...(candidate.theme !== undefined ? { theme: candidate.theme } : {}),
        estimate: candidate.estimate,
        kept: candidate.kept,
        final: candidate.final === true,
        accepted: path.has(candidate.id),
        calls: candidate.calls,
        usd: candidate.usd,
      }),
    ),
  }
}

/** Per case: the models that answered, from the tape. */
function recordingsByCase(files: SpecFiles): Map<string, Pick<CaseRow, 'models'>> {
  const byCase = new Map<string, Pick<CaseRow, 'models'>>()
  for (const entry of files.tape?.entries ?? []) {
    if (entry.role === 'teacher') continue
    const item = byCase.get(entry.case) ?? { models: {} }
    item.models[entry.role] ??= entry.request.model
    byCase.set(entry.case, item)
  }
  return byCase
}

function tracesByCase(traces: readonly LearnTraceLine[]): Map<string, LearnTraceLine[]> {
  const byCase = new Map<string, LearnTraceLine[]>()
  for (const trace of traces) {
    const id = trace.case ?? trace.id
    byCase.set(id, [...(byCase.get(id) ?? []), trace].sort((a, b) => (a.sample ?? 0) - (b.sample ?? 0)))
  }
  return byCase
}

function scorerMeans(traces: readonly LearnTraceLine[]): Record<string, number> {
  const names = [...new Set(traces.flatMap((trace) => Object.keys(trace.scores ?? {})))]
  return Object.fromEntries(names.map((name) => [name, mean(traces.flatMap((trace) => trace.scores?.[name] ?? []))!]))
}

interface CaseSources {
  id: string
  reported?: ReportCase
  traces: LearnTraceLine[]
  baseline?: number
  dropped: boolean
  threshold?: number
  recording?: Pick<CaseRow, 'models'>
}

function caseRow({ id, reported, traces, baseline, dropped, threshold, recording }: CaseSources): CaseRow {
  const first = traces[0]
  const score = reported?.score ?? mean(traces.flatMap((trace) => (trace.score === undefined ? [] : [trace.score])))
  const reasons = reported?.reasons ?? first?.reasons
  const error = reported?.error ?? traces.find((trace) => trace.error)?.error
  return {
    id,
    name: reported?.name ?? (first ? pretty(first.input) : id),
    input: first ? pretty(first.input) : '',
    ...(first ? { output: pretty(first.output) } : {}),
    ...(score !== undefined ? { score } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
    scorers: reported?.scorers ?? scorerMeans(traces),
    ...(reasons !== undefined ? { reasons } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(reported ? { state: reported.state } : {}),
    samples: reported?.samples?.length ?? traces.length,
    failed: reported?.state === 'failed' || error !== undefined || (score !== undefined && threshold !== undefined && score < threshold),
    regressed: dropped || (score !== undefined && baseline !== undefined && score < baseline - 1e-9),
    models: recording?.models ?? {},
    ...(first ? { traced: first.startTime } : {}),
  }
}

/** Every case of the spec: in the report's order, then those only the traces know. */
function caseRows(files: SpecFiles, spec: LearnReportSpec | undefined, threshold: number | undefined): CaseRow[] {
  const traces = tracesByCase(files.traces)
  const reported = new Map((spec?.cases ?? []).map((item) => [item.id, item]))
  const dropped = new Set((spec?.regression.drops ?? []).map((drop) => drop.case))
  const recordings = recordingsByCase(files)
  const baseline = files.current?.baseline?.scores ?? {}
  const ids = [...new Set([...reported.keys(), ...traces.keys()])]
  return ids.map((id) => {
    const item = reported.get(id)
    return caseRow({
      id,
      ...(item ? { reported: item } : {}),
      traces: traces.get(id) ?? [],
      ...(baseline[id] !== undefined ? { baseline: baseline[id] } : {}),
      dropped: dropped.has(id),
      ...(threshold !== undefined ? { threshold } : {}),
      ...(recordings.has(id) ? { recording: recordings.get(id)! } : {}),
    })
  })
}

function specView(files: SpecFiles, report: LearnReport | undefined): SpecView {
  const spec = report?.specs.find((item) => item.name === files.name)
  const last = files.history.at(-1)
  const verdict = spec ? reportVerdict(spec) : last ? historyVerdict(last, files.current) : undefined
  const threshold = verdict?.threshold
  return {
    name: files.name,
    ...(threshold !== undefined ? { threshold } : {}),
    ...(verdict ? { verdict } : {}),
    history: historyPoints(files, report, spec),
    versions: programVersions(files),
    ...(files.current ? { current: `v${files.current.version}` } : {}),
    runs: files.runs.map(optimizeRun),
    cases: caseRows(files, spec, threshold),
  }
}

export function buildModel(files: ProjectFiles, created: Date): ReportModel {
  const report = files.report?.value
  return {
    created: created.toISOString(),
    ...(files.report ? { report: { file: files.report.file, created: files.report.value.created } } : {}),
    specs: files.specs.map((spec) => specView(spec, report)),
    warnings: files.warnings,
  }
}
