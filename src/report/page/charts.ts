// The report page's charts, as chart specs for svg.ts: a spec's score history, and an optimize
// run's candidates against rounds and against cost.
import type { HistoryPoint, OptimizeRunView, SpecView } from './model.js'
import { linearTicks, renderChart, type ChartPoint, type Tick } from './svg.js'

const scoreAxis = { min: 0, max: 1, ticks: linearTicks(0, 1, 5, (value) => value.toFixed(2)) }
const score = (value: number) => value.toFixed(3)

/** At most `count` of the points' labels, spread over the axis. */
function indexTicks(labels: readonly string[], count: number): Tick[] {
  const step = Math.max(1, Math.ceil(labels.length / count))
  return labels.flatMap((label, index) => (index % step === 0 || index === labels.length - 1 ? [{ value: index, label }] : []))
}

function historyPoint(point: HistoryPoint, index: number): ChartPoint {
  const outcome = point.pass === undefined ? '' : point.pass ? ' pass' : ' fail'
  const interval = point.interval ? ` (95% CI ${score(point.interval[0])}..${score(point.interval[1])})` : ''
  return {
    x: index,
    y: point.mean,
    ...(point.interval ? { low: point.interval[0], high: point.interval[1] } : {}),
    className: `point ${point.kind}${outcome}`,
    title: `${point.label}: ${score(point.mean)}${interval}`,
  }
}

/** Mean score of each recorded run and checkpoint baseline, with intervals and the threshold line. */
export function historyChart(spec: SpecView): string {
  const points = spec.history.map(historyPoint)
  return renderChart({
    title: `Score history of ${spec.name}: ${points.length} points`,
    xLabel: 'runs and checkpoints, oldest first',
    yLabel: 'mean score',
    x: { min: -0.5, max: Math.max(0, points.length - 1) + 0.5, ticks: indexTicks(spec.history.map((point) => point.date.slice(5, 10)), 8) },
    y: scoreAxis,
    points,
    lines: [{ className: 'trend', points: points.map((item) => [item.x, item.y] as const) }],
    ...(spec.threshold !== undefined ? { rules: [{ y: spec.threshold, label: `threshold ${spec.threshold}`, className: 'threshold' }] } : {}),
  })
}

type Axis = 'round' | 'usd'

function candidateChart(run: OptimizeRunView, axis: Axis): string {
  const x = (candidate: OptimizeRunView['candidates'][number]) => (axis === 'round' ? candidate.round : candidate.usd)
  const max = Math.max(axis === 'round' ? 1 : 0, ...run.candidates.map(x))
  const points = run.candidates.map(
    (candidate): ChartPoint => ({
      x: x(candidate),
      y: candidate.estimate,
      className: `point candidate${candidate.accepted ? ' accepted' : candidate.kept ? ' kept' : ' discarded'}${candidate.final ? ' final' : ''}`,
      title: `#${candidate.id} ${candidate.origin}, round ${candidate.round}, $${candidate.usd.toFixed(4)}: ${score(candidate.estimate)}${candidate.theme ? ` (${candidate.theme})` : ''}${candidate.accepted ? ', accepted path' : candidate.kept ? ', kept' : ', discarded'}`,
    }),
  )
  const path = run.candidates.filter((candidate) => candidate.accepted).sort((a, b) => x(a) - x(b) || a.id - b.id)
  return renderChart({
    title: `Optimize run ${run.started}: judged score of ${points.length} candidates against ${axis === 'round' ? 'rounds' : 'cost'}`,
    xLabel: axis === 'round' ? 'round' : 'cost so far (USD)',
    yLabel: 'judged score (training)',
    x: { min: 0, max, ticks: axis === 'round' ? linearTicks(0, max, Math.min(max + 1, 9), (value) => String(Math.round(value))) : linearTicks(0, max, 5, (value) => `$${value.toFixed(max < 0.1 ? 3 : 2)}`) },
    y: scoreAxis,
    points,
    lines: [{ className: 'accepted-path', points: path.map((candidate) => [x(candidate), candidate.estimate] as const) }],
    rules: [
      { y: run.comparison.meanBefore, label: `held-out before ${score(run.comparison.meanBefore)}`, className: 'held-out before' },
      { y: run.comparison.meanAfter, label: `held-out after ${score(run.comparison.meanAfter)}`, className: 'held-out after' },
    ],
  })
}

export const roundsChart = (run: OptimizeRunView): string => candidateChart(run, 'round')
export const costChart = (run: OptimizeRunView): string => candidateChart(run, 'usd')
