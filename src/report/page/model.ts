// The report page's data model: everything the page shows, gathered from a project folder by
// load.ts and rendered by html.ts. Plain data, no behaviour.

/** A file that could not be used, or a part of it that was skipped: shown on the page and printed. */
export interface ReportWarning {
  /** The file, relative to the project root (with `:line` for a line of a JSON-lines file). */
  file: string
  /** What is wrong, naming the field when there is one. */
  message: string
}

export type Interval = readonly [number, number]

/** One point of a spec's score history. */
export interface HistoryPoint {
  /** `run`: a line of history.jsonl; `checkpoint`: a checkpoint's baseline; `report`: the last learn-report.json. */
  kind: 'run' | 'checkpoint' | 'report'
  date: string
  label: string
  mean: number
  interval?: Interval
  pass?: boolean
}

/** What the spec's last run said: from learn-report.json, else from the newest history line. */
export interface SpecVerdict {
  source: 'report' | 'history'
  verdict: 'pass' | 'fail' | 'regressed' | 'inconclusive'
  mean: number
  interval: Interval
  threshold: number
  baseline?: { label: string; mean: number }
  delta?: number
  deltaInterval?: Interval
  cost: { usd: number; tokens?: number; live: number; replayed?: number }
}

/** The instruction and demos of one version of the program. */
export interface ProgramVersion {
  /** `seed`, or `v<N>`. */
  label: string
  created?: string
  instruction: string
  /** The demos as pretty-printed JSON, empty when there are none. */
  demos: string
}

export interface CandidatePoint {
  id: number
  parent: number | null
  round: number
  origin: 'start' | 'proposal' | 'merge'
  theme?: string
  /** The judged score on the training cases seen. */
  estimate: number
  kept: boolean
  final: boolean
  /** On the chain of parents from the final candidate: the accepted path. */
  accepted: boolean
  /** Live calls and dollars the run had spent when the candidate was judged. */
  calls: number
  usd: number
}

export interface OptimizeRunView {
  file: string
  started: string
  finished: string
  /** `snapshots` for a run that wrote a checkpoint; `cache` for one that kept the program. */
  from: 'snapshots' | 'cache'
  budget: number
  decision: 'written' | 'kept-previous'
  version?: number
  previousVersion?: number
  stoppedBy: string
  comparison: { n: number; meanBefore: number; meanAfter: number; delta: number; interval: Interval; winProbability: number }
  cost: { calls: number; tokens: number; usd: number }
  candidates: CandidatePoint[]
}

export interface CaseRow {
  id: string
  name: string
  /** The input, as pretty-printed JSON. */
  input: string
  /** The first reply's output, as pretty-printed JSON. */
  output?: string
  score?: number
  /** The case's score in the current checkpoint's baseline. */
  baseline?: number
  scorers: Record<string, number>
  reasons?: string
  error?: string
  state?: 'passed' | 'failed' | 'skipped' | 'pending'
  /** Replies scored. */
  samples: number
  failed: boolean
  regressed: boolean
  /** Models that answered the case's recorded calls, by role. */
  models: { student?: string; judge?: string }
  /** When its trace (the last recording run) was written. */
  traced?: string
}

export interface SpecView {
  name: string
  threshold?: number
  verdict?: SpecVerdict
  history: HistoryPoint[]
  versions: ProgramVersion[]
  /** Label of the current checkpoint, when there is one. */
  current?: string
  runs: OptimizeRunView[]
  cases: CaseRow[]
}

export interface ReportModel {
  created: string
  /** The learn-report.json read, relative to the root, and when it was made. */
  report?: { file: string; created: string }
  specs: SpecView[]
  warnings: ReportWarning[]
}
