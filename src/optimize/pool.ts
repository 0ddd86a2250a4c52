import type { AxGenOut } from '@ax-llm/ax'
import type { LearnProgramState } from '../formats/types.generated.js'
import type { LearnTrajectory } from '../spec.js'
import { mean } from '../stats.js'
import { problemsOf, showsTheme, themesOf, type Problem, type Theme } from './feedback.js'
import type { CaseEvaluation } from './evaluate.js'

/** What a candidate does on one training case: measured on it, or assumed from its parent. */
export interface CaseView {
  score: number
  problems: Problem[]
  prediction: AxGenOut
  /** The tools called and the model calls made for the prediction. */
  trajectory: LearnTrajectory
  /** Measured on this very candidate (not inherited from an ancestor). */
  measured: boolean
}

export type CandidateOrigin =
  | { kind: 'start' }
  | { kind: 'proposal'; theme: string; component: string }
  | { kind: 'merge'; of: readonly number[] }

export interface Candidate {
  id: number
  parent: number | undefined
  round: number
  origin: CandidateOrigin
  state: LearnProgramState
  views: Map<string, CaseView>
  /** Problems its lineage was seen to fix: taken out of the problems it inherits. */
  fixed: Theme[]
  /** Problems its lineage was kept for fixing (proposals that targeted them and won). */
  addressed: string[]
}

export const viewOf = (evaluation: CaseEvaluation): CaseView => ({
  score: evaluation.score,
  problems: evaluation.error ? [{ key: 'the program failed', text: `The program failed: ${evaluation.error}` }] : problemsOf(evaluation.reasons),
  prediction: evaluation.prediction,
  trajectory: evaluation.trajectory,
  measured: true,
})

/**
 * The candidates of one search, each with a score per training case, and GEPA's Pareto front over
 * them: a candidate stays a possible parent while it is the best on at least one case.
 */
export class CandidatePool {
  private readonly members = new Map<number, Candidate>()
  /** Candidates whose edits live on in a kept child or merge: no longer parents. */
  private readonly superseded = new Set<number>()

  /** Kept candidates only: they are the possible parents and the possible result. */
  add(candidate: Candidate): void {
    this.members.set(candidate.id, candidate)
    if (candidate.parent !== undefined) this.superseded.add(candidate.parent)
    if (candidate.origin.kind === 'merge') for (const part of candidate.origin.of) this.superseded.add(part)
  }

  get candidates(): Candidate[] {
    return [...this.members.values()]
  }

  /** A child's views: its parent's, as assumed (not measured), with what it fixed taken out of the problems. */
  inherit(parent: Candidate, fixed: readonly Theme[]): Map<string, CaseView> {
    const views = new Map<string, CaseView>()
    for (const [caseId, view] of parent.views) {
      const problems = view.problems.filter((problem) => !fixed.some((theme) => showsTheme([problem], theme)))
      views.set(caseId, { ...view, problems, measured: false })
    }
    return views
  }

  /** Mean score over the training cases the search has seen, measured or assumed. */
  estimate(candidate: Candidate): number {
    return mean([...candidate.views.values()].map((view) => view.score))
  }

  /**
   * The Pareto front over the pool's leaves (candidates nothing kept builds on yet): those best on at
   * least one case, each with the number of cases it is best on.
   */
  front(): { candidate: Candidate; wins: number }[] {
    const leaves = this.candidates.filter((candidate) => !this.superseded.has(candidate.id))
    const caseIds = new Set(leaves.flatMap((candidate) => [...candidate.views.keys()]))
    const wins = new Map<number, number>()
    for (const caseId of caseIds) {
      const best = Math.max(...leaves.map((candidate) => candidate.views.get(caseId)?.score ?? -1))
      for (const candidate of leaves) if (candidate.views.get(caseId)?.score === best) wins.set(candidate.id, (wins.get(candidate.id) ?? 0) + 1)
    }
    return [...wins].map(([id, count]) => ({ candidate: this.members.get(id)!, wins: count })).filter(({ candidate }) => !this.dominated(candidate, leaves))
  }

  private dominated(candidate: Candidate, among: readonly Candidate[]): boolean {
    return among.some((other) => {
      if (other === candidate || other.views.size < candidate.views.size) return false
      let better = false
      for (const [caseId, view] of candidate.views) {
        const score = other.views.get(caseId)?.score
        if (score === undefined || score < view.score) return false
        if (score > view.score) better = true
      }
      return better
    })
  }

  /** GEPA's parent choice: a front member, drawn in proportion to the cases it is best on. */
  pickParent(random: () => number): Candidate {
    const front = this.front()
    const total = front.reduce((sum, member) => sum + member.wins, 0)
    let draw = random() * total
    for (const member of front) if ((draw -= member.wins) < 0) return member.candidate
    return front[0]?.candidate ?? this.best()
  }

  /** The candidate with the best estimate; the earliest among equals. */
  best(): Candidate {
    return this.candidates.reduce((best, candidate) => (this.estimate(candidate) > this.estimate(best) ? candidate : best))
  }

  /** The problems a candidate is known or assumed to have on its failing cases, grouped into themes. */
  themesOf(candidate: Candidate): Theme[] {
    const failing = [...candidate.views].filter(([, view]) => view.score < 1)
    return themesOf(failing.map(([caseId, view]) => ({ caseId, problems: view.problems })))
  }
}
