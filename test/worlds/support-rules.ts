// The judged world `support-rules`: customer_query -> polite_reply, scored by a noisy judge against
// house rules nobody wrote into the seed instruction. Each rule applies to a subset of queries
// (some queries meet two or three); the student follows a rule only when its instruction names it,
// and even then slips on a fixed share of replies, so no instruction reaches 1.
import { ax } from '@ax-llm/ax'
import { defineLearn } from '../../src/spec.js'
import { mean, seededRandom } from '../../src/stats.js'
import { defaultScript, instructionOf, jsonInput, type Script, type ScriptedCall } from '../support/model-server.js'
import { distinct, fractionOf, namedRules, STUDENT_MODEL, teacherReply, type Rule, type Teaching, type World } from './common.js'

export type Query = { customer_query: string }
export type Reply = { polite_reply: string }

interface HouseRule extends Rule {
  /** Whether the rule applies to a query. */
  applies(query: string): boolean
  /** Whether a reply keeps the rule. */
  kept(reply: string): boolean
  /** What the judge says when a reply breaks the rule. */
  reason: string
  /** The reason's wording, or a close paraphrase, as the teacher recognizes it. */
  evidence: RegExp
}

const always = () => true
const angry = /unacceptable|furious|ridiculous|worst|!!/i

/** The house rules, in the order the teacher fixes them. `greet` is the one the seed instruction already names. */
export const RULES: readonly HouseRule[] = [
  {
    id: 'greet',
    sentence: 'Greet and thank the customer.',
    named: /polite|thank|greet/i,
    applies: always,
    kept: (reply) => /thank you/i.test(reply),
    reason: 'Did not greet and thank the customer.',
    evidence: /\b(did not|didn't|never|no) (greet|thank)/i,
  },
  {
    id: 'signoff',
    sentence: 'Sign off every reply as "The Support Team".',
    named: /support team|sign[- ]?off/i,
    applies: always,
    kept: (reply) => /The Support Team\s*$/.test(reply),
    reason: 'Not signed off as "The Support Team".',
    evidence: /\bnot signed off|\b(no|missing|without)( the| a)? sign[- ]?off/i,
  },
  {
    id: 'refund',
    sentence: 'For refund requests, offer store credit instead of a refund.',
    named: /store credit/i,
    applies: (query) => /refund|money back/i.test(query),
    kept: (reply) => /store credit/i.test(reply) && !/refund you|full refund/i.test(reply),
    reason: 'Promised a refund; the house offers store credit.',
    evidence: /promis(ed|es|ing) (a |to )?(full )?refund/i,
  },
  {
    id: 'late',
    sentence: 'For late deliveries, link the tracking page https://shop.example/track.',
    named: /track(ing)? (page|link|url)|link[^.]{0,30}track/i,
    applies: (query) => /hasn't arrived|\blate\b|where is my/i.test(query),
    kept: (reply) => reply.includes('https://shop.example/track'),
    reason: 'Gave no link to the tracking page for a late delivery.',
    evidence: /\b(no|without|missing)( a| the)? (link to the )?tracking/i,
  },
  {
    id: 'damaged',
    sentence: 'For damaged items, ask the customer for a photo of the damage.',
    named: /photo|picture/i,
    applies: (query) => /broken|damaged|cracked/i.test(query),
    kept: (reply) => /photo|picture/i.test(reply),
    reason: 'Did not ask for a photo of the damaged item.',
    evidence: /\b(did not|didn't|never|no) ask(ed)? for a (photo|picture)|\bno (photo|picture) (was )?requested/i,
  },
  {
    id: 'account',
    sentence: "Never ask for a customer's password; send a reset link instead.",
    named: /password/i,
    applies: (query) => /log in|password|account/i.test(query),
    kept: (reply) => !/your password/i.test(reply),
    reason: "Asked for the customer's password.",
    evidence: /\basked for (the customer's |their |the |a )?password|\brequests? (the |their )?password/i,
  },
  {
    id: 'angry',
    sentence: 'When the customer is upset, apologize first.',
    named: /apologi[sz]e|say sorry/i,
    applies: (query) => angry.test(query),
    kept: (reply) => /^[^.!?]*(sorry|apologi)/i.test(reply),
    reason: 'Did not apologize first to an upset customer.',
    evidence: /\b(did not|didn't|never|no|without)( an)? apolog/i,
  },
]

/** The spec's seed instruction. */
export const SEED = 'Reply politely to the customer.'
export const CEILING_INSTRUCTION = [SEED, ...RULES.slice(1).map((rule) => rule.sentence)].join(' ')
/** Share of replies in which the student breaks a rule its instruction names (never the greeting). */
export const SLIP_RATE = 0.09

const byId = (id: string): HouseRule => RULES.find((rule) => rule.id === id)!

/** The student's reply under an instruction: what it does for each rule, named or not. */
export function studentReply(query: string, instruction: string): string {
  const named = namedRules(RULES, instruction)
  const follows = (id: string) => named.has(id) && (id === 'greet' || fractionOf(['slip', id, query]) >= SLIP_RATE)
  const applies = (id: string) => byId(id).applies(query)
  const parts: string[] = []
  if (applies('angry') && follows('angry')) parts.push('I am so sorry for the trouble.')
  parts.push(follows('greet') ? 'Hello, and thank you for contacting us.' : 'Hi.')
  const topics: [string, string, string][] = [
    ['refund', 'We can offer you store credit for the full amount.', 'We will refund you in full right away.'],
    ['late', 'You can follow your parcel at https://shop.example/track.', 'Your parcel should arrive soon.'],
    ['damaged', 'Could you send us a photo of the damage?', 'We will look into the damage.'],
    ['account', 'We have sent you a secure link to reset your access.', 'Please reply with your password so we can check your account.'],
  ]
  const relevant = topics.filter(([id]) => applies(id))
  for (const [id, kept, broken] of relevant) parts.push(follows(id) ? kept : broken)
  if (relevant.length === 0) parts.push('Let us know if there is anything else we can do.')
  parts.push(follows('signoff') ? '— The Support Team' : 'Best regards.')
  return parts.join(' ')
}

/** The rules that apply to a query and the ones a reply breaks. */
export function verdict(query: string, reply: string): { score: number; broken: HouseRule[] } {
  const applicable = RULES.filter((rule) => rule.applies(query))
  const broken = applicable.filter((rule) => !rule.kept(reply))
  return { score: (applicable.length - broken.length) / applicable.length, broken }
}

/** The judge's reasons: each broken rule in plain words. */
export const reasonsOf = (broken: readonly HouseRule[]): string =>
  broken.length === 0 ? 'Meets every house rule.' : broken.map((rule) => rule.reason).join(' ')

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

const items = ['lamp', 'kettle', 'backpack', 'desk chair', 'headphones', 'blender', 'rug', 'phone case']
const topicSentences: Record<string, string[]> = {
  refund: ['I would like a refund for my {item}.', 'Can I get my money back for the {item}?', 'Please refund order #{n}, I changed my mind.'],
  late: ["My order #{n} still hasn't arrived.", 'Where is my {item}? It was due last week.', 'The delivery of my {item} is late.'],
  damaged: ['The {item} arrived broken.', 'My {item} came damaged in the box.', 'The base of my {item} is cracked.'],
  account: ['I cannot log in to my account.', 'I forgot my password and the reset email never came.', 'My account is locked after too many attempts.'],
  none: ['Do you ship to Canada?', 'What are your opening hours?', 'Can I change the colour of my {item} order?', 'Do you sell gift cards?'],
}
const outbursts = ['This is unacceptable!', 'I am furious.', 'Worst service ever!!', 'This is ridiculous.']

/** Queries in one seeded order: 0–2 topics (mostly 1–2), every third or so upset. */
function makeQueries(count: number): string[] {
  const random = seededRandom(20240601)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const fill = (sentence: string) => sentence.replace('{item}', pick(items)).replace('{n}', String(10000 + Math.floor(random() * 90000)))
  return distinct(count, () => {
    const roll = random()
    const topicCount = roll < 0.12 ? 0 : roll < 0.55 ? 1 : 2
    const topics = ['refund', 'late', 'damaged', 'account'].sort(() => random() - 0.5).slice(0, topicCount)
    const sentences = (topics.length === 0 ? ['none'] : topics).map((topic) => fill(pick(topicSentences[topic]!)))
    if (random() < 0.35) sentences.unshift(pick(outbursts))
    return sentences.join(' ')
  })
}

const queries = makeQueries(16 + 60 + 80)
const asQuery = (customer_query: string): Query => ({ customer_query })
export const CASES: readonly Query[] = queries.slice(0, 16).map(asQuery)
export const HIDDEN: readonly Query[] = queries.slice(16, 76).map(asQuery)
export const POOL: readonly Query[] = queries.slice(76).map(asQuery)
export const EVALUATION_SET: readonly Query[] = [...CASES, ...HIDDEN]

export function trueQuality(instruction: string): number {
  return mean(EVALUATION_SET.map(({ customer_query }) => verdict(customer_query, studentReply(customer_query, instruction)).score))
}

export const SEED_QUALITY = trueQuality(SEED)
export const CEILING = trueQuality(CEILING_INSTRUCTION)

// ---------------------------------------------------------------------------
// The scripted model
// ---------------------------------------------------------------------------

export const teaching: Teaching = {
  rules: RULES,
  evidenced: (text) => RULES.filter((rule) => rule.evidence.test(text)),
}

/** Share of judge scores that are off by 0.2. */
export const JUDGE_NOISE = 0.15

/** The query a judge call is about: its `task_input` (JSON), or the text of the whole input. */
function judgedQuery(call: ScriptedCall): string {
  const input = jsonInput(call.inputs.taskInput ?? call.inputs.task_input)
  if (input && typeof input === 'object' && 'customer_query' in input) return String(input.customer_query)
  return typeof input === 'string' ? input : ''
}

function judgedReply(call: ScriptedCall): string {
  const prediction = jsonInput(call.inputs.prediction)
  if (prediction && typeof prediction === 'object' && 'polite_reply' in prediction) return String(prediction.polite_reply)
  return typeof prediction === 'string' ? prediction : ''
}

/**
 * A judge that scores by the rules and names each broken rule, but whose score is off by 0.2 in
 * `JUDGE_NOISE` of its answers: decided by the seed, the request and how often that exact request
 * was seen, so asking twice can give two scores, as a judge sampled at a temperature does.
 */
function createJudge(seed: number) {
  const seen = new Map<string, number>()
  return (call: ScriptedCall) => {
    const request = `${call.system}\n${call.user}`
    const occurrence = seen.get(request) ?? 0
    seen.set(request, occurrence + 1)
    const query = judgedQuery(call)
    const { score, broken } = verdict(query, judgedReply(call))
    let noisy = score
    if (fractionOf(['noise', seed, request, occurrence]) < JUDGE_NOISE) {
      const up = score + 0.2 <= 1 && (score - 0.2 < 0 || fractionOf(['direction', seed, request, occurrence]) < 0.5)
      noisy = up ? score + 0.2 : score - 0.2
    }
    return { score: Number(noisy.toFixed(2)), reasons: reasonsOf(broken) }
  }
}

export function createScript(options: { seed?: number } = {}): Script {
  const judge = createJudge(options.seed ?? 1)
  let handedOut = 0
  return (call) => {
    if (call.outputs.includes('score') && call.outputs.includes('reasons')) return judge(call)
    const teacher = teacherReply(teaching, POOL, () => handedOut++, call, ({ customer_query }) => ({ polite_reply: studentReply(customer_query ?? '', CEILING_INSTRUCTION) }))
    if (teacher !== undefined) return teacher
    if (call.outputs.includes('polite_reply')) {
      const query = call.inputs.customer_query ?? ''
      // The teacher labels synthetic cases (and bootstraps demos) with a reply that keeps every rule.
      const instruction = call.model === STUDENT_MODEL ? instructionOf(call) : CEILING_INSTRUCTION
      return { polite_reply: studentReply(query, instruction) }
    }
    return defaultScript(call)
  }
}

export const RUBRIC = 'A polite, helpful reply that follows the house support rules.'

export function spec(options: { budget?: number; synthCount?: number } = {}) {
  return defineLearn<Query, Reply>({
    name: 'support-rules',
    program: ax('customer_query:string -> polite_reply:string'),
    instruction: SEED,
    cases: CASES.map((input) => ({ input })),
    judge: RUBRIC,
    optimize: { budget: options.budget ?? 20, ...(options.synthCount !== undefined ? { synthCount: options.synthCount } : {}) },
  })
}

export const supportRules: World<Query, Reply> = {
  name: 'support-rules',
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
