import type { AxAIService } from '@ax-llm/ax'
import type { LearnOptimizeRunCandidate, LearnProgramState } from '../formats/types.generated.js'
import { mean, seededRandom } from '../stats.js'
import type { SomeLearnSpec } from '../spec.js'
import type { OptimizeCase } from './data.js'
import type { Evaluator } from './evaluate.js'
import { showsTheme, type Problem, type Theme } from './feedback.js'
import { mergeInstructions, sentenceSetKey } from './merge.js'
import { CandidatePool, viewOf, type Candidate } from './pool.js'
import { buildProgram, componentsOf, effectiveState, primaryInstructionKey, stateKey, withComponent, type ProgramComponent } from './program.js'
import { proposeText } from './propose.js'

/**
 * How a search spends its rounds. A round: pick a parent from the Pareto front, take its most
 * widespread problems (over every case evaluated so far), ask the teacher for one fix per problem
 * (`proposals`, concurrently), evaluate each child on the cases that show its problem (`focus`) and a
 * few others (`checks`, to catch harm), keep the children that fix what they target, and merge the
 * kept siblings into one candidate. A round costs `proposals` teacher calls plus
 * `proposals × (focus + checks)` case evaluations for the children and up to as many for the parent
 * (each case evaluation is a student call, and a judge call when the spec has a judge).
 */
export interface SearchPlan {
  rounds: number
  proposals: number
  focus: number
  checks: number
  /** Training cases the start is evaluated on before the first round. */
  sample: number
  /** Unseen training cases evaluated at a time when the search looks further. */
  look: number
  /** Least mean gain on the focus cases for a child to be kept (scores are in [0, 1]). */
  minGain: number
  /** Times a problem is targeted on one parent before it is given up there. */
  attempts: number
}

export const defaultPlan = (rounds: number): SearchPlan => ({ rounds, proposals: 3, focus: 3, checks: 1, sample: 16, look: 6, minGain: 0.1, attempts: 2 })

export interface SearchProgress {
  round: number
  rounds: number
  /** Best estimated mean score on the training cases seen. */
  bestScore: number
  proposals: number
  accepted: number
  merges: number
}

/** One candidate as the search saw it, for the summary and the optimize report (optimize-runs/). */
export type CandidateRecord = LearnOptimizeRunCandidate

export interface SearchOptions {
  spec: SomeLearnSpec
  start: LearnProgramState
  train: readonly OptimizeCase[]
  evaluator: Evaluator
  teacher: AxAIService
  plan: SearchPlan
  seed: number
  /** Checked before each round: true once the cost cap is reached or the run interrupted. */
  stopped: () => boolean
  /** What the run has spent so far, noted with each candidate's verdict (the report's cost axis). */
  spent?: () => { calls: number; usd: number }
  onProgress?: (progress: SearchProgress) => void
}

export interface SearchResult {
  state: LearnProgramState
  progress: SearchProgress
  stoppedBy: 'budget' | 'converged' | 'cost-cap'
  candidates: CandidateRecord[]
}

/** A problem a round targets, and how many proposals it gets. */
interface Target {
  theme: Theme
  proposals: number
}

/** A proposal not kept for a problem, on which parent and in which component; `text` is what was proposed, when it was new and evaluated. */
interface Try {
  parent: number
  component: string
  text?: string
}

/** A child on trial: the problem it was proposed for, the component it rewrote, the cases that show the problem, and the cases that check for harm. */
interface Trial {
  child: Candidate
  theme: Theme
  component: string
  focus: string[]
  checks: string[]
}

/**
 * A reflective, Pareto-based search over a program's texts (its instruction, and its tools'
 * descriptions) that learns several fixes per run.
 */
export async function runSearch(options: SearchOptions): Promise<SearchResult> {
  return new Search(options).run()
}

class Search {
  private readonly pool = new CandidatePool()
  private readonly random: () => number
  private readonly cases: Map<string, OptimizeCase>
  private readonly progress: SearchProgress
  /** Tries for a problem that were not kept (a kept try does not count: a problem may have several causes). */
  private readonly tried = new Map<string, Try[]>()
  /** The texts the search may rewrite, as the start has them. */
  private readonly components: ProgramComponent[]
  /** Batches of unseen training cases looked at in a row without finding anything to fix. */
  private emptyLooks = 0
  /** Every candidate made, kept or not, in order: the search's history. */
  private readonly made: Candidate[] = []
  private readonly kept = new Set<number>()
  private readonly seen = new Set<string>()
  /** What the run had spent when each candidate's verdict came in. */
  private readonly spentAt = new Map<number, { calls: number; usd: number }>()

  constructor(private readonly options: SearchOptions) {
    this.random = seededRandom(options.seed)
    this.cases = new Map(options.train.map((item) => [item.id, item]))
    this.progress = { round: 0, rounds: options.plan.rounds, bestScore: 0, proposals: 0, accepted: 0, merges: 0 }
    this.components = componentsOf(buildProgram(options.spec, options.start))
  }

  async run(): Promise<SearchResult> {
    await this.evaluateStart()
    let stoppedBy: SearchResult['stoppedBy'] = 'budget'
    for (let round = 1; round <= this.options.plan.rounds; round++) {
      if (this.options.stopped()) {
        stoppedBy = 'cost-cap'
        break
      }
      const target = await this.findTarget()
      if (!target) {
        stoppedBy = 'converged'
        break
      }
      this.progress.round = round
      await this.round(target, round)
      this.report()
    }
    return { state: this.pool.best().state, progress: { ...this.progress }, stoppedBy, candidates: this.records() }
  }

  /** The start, evaluated on a sample of the training cases: the first candidate, and the first problems. */
  private async evaluateStart(): Promise<void> {
    const { options } = this
    const start = effectiveState(options.spec, options.start)
    this.seen.add(this.seenKey(start))
    const evaluations = await options.evaluator.evaluateAll(start, this.shuffled(options.train).slice(0, options.plan.sample))
    const root = this.make({ parent: undefined, round: 0, origin: { kind: 'start' }, state: start, views: new Map(), fixed: [], addressed: [] })
    for (const evaluation of evaluations) if (!evaluation.skipped) root.views.set(evaluation.caseId, viewOf(evaluation))
    this.keep(root)
    this.judged(root)
    this.report()
  }

  /**
   * The next round's parent and problems; when nothing seen is left to fix, the search looks at
   * unseen cases a batch at a time, and two batches in a row that show nothing new end it.
   */
  private async findTarget(): Promise<{ parent: Candidate; themes: Target[] } | undefined> {
    let target = await this.pickTarget()
    while (!target && this.emptyLooks < 2 && (await this.widen())) {
      target = await this.pickTarget()
      if (!target) this.emptyLooks++
    }
    return target
  }

  /** One round: the proposals, their children's trials, more cases looked at when the round has room, and the merge. */
  private async round(target: { parent: Candidate; themes: Target[] }, round: number): Promise<void> {
    const { parent } = target
    // Too few problems to fill the round: look at more cases meanwhile, for the rounds to come.
    const looking = target.themes.length < this.options.plan.proposals ? this.widen(parent) : undefined
    const kept = await this.playRound(parent, target.themes, round)
    await looking
    // What the parent showed on the cases just looked at, its kept children assume too.
    for (const child of kept)
      for (const [caseId, view] of this.pool.inherit(parent, child.fixed)) if (!child.views.has(caseId)) child.views.set(caseId, view)
    if (kept.length > 0) this.emptyLooks = 0
    await this.mergeKept(parent, kept, round)
  }

  /**
   * The round's proposals shared among the problems, most widespread first: one each, then more to
   * problems with cases enough for another set of `focus` cases (a symptom with several causes,
   * such as "expected high, got normal", gets proposals on different cases of it).
   */
  private share(themes: readonly Theme[]): Target[] {
    const { proposals, focus } = this.options.plan
    const targets = themes.slice(0, proposals).map((theme) => ({ theme, proposals: 1 }))
    for (let left = proposals - targets.length, grew = true; left > 0 && grew; ) {
      grew = false
      for (const target of targets) {
        if (left > 0 && target.theme.caseIds.length > target.proposals * focus) {
          target.proposals++
          left--
          grew = true
        }
      }
    }
    return targets
  }

  /** A parent from the front with problems still worth a try, and up to `proposals` of them. */
  private async pickTarget(): Promise<{ parent: Candidate; themes: Target[] } | undefined> {
    const first = this.pool.pickParent(this.random)
    const parents = [first, ...this.pool.front().map((member) => member.candidate).filter((candidate) => candidate !== first)]
    for (const parent of parents) {
      if (parent === first) await this.explain(parent)
      const themes = this.pool.themesOf(parent).filter((theme) => this.attemptsLeft(parent, theme) > 0)
      if (themes.length > 0) return { parent, themes: this.share(themes) }
    }
    return undefined
  }

  /**
   * Cases a parent is assumed to fail with no problem left to name (an ancestor fixed the one it
   * had, but another may remain) are measured, a few a round, so no remaining problem goes unseen.
   */
  private async explain(parent: Candidate): Promise<void> {
    const unexplained = [...parent.views].filter(([, view]) => !view.measured && view.score < 1 && view.problems.length === 0).map(([caseId]) => caseId)
    await this.measure(parent, unexplained.slice(0, this.options.plan.focus).map((caseId) => this.cases.get(caseId)!))
  }

  /**
   * A candidate (the best, by default) evaluated on a batch of training cases the search has not
   * looked at yet: when nothing seen so far is left to fix, or too little to fill a round. False
   * once there are none.
   */
  private async widen(candidate = this.pool.best()): Promise<boolean> {
    const unseen = this.options.train.filter((item) => !candidate.views.has(item.id))
    if (unseen.length === 0 || this.options.stopped()) return false
    await this.measure(candidate, this.shuffled(unseen).slice(0, this.options.plan.look))
    return true
  }

  /**
   * Failed tries left for a problem on a parent: `attempts` on each parent, and twice that over the
   * whole search. A problem the lineage was already kept for fixing that shows again (the model
   * slipping on a rule it has, or another cause of the same symptom) gets one try a parent, and
   * `attempts` in all.
   */
  private attemptsLeft(parent: Candidate, theme: Theme): number {
    const tries = this.tried.get(theme.key) ?? []
    const failures = tries.filter((attempt) => attempt.text !== undefined).length
    const slip = parent.addressed.includes(theme.key)
    const onParent = tries.filter((attempt) => attempt.parent === parent.id).length
    const { attempts } = this.options.plan
    return Math.min((slip ? 1 : attempts) - onParent, (slip ? attempts : 2 * attempts) - failures)
  }

  /**
   * The cases proposals target: up to `focus` cases where the parent, measured now, still shows
   * the problem (cases it only inherited the problem on are measured first, a few at a time).
   */
  private async focusOf(parent: Candidate, theme: Theme, focus: number): Promise<string[]> {
    const ordered = theme.caseIds
      .map((caseId) => ({ caseId, view: parent.views.get(caseId)! }))
      .sort((a, b) => Number(b.view.measured) - Number(a.view.measured) || a.view.score - b.view.score || (a.caseId < b.caseId ? -1 : 1))
      .map(({ caseId }) => caseId)
    const shows = (caseId: string) => showsTheme(parent.views.get(caseId)!.problems, theme)
    let picked: string[] = []
    for (let next = 0; next < ordered.length && picked.length < focus; next += focus) {
      await this.measure(parent, ordered.slice(next, next + focus).map((caseId) => this.cases.get(caseId)!))
      picked = ordered.slice(0, next + focus).filter(shows).slice(0, focus)
    }
    return picked
  }

  /**
   * One round on a parent: a proposal per problem (concurrently), the new instructions made into
   * children in the order of the problems (so a run does not depend on which answer came first),
   * each child evaluated against the parent, and the kept ones returned.
   */
  private async playRound(parent: Candidate, targets: readonly Target[], round: number): Promise<Candidate[]> {
    const proposals = (await Promise.all(targets.map((target) => this.propose(parent, target)))).flat()
    const trials: Trial[] = []
    for (const { theme, focus, component, text } of proposals) {
      const tried = this.triesOf(theme)
      const state = text === undefined ? undefined : withComponent(this.options.spec, parent.state, component, text)
      if (text === undefined || !state || this.seen.has(this.seenKey(state))) {
        tried.push({ parent: parent.id, component })
        continue
      }
      this.seen.add(this.seenKey(state))
      const checks = this.shuffled([...parent.views.keys()].filter((caseId) => !focus.includes(caseId))).slice(0, this.options.plan.checks)
      const child = this.make({ parent: parent.id, round, origin: { kind: 'proposal', theme: theme.text, component }, state, views: new Map(), fixed: [], addressed: [...parent.addressed, theme.key] })
      trials.push({ child, theme, component, focus, checks })
    }
    const verdicts = await Promise.all(trials.map((trial) => this.evaluateChild(parent, trial)))
    const kept: Candidate[] = []
    trials.forEach((trial, index) => {
      this.judged(trial.child)
      if (verdicts[index]) {
        this.keep(trial.child)
        this.progress.accepted++
        kept.push(trial.child)
      } else this.triesOf(trial.theme).push({ parent: parent.id, component: trial.component, text: trial.child.state.componentMap?.[trial.component] })
    })
    return kept
  }

  private triesOf(theme: Theme): Try[] {
    let tries = this.tried.get(theme.key)
    if (!tries) this.tried.set(theme.key, (tries = []))
    return tries
  }

  /**
   * A problem's focus cases, split into one set per proposal, and the teacher's new text for each set
   * (undefined when it proposed nothing new), each set in a component of its own (see componentFor);
   * none when the problem no longer shows.
   */
  private async propose(parent: Candidate, { theme, proposals }: Target): Promise<{ theme: Theme; focus: string[]; component: string; text: string | undefined }[]> {
    const { focus: size } = this.options.plan
    const cases = await this.focusOf(parent, theme, size * proposals)
    const sets = Array.from({ length: Math.ceil(cases.length / size) }, (_, index) => cases.slice(index * size, (index + 1) * size))
    return Promise.all(
      sets.map(async (focus, index) => {
        this.progress.proposals++
        const component = this.componentFor(parent, theme, focus, index)
        const text = await proposeText(this.options.teacher, {
          component,
          task: this.options.spec.program.getSignature().toString(),
          theme,
          examples: focus.map((caseId) => {
            const view = parent.views.get(caseId)!
            const about = view.problems.filter((problem) => showsTheme([problem], theme))
            const toolCalls = view.trajectory.toolCalls
            return {
              input: this.cases.get(caseId)!.input,
              output: view.prediction,
              ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
              feedback: about.map((problem) => problem.text).join(' '),
            }
          }),
          triedBefore: this.triesOf(theme).flatMap((attempt) => (attempt.component === component.key && attempt.text ? [attempt.text] : [])),
        }).catch(() => undefined)
        return { theme, focus, component: component.key, text }
      }),
    )
  }

  /**
   * The component a proposal for a problem rewrites, as the parent has it: the components most
   * likely at fault come first (a tool the feedback names, then the instruction, then the tools the
   * failing cases called, then the rest), and each try of the problem on this parent, and each
   * further proposal for it in one round, takes the next.
   */
  private componentFor(parent: Candidate, theme: Theme, focus: readonly string[], index: number): ProgramComponent {
    const views = focus.map((caseId) => parent.views.get(caseId)!)
    const said = [theme.text, ...views.flatMap((view) => view.problems.map((problem) => problem.text))].join(' ').toLowerCase()
    const tools = this.components.filter((component) => component.kind === 'tool')
    const calls = (component: ProgramComponent) => views.reduce((sum, view) => sum + view.trajectory.toolCalls.filter((call) => call.name === component.tool).length, 0)
    const primary = primaryInstructionKey(this.options.spec)
    const ranked = [
      ...tools.filter((component) => said.includes(component.tool!.toLowerCase())),
      ...this.components.filter((component) => component.key === primary),
      ...tools.filter((component) => calls(component) > 0).sort((a, b) => calls(b) - calls(a)),
      ...this.components,
    ].filter((component, at, all) => all.findIndex((other) => other.key === component.key) === at)
    const tries = this.triesOf(theme).filter((attempt) => attempt.parent === parent.id).length
    const chosen = ranked[(tries + index) % ranked.length]!
    return { ...chosen, current: parent.state.componentMap?.[chosen.key] ?? chosen.current }
  }

  /**
   * Evaluates a child on its focus and check cases (and the parent where it is not measured there),
   * fills in its views, and tells whether it is kept: its problem is gone from a third of its cases
   * or more without harm overall, or its scores gain at least `minGain` on those cases and overall
   * (the check cases catch harm, not one noisy verdict).
   */
  private async evaluateChild(parent: Candidate, { child, theme, focus, checks }: Trial): Promise<boolean> {
    const items = [...focus, ...checks].map((caseId) => this.cases.get(caseId)!)
    const [evaluations] = await Promise.all([this.options.evaluator.evaluateAll(child.state, items), this.measure(parent, items)])
    const measured = evaluations.filter((evaluation) => !evaluation.skipped)
    const fixed = this.fixedBy(parent, measured.map((evaluation) => ({ caseId: evaluation.caseId, problems: viewOf(evaluation).problems })))
    child.fixed = [...parent.fixed, ...fixed]
    for (const [caseId, view] of this.pool.inherit(parent, fixed)) child.views.set(caseId, view)
    for (const evaluation of measured) child.views.set(evaluation.caseId, viewOf(evaluation))
    if (measured.length < items.length) return false
    const { minGain } = this.options.plan
    const gain = (caseIds: readonly string[]) => mean(caseIds.map((caseId) => child.views.get(caseId)!.score - parent.views.get(caseId)!.score))
    const all = [...focus, ...checks]
    // The judge's words are steadier than its scores: a problem gone from a third of its cases is a fix
    // unless the scores say it did harm; without that, the scores must show the gain on their own.
    const gone = focus.filter((caseId) => !showsTheme(child.views.get(caseId)!.problems, theme)).length
    if (gone > 0 && 3 * gone >= focus.length) return gain(all) > -minGain
    return gain(focus) >= minGain && gain(all) > 0
  }

  /** Evaluates the parent where its scores are only assumed, so a child is compared with what the parent really does. */
  private async measure(parent: Candidate, items: readonly OptimizeCase[]): Promise<void> {
    const unmeasured = items.filter((item) => !parent.views.get(item.id)?.measured)
    if (unmeasured.length === 0) return
    for (const evaluation of await this.options.evaluator.evaluateAll(parent.state, unmeasured))
      if (!evaluation.skipped) parent.views.set(evaluation.caseId, viewOf(evaluation))
  }

  /**
   * Problems the child was seen to fix: gone from two thirds or more of the measured cases where
   * the parent had them, two cases at least (a model slips on a rule now and then). A problem that
   * groups several causes, such as "expected high, got normal", may be fixed on some cases only:
   * the cases it inherits are measured again before they are targeted (see explain and focusOf).
   */
  private fixedBy(parent: Candidate, childCases: readonly { caseId: string; problems: readonly Problem[] }[]): Theme[] {
    const counts = new Map<string, { theme: Theme; gone: number; seen: number }>()
    for (const { caseId, problems } of childCases) {
      for (const problem of parent.views.get(caseId)?.problems ?? []) {
        const entry = counts.get(problem.key) ?? { theme: { key: problem.key, text: problem.text, caseIds: [] }, gone: 0, seen: 0 }
        entry.seen++
        if (!showsTheme(problems, problem)) entry.gone++
        counts.set(problem.key, entry)
      }
    }
    return [...counts.values()].filter((entry) => entry.seen >= 2 && 3 * entry.gone >= 2 * entry.seen).map((entry) => entry.theme)
  }

  /**
   * Kept siblings fix different problems: their edits are merged, component by component (and
   * sentence by sentence where two edited one text), into one candidate, kept when it holds on the
   * best case of each part.
   */
  private async mergeKept(parent: Candidate, kept: readonly Candidate[], round: number): Promise<void> {
    if (kept.length < 2) return
    const base = parent.state.componentMap ?? {}
    let texts = kept[0]!.state.componentMap ?? {}
    const parts = [kept[0]!]
    for (const child of kept.slice(1)) {
      const merged = mergeTexts(base, texts, child.state.componentMap ?? {})
      if (merged === undefined) continue
      texts = merged
      parts.push(child)
    }
    const primary = primaryInstructionKey(this.options.spec)
    const state = effectiveState(this.options.spec, { ...parent.state, instruction: texts[primary] ?? parent.state.instruction, componentMap: texts })
    if (parts.length < 2 || this.seen.has(this.seenKey(state))) return
    this.seen.add(this.seenKey(state))
    const fixed = parts.flatMap((part) => part.fixed.slice(parent.fixed.length))
    const merged = this.make({ parent: parent.id, round, origin: { kind: 'merge', of: parts.map((part) => part.id) }, state, views: this.pool.inherit(parent, fixed), fixed: [...parent.fixed, ...fixed], addressed: [...new Set(parts.flatMap((part) => part.addressed))] })
    const checks: string[] = []
    for (const part of parts) {
      const measured = [...part.views].filter(([, view]) => view.measured)
      for (const [caseId, view] of measured) if (view.score > (merged.views.get(caseId)?.score ?? -1)) merged.views.set(caseId, { ...view, measured: false })
      const gains = measured.map(([caseId, view]) => ({ caseId, gain: view.score - (parent.views.get(caseId)?.score ?? 0) }))
      const best = gains.sort((a, b) => b.gain - a.gain || (a.caseId < b.caseId ? -1 : 1))[0]
      if (best && !checks.includes(best.caseId)) checks.push(best.caseId)
    }
    const expected = mean(checks.map((caseId) => merged.views.get(caseId)!.score))
    await this.measure(merged, checks.map((caseId) => this.cases.get(caseId)!))
    this.judged(merged)
    if (mean(checks.map((caseId) => merged.views.get(caseId)!.score)) < expected - this.options.plan.minGain) return
    this.keep(merged)
    this.progress.merges++
  }

  /** Candidates already made, by what they run: their other state and each text's sentences in any order. */
  private seenKey(state: LearnProgramState): string {
    const componentMap = Object.fromEntries(Object.entries(state.componentMap ?? {}).map(([key, text]) => [key, sentenceSetKey(text)]))
    return stateKey({ ...state, instruction: sentenceSetKey(state.instruction), componentMap })
  }

  private make(candidate: Omit<Candidate, 'id'>): Candidate {
    const made = { ...candidate, id: this.made.length }
    this.made.push(made)
    return made
  }

  private judged(candidate: Candidate): void {
    this.spentAt.set(candidate.id, this.options.spent?.() ?? { calls: 0, usd: 0 })
  }

  private keep(candidate: Candidate): void {
    this.kept.add(candidate.id)
    this.pool.add(candidate)
  }

  private report(): void {
    this.progress.bestScore = this.pool.estimate(this.pool.best())
    this.options.onProgress?.({ ...this.progress })
  }

  private records(): CandidateRecord[] {
    const final = this.pool.best()
    return this.made.map((candidate) => ({
      id: candidate.id,
      parent: candidate.parent ?? null,
      round: candidate.round,
      origin: candidate.origin.kind,
      ...(candidate.origin.kind === 'proposal' ? { theme: candidate.origin.theme, component: candidate.origin.component } : {}),
      instruction: candidate.state.instruction,
      estimate: this.pool.estimate(candidate),
      kept: this.kept.has(candidate.id),
      ...(candidate === final ? { final: true } : {}),
      ...(this.spentAt.get(candidate.id) ?? { calls: 0, usd: 0 }),
    }))
  }

  private shuffled<T>(items: readonly T[]): T[] {
    const copy = [...items]
    for (let index = copy.length - 1; index > 0; index--) {
      const other = Math.floor(this.random() * (index + 1))
      ;[copy[index], copy[other]] = [copy[other]!, copy[index]!]
    }
    return copy
  }
}

/**
 * Two candidates' texts merged against their parent's, component by component: what one changed and
 * the other did not is taken; a text both changed is merged sentence by sentence. Undefined when
 * two edits of one text conflict (see mergeInstructions).
 */
function mergeTexts(base: Record<string, string>, first: Record<string, string>, second: Record<string, string>): Record<string, string> | undefined {
  const merged = { ...first }
  for (const [key, text] of Object.entries(second)) {
    if (text === base[key]) continue
    if (first[key] === base[key]) merged[key] = text
    else {
      const both = mergeInstructions(base[key] ?? '', first[key] ?? '', text)
      if (both === undefined) return undefined
      merged[key] = both
    }
  }
  return merged
}
