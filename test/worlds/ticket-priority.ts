// The classifier world `ticket-priority`: ticket -> priority (high, normal, low), scored by an
// exact-match metric against routing rules nobody wrote into the seed instruction. The student
// applies the rules its instruction names and otherwise goes by how urgent a ticket sounds, which
// is wrong for most tickets; urgent-sounding tickets no rule covers stay wrong under any instruction.
import { ax } from '@ax-llm/ax'
import { defineLearn } from '../../src/spec.js'
import { mean, seededRandom } from '../../src/stats.js'
import { defaultScript, instructionOf, type Script } from '../support/model-server.js'
import { namedRules, STUDENT_MODEL, teacherReply, type Rule, type Teaching, type World } from './common.js'

export type Priority = 'high' | 'normal' | 'low'
export type Ticket = { ticket: string }
export type Routed = { priority: Priority }

interface RoutingRule extends Rule {
  /** Whether a ticket falls under the rule. */
  trigger: RegExp
  label: Priority
}

/** The routing rules, in precedence order, which is also the order the teacher adds them in. */
export const RULES: readonly RoutingRule[] = [
  {
    id: 'outage',
    sentence: 'Tickets about an outage (a site or service down) are high.',
    named: /outage|\bdown\b/i,
    trigger: /\bdown\b|outage|not loading|\b50[23]\b/i,
    label: 'high',
  },
  {
    id: 'security',
    sentence: 'Security issues (breaches, phishing, hacked accounts) are high.',
    named: /security|breach|phishing|hack/i,
    trigger: /phishing|hacked|breach|security/i,
    label: 'high',
  },
  {
    id: 'data-loss',
    sentence: 'Lost or deleted data is high.',
    named: /data loss|lost data|deleted/i,
    trigger: /\bdeleted|lost data|disappeared/i,
    label: 'high',
  },
  {
    id: 'billing',
    sentence: 'Billing and invoice questions are normal, however urgent they sound.',
    named: /invoice|billing/i,
    trigger: /invoice|\bcharged|receipt|billing/i,
    label: 'normal',
  },
  {
    id: 'feature',
    sentence: 'Feature requests and ideas are low.',
    named: /feature|idea|suggestion/i,
    trigger: /feature request|would be nice|\bidea\b|could you add/i,
    label: 'low',
  },
  {
    id: 'cosmetic',
    sentence: 'Typos and cosmetic glitches are low.',
    named: /typo|cosmetic/i,
    trigger: /\btypo|misaligned|\bfont\b|\bcolou?rs?\b/i,
    label: 'low',
  },
]

/** The spec's seed instruction. */
export const SEED = 'Set the priority of the support ticket.'
export const CEILING_INSTRUCTION = [SEED, ...RULES.map((rule) => rule.sentence)].join(' ')

const urgent = /urgent|asap/i

/** The right priority: the first rule the ticket falls under; normal when none does. */
export const truePriority = (ticket: string): Priority => RULES.find((rule) => rule.trigger.test(ticket))?.label ?? 'normal'

/** The student's priority: the first named rule the ticket falls under, else high if it sounds urgent, else normal. */
export function studentPriority(ticket: string, instruction: string): Priority {
  const named = namedRules(RULES, instruction)
  const rule = RULES.find((candidate) => named.has(candidate.id) && candidate.trigger.test(ticket))
  return rule?.label ?? (urgent.test(ticket) ? 'high' : 'normal')
}

// ---------------------------------------------------------------------------
// Tickets
// ---------------------------------------------------------------------------

/** Ticket texts by topic, and how many of each the evaluation set (and the pool) holds, how many sounding urgent. */
const mix: { sentences: string[]; count: number; urgent: number }[] = [
  { count: 15, urgent: 4, sentences: ['How do I invite a colleague to my team?', 'Can I change my username?', 'Where can I find the API docs?', 'Do you offer a student discount?', 'How do I export my settings?'] },
  { count: 22, urgent: 7, sentences: ['My invoice shows the wrong VAT number.', 'I was charged twice this month.', 'Please send me a receipt for {month}.', 'The billing address on my invoice is outdated.'] },
  { count: 8, urgent: 1, sentences: ['The dashboard is down for all our users.', 'The checkout page is not loading since this morning.', 'Your API returns 503 errors for every request.', 'The whole site is down in {region}.'] },
  { count: 8, urgent: 1, sentences: ['We received a phishing email pretending to be you.', 'I think my account was hacked; there are logins from {region}.', 'Possible data breach: customer emails are visible to others.', 'Security issue: the reset link works for any user.'] },
  { count: 8, urgent: 1, sentences: ['All my saved projects were deleted overnight.', 'We lost data after the last sync.', 'My files disappeared after the {month} update.'] },
  { count: 7, urgent: 2, sentences: ['Feature request: dark mode for the editor.', 'It would be nice to export reports as CSV.', 'Idea: let us pin favourite projects.', 'Could you add keyboard shortcuts?'] },
  { count: 8, urgent: 2, sentences: ['There is a typo on the pricing page.', 'The logo is misaligned on mobile.', 'The footer font looks blurry in {region}.', 'Button colors are inconsistent in settings.'] },
]
const months = ['January', 'February', 'March', 'April', 'May', 'June']
const regions = ['Europe', 'Asia', 'Brazil', 'Canada', 'Australia']
const senders = ['Ana', 'Ben', 'Chloe', 'Dev', 'Emma', 'Farid', 'Greta', 'Hugo']
const companies = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay']

/** One set of tickets in the proportions of `mix`, in a seeded order, none of them in `taken` (which gains them). */
function makeTickets(seed: number, taken: Set<string>): Ticket[] {
  const random = seededRandom(seed)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const write = (sentence: string, urgency: number | undefined): string => {
    const text = `${sentence.replace('{month}', pick(months)).replace('{region}', pick(regions))} (${pick(senders)}, ${pick(companies)})`
    return urgency === undefined ? text : urgency % 2 === 0 ? `URGENT: ${text}` : `${text} Please fix this ASAP.`
  }
  const tickets = mix.flatMap(({ sentences, count, urgent }) =>
    Array.from({ length: count }, (_, index) => {
      let ticket: string
      do ticket = write(sentences[index % sentences.length]!, index < urgent ? index : undefined)
      while (taken.has(ticket))
      taken.add(ticket)
      return { ticket, order: random() }
    }),
  )
  return tickets.sort((a, b) => a.order - b.order).map(({ ticket }) => ({ ticket }))
}

const taken = new Set<string>()
export const EVALUATION_SET: readonly Ticket[] = makeTickets(20240602, taken)
export const CASES: readonly Ticket[] = EVALUATION_SET.slice(0, 16)
export const HIDDEN: readonly Ticket[] = EVALUATION_SET.slice(16)
export const POOL: readonly Ticket[] = makeTickets(20240603, taken)

/** Exact-match accuracy over the evaluation set. */
export function trueQuality(instruction: string): number {
  return mean(EVALUATION_SET.map(({ ticket }) => (studentPriority(ticket, instruction) === truePriority(ticket) ? 1 : 0)))
}

export const SEED_QUALITY = trueQuality(SEED)
export const CEILING = trueQuality(CEILING_INSTRUCTION)

// ---------------------------------------------------------------------------
// The scripted model
// ---------------------------------------------------------------------------

/** "expected high", "should be high", "correct label: high", `"expected": "high"`... */
const labelStatement = /\b(?:expected|should (?:be|have been)|correct (?:label|answer|priority|class)(?: is| was)?)[^a-z]{0,16}(?:priority[^a-z]{0,6})?(high|normal|low)\b/gi
/** How far before a label statement the ticket it is about may stand. */
const ticketWindow = 600

/**
 * A rule is evidenced by a ticket that falls under it, stated together with its right label: the
 * label statement and the ticket within one record (back to the previous statement, at most
 * `ticketWindow` characters before it, or later on the same line). A bare score is no evidence.
 */
function evidenced(text: string): RoutingRule[] {
  const found = new Set<RoutingRule>()
  let previousEnd = 0
  for (const match of text.matchAll(labelStatement)) {
    const at = match.index
    const lineEnd = text.indexOf('\n', at)
    const record = text.slice(Math.max(previousEnd, at - ticketWindow), lineEnd < 0 ? text.length : lineEnd)
    const label = match[1]!.toLowerCase()
    for (const rule of RULES) if (rule.label === label && rule.trigger.test(record)) found.add(rule)
    previousEnd = at + match[0].length
  }
  return RULES.filter((rule) => found.has(rule))
}

export const teaching: Teaching = { rules: RULES, evidenced }

export function createScript(): Script {
  let handedOut = 0
  return (call) => {
    const teacher = teacherReply(teaching, POOL, () => handedOut++, call, ({ ticket }) => ({ priority: truePriority(ticket ?? '') }))
    if (teacher !== undefined) return teacher
    if (call.outputs.includes('priority')) {
      const ticket = call.inputs.ticket ?? ''
      // The teacher labels synthetic cases (and bootstraps demos) with the right priority.
      return { priority: call.model === STUDENT_MODEL ? studentPriority(ticket, instructionOf(call)) : truePriority(ticket) }
    }
    return defaultScript(call)
  }
}

export function spec(options: { budget?: number; synthCount?: number } = {}) {
  return defineLearn<Ticket, Routed>({
    name: 'ticket-priority',
    program: ax('ticket:string -> priority:class "high, normal, low"'),
    instruction: SEED,
    cases: CASES.map((input) => ({ input, expected: { priority: truePriority(input.ticket) } })),
    metric: ({ prediction, example }) => (prediction.priority === example.priority ? 1 : 0),
    optimize: { budget: options.budget ?? 20, ...(options.synthCount !== undefined ? { synthCount: options.synthCount } : {}) },
  })
}

export const ticketPriority: World<Ticket, Routed> = {
  name: 'ticket-priority',
  seedInstruction: SEED,
  seedQuality: SEED_QUALITY,
  ceilingInstruction: CEILING_INSTRUCTION,
  ceiling: CEILING,
  spec,
  createScript,
  pool: POOL,
  evaluationSet: EVALUATION_SET,
  trueQuality,
  teaching,
}
