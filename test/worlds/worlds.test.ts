import { ax, type AxAIService } from '@ax-llm/ax'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runJudge } from '../../src/judge.js'
import { resolveModel } from '../../src/models/index.js'
import { startModelServer, type ModelServer, type Script, type ScriptedCall } from '../support/model-server.js'
import { namedRules, reword, TEACHER_MODEL, worldModels } from './common.js'
import * as support from './support-rules.js'
import * as tickets from './ticket-priority.js'

/** The world's student and teacher through ax's openai provider, pointed at the model server. */
function services(server: ModelServer): { student: AxAIService; teacher: AxAIService } {
  const models = worldModels(server.url)
  return { student: resolveModel(models.student!, 'student').service, teacher: resolveModel(models.teacher!, 'teacher').service }
}

/** ax's own prompt for a teacher call, sent through the openai provider: what the script really receives. */
async function ask(teacher: AxAIService, signature: string, input: Record<string, unknown>, output: string): Promise<string> {
  const result = (await ax(signature).forward(teacher, input as never)) as Record<string, unknown>
  return String(result[output])
}

const proposerSignature = 'currentValue:string, feedbackSummary?:string -> newValue:string'

/** A ticket of the evaluation set under the rule `id` (or under none), urgent-sounding or not. */
const ticketOf = (id: string | undefined, urgent = false): string =>
  tickets.EVALUATION_SET.map(({ ticket }) => ticket).find(
    (ticket) => tickets.RULES.find((rule) => rule.trigger.test(ticket))?.id === id && /URGENT|ASAP/.test(ticket) === urgent,
  )!

describe('support-rules world', () => {
  let server: ModelServer
  let llm: ReturnType<typeof services>
  beforeAll(async () => {
    server = await startModelServer({ script: support.createScript({ seed: 1 }) })
    llm = services(server)
  })
  afterAll(() => server.close())

  it('has 16 cases, more hidden queries, a pool apart from both, and at least 6 rules the seed misses', () => {
    expect(support.CASES).toHaveLength(16)
    expect(support.spec().cases).toHaveLength(16)
    expect(support.HIDDEN.length).toBeGreaterThanOrEqual(60)
    const evaluated = new Set(support.EVALUATION_SET.map((query) => query.customer_query))
    expect(evaluated.size).toBe(support.EVALUATION_SET.length)
    expect(support.POOL.filter((query) => evaluated.has(query.customer_query))).toEqual([])
    const missed = support.RULES.filter((rule) => !namedRules(support.RULES, support.SEED).has(rule.id))
    expect(missed.length).toBeGreaterThanOrEqual(6)
    // Rules overlap: some queries fall under three or more (the greeting and sign-off apply to all).
    const counts = support.EVALUATION_SET.map((query) => support.RULES.filter((rule) => rule.applies(query.customer_query)).length)
    expect(counts.filter((count) => count >= 4).length).toBeGreaterThan(10)
    expect(counts.filter((count) => count === 3).length).toBeGreaterThan(10)
  })

  it('scores the seed about 0.25 and its ceiling about 0.92, and every rule adds to it', () => {
    expect(support.SEED_QUALITY).toBeCloseTo(0.27, 1)
    expect(support.CEILING).toBeCloseTo(0.92, 2)
    expect(support.trueQuality(support.CEILING_INSTRUCTION)).toBe(support.CEILING)
    let instruction = support.SEED
    for (const rule of support.RULES.slice(1)) {
      const before = support.trueQuality(instruction)
      instruction = `${instruction} ${rule.sentence}`
      expect(support.trueQuality(instruction), rule.id).toBeGreaterThan(before + 0.03)
    }
    expect(support.trueQuality(reword(support.SEED))).toBe(support.SEED_QUALITY)
  })

  it('the student keeps a rule only when its instruction names it, and slips on about 9% of replies', () => {
    for (const rule of support.RULES.slice(1)) {
      const instruction = `${support.SEED} ${rule.sentence}`
      expect([...namedRules(support.RULES, instruction)].sort()).toEqual(['greet', rule.id].sort())
      let kept = 0
      let applicable = 0
      for (const { customer_query: query } of support.EVALUATION_SET) {
        const { broken } = support.verdict(query, support.studentReply(query, instruction))
        const brokenIds = broken.map((item) => item.id)
        const others = support.RULES.filter((other) => other.id !== rule.id && other.id !== 'greet' && other.applies(query))
        expect(brokenIds, query).toEqual(expect.arrayContaining(others.map((other) => other.id)))
        expect(brokenIds, query).not.toContain('greet')
        if (rule.applies(query)) {
          applicable++
          if (!brokenIds.includes(rule.id)) kept++
        }
      }
      expect(kept / applicable, rule.id).toBeGreaterThan(0.75)
    }
    const pairs = support.EVALUATION_SET.flatMap(({ customer_query: query }) =>
      support.RULES.slice(1).filter((rule) => rule.applies(query)).map((rule) => ({ query, rule })),
    )
    const slips = pairs.filter(({ query, rule }) => support.verdict(query, support.studentReply(query, support.CEILING_INSTRUCTION)).broken.includes(rule))
    expect(slips.length / pairs.length).toBeGreaterThan(0.04)
    expect(slips.length / pairs.length).toBeLessThan(0.15)
  })

  it('recognizes rules in other words', () => {
    const paraphrases: [string, string][] = [
      ['Offer store credit rather than refunds.', 'refund'],
      ['Always include a link to the tracking page when a parcel is late.', 'late'],
      ['If something broke, request a picture.', 'damaged'],
      ['Do not request passwords.', 'account'],
      ['Apologise first when a customer is angry.', 'angry'],
      ['End with a sign-off from the support team.', 'signoff'],
    ]
    for (const [instruction, id] of paraphrases) expect([...namedRules(support.RULES, instruction)]).toEqual([id])
  })

  it('answers through the openai provider: the student as the rules say, the judge with a score and the broken rules', async () => {
    const instruction = `${support.SEED} ${support.RULES[2]!.sentence}`
    const query = support.CASES.map(({ customer_query }) => customer_query).find((text) => /refund/i.test(text) && support.studentReply(text, instruction).includes('store credit'))!
    const program = ax('customer_query:string -> polite_reply:string')
    program.setInstruction(instruction)
    const { polite_reply: reply } = await program.forward(llm.student, { customer_query: query })
    expect(reply).toBe(support.studentReply(query, instruction))
    expect(reply).toContain('store credit')

    const seedReply = support.studentReply(query, support.SEED)
    const verdict = await runJudge(llm.teacher, { rubric: support.RUBRIC, input: { customer_query: query }, prediction: { polite_reply: seedReply } })
    const exact = support.verdict(query, seedReply)
    expect(Math.abs(verdict.score - exact.score) === 0 || Math.abs(Math.abs(verdict.score - exact.score) - 0.2) < 1e-9).toBe(true)
    expect(verdict.reasons).toBe(support.reasonsOf(exact.broken))
    expect(verdict.reasons).toContain('Promised a refund; the house offers store credit.')
  })

  it('the proposer adds the first evidenced rule the instruction lacks, one per call', async () => {
    const reasons = support.reasonsOf([support.RULES[5]!, support.RULES[2]!, support.RULES[1]!]) // account, refund, sign-off
    const first = await ask(llm.teacher, proposerSignature, { currentValue: support.SEED, feedbackSummary: reasons }, 'newValue')
    expect(first).toBe(`${support.SEED} ${support.RULES[1]!.sentence}`)
    const second = await ask(llm.teacher, proposerSignature, { currentValue: first, feedbackSummary: reasons }, 'newValue')
    expect(second).toBe(`${first} ${support.RULES[2]!.sentence}`)
    const third = await ask(llm.teacher, proposerSignature, { currentValue: second, feedbackSummary: `Feedback: the reply ${'asked for their password'}.` }, 'newValue')
    expect([...namedRules(support.RULES, third)].sort()).toEqual(['account', 'greet', 'refund', 'signoff'])
    // Other field names work too, as long as an output names an instruction and an input is "current".
    const renamed = await ask(llm.teacher, 'currentInstruction:string, failures:string -> newInstruction:string', { currentInstruction: support.SEED, failures: 'Did not apologize to the upset customer.' }, 'newInstruction')
    expect(renamed).toBe(`${support.SEED} ${support.RULES[6]!.sentence}`)
    const plain = await ask(llm.teacher, 'instruction:string, feedback:string -> improvedInstruction:string', { instruction: support.SEED, feedback: 'No photo was requested.' }, 'improvedInstruction')
    expect(plain).toBe(`${support.SEED} ${support.RULES[4]!.sentence}`)
  })

  it('the proposer only rewords when the text carries no evidence', async () => {
    const proposed = await ask(llm.teacher, proposerSignature, { currentValue: support.SEED, feedbackSummary: 'Some replies were weak.' }, 'newValue')
    expect(proposed).not.toBe(support.SEED)
    expect(namedRules(support.RULES, proposed)).toEqual(namedRules(support.RULES, support.SEED))
    expect(support.trueQuality(proposed)).toBe(support.SEED_QUALITY)
    // The rule sentences themselves, and replies that break rules, are no evidence: only the judge's words are.
    const current = support.CEILING_INSTRUCTION.replace(` ${support.RULES[6]!.sentence}`, '')
    const repeated = await ask(llm.teacher, proposerSignature, { currentValue: current, feedbackSummary: `Replies said: ${support.studentReply(support.CASES[5]!.customer_query, support.SEED)}` }, 'newValue')
    expect(namedRules(support.RULES, repeated)).toEqual(namedRules(support.RULES, current))
  })
})

describe('support-rules judge noise', () => {
  const judgeCall = (query: string, reply: string, salt = ''): ScriptedCall => {
    const inputs = { task_input: JSON.stringify({ customer_query: query }), prediction: JSON.stringify({ polite_reply: reply }), rubric: support.RUBRIC }
    const user = `Task input: ${inputs.task_input}\n\nPrediction: ${inputs.prediction}\n\nRubric: ${support.RUBRIC}${salt}`
    const system = 'Grade the prediction. (wire key: `score`) (wire key: `reasons`)'
    return { model: TEACHER_MODEL, stream: false, messages: [{ role: 'system', content: system }, { role: 'user', content: user }], tools: [], toolResults: [], system, user, outputs: ['score', 'reasons'], inputs, requestIndex: 0, body: {} }
  }
  const scores = (script: Script, calls: ScriptedCall[]) => calls.map((call) => (script(call) as { score: number }).score)
  const calls = support.EVALUATION_SET.flatMap(({ customer_query: query }) =>
    [support.SEED, support.CEILING_INSTRUCTION].flatMap((instruction) =>
      Array.from({ length: 10 }, (_, round) => judgeCall(query, support.studentReply(query, instruction), round === 0 ? '' : ` (round ${round})`)),
    ),
  )
  const exact = calls.map((call) => {
    const query = (JSON.parse(call.inputs.task_input!) as support.Query).customer_query
    return support.verdict(query, (JSON.parse(call.inputs.prediction!) as support.Reply).polite_reply).score
  })

  it('is off by exactly 0.2 on about 15% of its scores, and right on the rest', () => {
    const noisy = scores(support.createScript({ seed: 7 }), calls)
    const off = noisy.map((score, index) => Math.round(Math.abs(score - exact[index]!) * 100) / 100)
    expect(new Set(off)).toEqual(new Set([0, 0.2]))
    const rate = off.filter((delta) => delta > 0).length / off.length
    expect(rate).toBeGreaterThan(0.12)
    expect(rate).toBeLessThan(0.18)
  })

  it('is the same for the same seed, differs for another, and can differ when one request repeats', () => {
    expect(scores(support.createScript({ seed: 7 }), calls)).toEqual(scores(support.createScript({ seed: 7 }), calls))
    expect(scores(support.createScript({ seed: 8 }), calls)).not.toEqual(scores(support.createScript({ seed: 7 }), calls))
    const query = support.CASES[0]!.customer_query
    const repeated = Array.from({ length: 40 }, () => judgeCall(query, support.studentReply(query, support.SEED)))
    expect(new Set(scores(support.createScript({ seed: 7 }), repeated)).size).toBeGreaterThan(1)
  })
})

describe('ticket-priority world', () => {
  let server: ModelServer
  let llm: ReturnType<typeof services>
  beforeAll(async () => {
    server = await startModelServer({ script: tickets.createScript() })
    llm = services(server)
  })
  afterAll(() => server.close())

  it('has 16 cases with expected labels, at least 5 rules, a seed about 40% right and a ceiling about 95%', () => {
    const spec = tickets.spec()
    expect(spec.cases).toHaveLength(16)
    expect(spec.cases.every((item) => item.expected?.priority === tickets.truePriority(item.input.ticket))).toBe(true)
    expect(spec.judge).toBeUndefined()
    expect(tickets.RULES.length).toBeGreaterThanOrEqual(5)
    expect(tickets.SEED_QUALITY).toBeCloseTo(0.38, 2)
    expect(tickets.CEILING).toBeCloseTo(0.947, 2)
    let instruction = tickets.SEED
    for (const rule of tickets.RULES) {
      const before = tickets.trueQuality(instruction)
      instruction = `${instruction} ${rule.sentence}`
      expect(tickets.trueQuality(instruction), rule.id).toBeGreaterThan(before + 0.05)
    }
    expect(tickets.trueQuality(instruction)).toBe(tickets.CEILING)
  })

  it('the student applies only the rules its instruction names, and otherwise goes by urgency', () => {
    for (const rule of tickets.RULES) {
      const instruction = `${tickets.SEED} ${rule.sentence}`
      expect([...namedRules(tickets.RULES, instruction)]).toEqual([rule.id])
      for (const { ticket } of tickets.EVALUATION_SET) {
        const expected = rule.trigger.test(ticket) ? rule.label : /URGENT|ASAP/.test(ticket) ? 'high' : 'normal'
        expect(tickets.studentPriority(ticket, instruction), ticket).toBe(expected)
      }
    }
  })

  it('answers through the openai provider: the student as its rules say, the teacher the right label', async () => {
    const ticket = ticketOf('outage')
    const program = ax('ticket:string -> priority:class "high, normal, low"')
    program.setInstruction(tickets.SEED)
    expect((await program.forward(llm.student, { ticket })).priority).toBe('normal')
    program.setInstruction(tickets.CEILING_INSTRUCTION)
    expect((await program.forward(llm.student, { ticket })).priority).toBe('high')
    program.setInstruction(tickets.SEED)
    expect((await program.forward(llm.teacher, { ticket })).priority).toBe('high')
  })

  it('the proposer adds a rule only for a failing ticket stated with its right label', async () => {
    const outage = ticketOf('outage')
    const feature = ticketOf('feature', true)
    const propose = (feedbackSummary: string, currentValue = tickets.SEED) => ask(llm.teacher, proposerSignature, { currentValue, feedbackSummary }, 'newValue')

    const first = await propose(`- ${feature}: expected low, got high\n- ${outage}: expected high, got normal`)
    expect(first).toBe(`${tickets.SEED} ${tickets.RULES[0]!.sentence}`)
    const second = await propose(`- ${feature}: expected low, got high\n- ${outage}: expected high, got normal`, first)
    expect([...namedRules(tickets.RULES, second)]).toEqual(['outage', 'feature'])
    // JSON records work as well.
    const json = await propose(JSON.stringify([{ ticket: ticketOf('billing', true), expected: { priority: 'normal' }, got: 'high' }], null, 2))
    expect([...namedRules(tickets.RULES, json)]).toEqual(['billing'])

    for (const summary of [
      'Some replies were weak.',
      `- ${outage}: score 0\n- ${feature}: score 0`, // a bare score says nothing about the right label
      `- ${outage}: expected low, got normal`, // a label that is not this ticket's rule's
      `- ${ticketOf(undefined, true)}: expected normal, got high`, // a ticket no rule covers
    ]) {
      const proposed = await propose(summary)
      expect(namedRules(tickets.RULES, proposed), summary).toEqual(new Set())
      expect(proposed).toBe(reword(tickets.SEED))
    }
  })
})

describe("the teacher's other calls", () => {
  let server: ModelServer
  let llm: ReturnType<typeof services>
  beforeAll(async () => {
    server = await startModelServer({ script: tickets.createScript() })
    llm = services(server)
  })
  afterAll(() => server.close())

  const critic = 'targetId:string, minibatch:json, evalFeedback?:string[] -> feedbackSummary:string'
  const minibatch = tickets.CASES.slice(0, 3).map(({ ticket }) => ({ input: { ticket }, prediction: { priority: 'normal' }, score: 0 }))

  it("GEPA's feedback summary keeps feedback that names the problem, next to its input, and says nothing concrete otherwise", async () => {
    const feedback = minibatch.map(({ input }) => (tickets.truePriority(input.ticket) === 'normal' ? 'correct' : `expected ${tickets.truePriority(input.ticket)}, got normal`))
    const summary = await ask(llm.teacher, critic, { targetId: 'root::instruction', minibatch, evalFeedback: feedback }, 'feedbackSummary')
    const evidenced = tickets.teaching.evidenced(summary).map((rule) => rule.id)
    const expectedRules = tickets.RULES.filter((rule) => rule.label !== 'normal' && minibatch.some(({ input }) => rule.trigger.test(input.ticket)))
    expect(evidenced).toEqual(expectedRules.map((rule) => rule.id))
    expect(evidenced.length).toBeGreaterThan(0)
    const bare = await ask(llm.teacher, critic, { targetId: 'root::instruction', minibatch, evalFeedback: ['score 0.00: metric 0.00', 'score 0.00: metric 0.00', 'score 0.00: metric 0.00'] }, 'feedbackSummary')
    expect(bare).toBe('Some replies were weak.')
  })

  it('merges two instructions, answers the plain-chat reflection prompt, and hands out numbered pool inputs', async () => {
    const sentence = (id: string) => tickets.RULES.find((rule) => rule.id === id)!.sentence
    const [outage, security, billing] = [sentence('outage'), sentence('security'), sentence('billing')]
    const merged = await ask(llm.teacher, 'instructionA:string, instructionB:string -> mergedInstruction:string', { instructionA: `Route. ${outage}`, instructionB: `Route. ${security} ${outage}` }, 'mergedInstruction')
    expect(merged).toBe(`Route. ${outage} ${security}`)

    const prompt = `I provided an assistant with the following instructions to perform a task for me:\n\`\`\`\n${tickets.SEED}\n\`\`\`\n\nThe following are examples...\n\`\`\`\n### ticket\n${ticketOf('billing', true)}\n## Feedback\nexpected normal, got high\n\`\`\``
    const response = await llm.teacher.chat({ chatPrompt: [{ role: 'user', content: prompt }] }, { stream: false })
    const content = 'results' in response ? response.results[0]?.content : undefined
    expect(content).toBe(`\`\`\`\n${tickets.SEED} ${billing}\n\`\`\``)

    const generate = () => ax('count:number -> examples:json').forward(llm.teacher, { count: 3 })
    const [first, second] = [await generate(), await generate()]
    expect([...(first.examples as unknown[]), ...(second.examples as unknown[])]).toEqual(tickets.POOL.slice(0, 6))
  })
})
