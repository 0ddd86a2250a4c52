// The model the committed recordings of examples/ were made with: a deterministic stand-in for
// an LLM, served by test/support/model-server.ts on 127.0.0.1 (`npm run examples:record`).
// It reads the prompt as a model would: the instruction, the input fields, the output wire keys.
import type { Script, ScriptedCall } from '../test/support/model-server.js'
import { defaultScript, instructionOf, jsonInput } from '../test/support/model-server.js'

function support(call: ScriptedCall): Record<string, string> {
  const query = call.inputs.customer_query ?? ''
  const instruction = instructionOf(call).toLowerCase()
  const parts = [`Thank you for contacting us about "${query}".`]
  const order = /#(\d+)/.exec(query)?.[1]
  if (/broken|damaged/i.test(query)) parts.push('I am sorry it arrived damaged.')
  if (/money back|refund/i.test(query) && !instruction.includes('refund')) parts.push('We will refund you in full right away.')
  if (order) parts.push(`Order #${order} left our warehouse yesterday; you can track it from the Orders page.`)
  else if (/cancel/i.test(query)) parts.push('Your order will be cancelled before it ships; you can confirm it from the Orders page.')
  else if (/address/i.test(query)) parts.push('You can change it under Account > Addresses until the order ships.')
  else if (instruction.includes('next step') || /broken/i.test(query)) parts.push('Please reply with a photo and we will send a replacement.')
  return { polite_reply: parts.join(' ') }
}

function triage(call: ScriptedCall): Record<string, string> {
  const ticket = (call.inputs.ticket ?? '').toLowerCase()
  const rules: [RegExp, string][] = [
    [/charge|invoice|subscription|refund/, 'billing'],
    [/parcel|courier|transit|package|deliver/, 'shipping'],
    [/app|crash|password|error|email/, 'technical'],
  ]
  return { category: rules.find(([pattern]) => pattern.test(ticket))?.[1] ?? 'other' }
}

function extract(call: ScriptedCall): Record<string, string> {
  const email = call.inputs.email ?? ''
  const product =
    /\((?:a |an )?([^)]+)\)/.exec(email)?.[1] ?? /the ([a-z ]+?) I bought/.exec(email)?.[1] ?? /for an? ([a-z ]+?) came/.exec(email)?.[1] ?? ''
  return {
    customer_name: /([A-Z][a-z]+ [A-Z][a-z]+)/.exec(email)?.[1] ?? '',
    order_id: /order\s*#?\s*(\d+)/i.exec(email)?.[1] ?? '',
    product,
  }
}

function judge(call: ScriptedCall): Record<string, string | number> {
  const prediction = jsonInput(call.inputs.prediction) as Record<string, unknown>
  const reference = jsonInput(call.inputs.reference) as Record<string, unknown> | undefined
  const text = Object.values(prediction ?? {}).join(' ')
  // Extraction is judged field by field against its reference; replies against the rubric.
  const checks: [boolean, string][] = reference && !('polite_reply' in reference)
    ? Object.entries(reference).map(([field, value]) => [
        String(prediction?.[field] ?? '').toLowerCase() === String(value).toLowerCase(),
        `${field} should be "${String(value)}"`,
      ])
    : [
        [/thank|please|sorry|happy to help/i.test(text), 'not polite'],
        [/you can|please reply|next step|track it|confirm it/i.test(text), 'gives no concrete next step'],
        [!/we will refund|refund you|full refund/i.test(text), 'promises a refund'],
        [text.length <= 280, 'too long'],
        ...(/apolog/i.test(call.inputs.criteria ?? '') ? [[/sorry|apolog/i.test(text), 'does not apologize'] as [boolean, string]] : []),
      ]
  const failed = checks.filter(([ok]) => !ok).map(([, reason]) => reason)
  return {
    score: Number(((checks.length - failed.length) / checks.length).toFixed(2)),
    reasons: failed.length === 0 ? 'Meets every requirement.' : `Fails: ${failed.join('; ')}.`,
  }
}

// Optimizing the support example (`vitest-learn --optimize examples/support.learn.ts`) also needs
// the teacher's side: synthetic inputs, reference answers, and new instructions.
const queries = [
  'I want my money back for order #{n}.',
  'Order #{n} arrived with a missing part.',
  'Can you refund the shipping fee on order #{n}?',
  'My package for order #{n} never arrived.',
  'How long does a return take for order #{n}?',
]

function synthInputs(call: ScriptedCall): Record<string, unknown> {
  const count = Number(call.inputs.count ?? 5)
  const start = call.requestIndex * count
  return {
    examples: Array.from({ length: count }, (_, index) => ({
      customer_query: queries[(start + index) % queries.length]!.replace('{n}', String(20000 + start + index)),
    })),
  }
}

function reference(): Record<string, string> {
  return { polite_reply: `Thank you for writing to us; I am sorry for the trouble. You can reply with your order number and we will look into it today.` }
}

/** The teacher asked for a better instruction: adds a rule for each failure the prompt shows. */
function proposeInstruction(call: ScriptedCall): Record<string, string> {
  const current = call.inputs.current_instruction ?? ''
  const rules: [string, string][] = [
    ['gives no concrete next step', 'End every reply with one concrete next step.'],
    ['promises a refund', 'Never promise a refund; say what you will check instead.'],
  ]
  const added = rules.filter(([failure, rule]) => call.user.includes(failure) && !current.includes(rule)).map(([, rule]) => rule)
  return { new_instruction: [current, ...added].join(' ') }
}

// The order-status agent (agent.learn.ts): its distiller hands the question on, its executor writes
// code that looks the order up and cancels it when asked and still possible, its responder answers
// from what the code found.
const orderAgentCode = [
  'const orderId = inputs.question.match(/\\d+/)[0];',
  'const order = await utils.lookup_order({ order_id: orderId });',
  'const wantsCancel = /cancel/i.test(inputs.question);',
  "if (wantsCancel && order.status === 'processing') {",
  '  const cancellation = await utils.cancel_order({ order_id: orderId });',
  "  final('Confirm the cancellation', { orderId, order, cancellation });",
  '} else {',
  "  final(wantsCancel ? 'Explain why the order cannot be cancelled' : 'Report the order status', { orderId, order });",
  '}',
].join('\n')

interface OrderEvidence {
  orderId?: string
  order?: { status?: string; eta?: string; error?: string }
  cancellation?: { cancelled?: boolean }
}

function orderAnswer(call: ScriptedCall): Record<string, string> {
  const { task = '', evidence = {} } = jsonInput(call.inputs.contextData) as { task?: string; evidence?: OrderEvidence }
  const { orderId, order, cancellation } = evidence
  if (!order?.status) return { answer: `I could not find order ${orderId ?? ''}.` }
  if (cancellation?.cancelled) return { answer: `Order ${orderId} is cancelled; you will not be charged.` }
  const status = order.status === 'shipped' ? `has shipped and should arrive ${order.eta ?? 'soon'}` : order.status === 'delivered' ? 'was delivered' : 'is being prepared'
  return { answer: /cannot be cancelled/.test(task) ? `Order ${orderId} ${status}, so it can no longer be cancelled.` : `Order ${orderId} ${status}.` }
}

/** The judge of agent.learn.ts, which sees the tool calls: the answer must say what the lookup returned. */
function orderJudge(call: ScriptedCall): Record<string, string | number> {
  const answer = String((jsonInput(call.inputs.prediction) as { answer?: string } | undefined)?.answer ?? '')
  const { toolCalls = [] } = jsonInput(call.inputs.trajectory) as { toolCalls?: { name: string; result?: { status?: string; cancelled?: boolean } }[] }
  const status = toolCalls.find((tool) => tool.name === 'lookup_order')?.result?.status
  const cancelled = toolCalls.some((tool) => tool.name === 'cancel_order' && tool.result?.cancelled)
  const words: Record<string, RegExp> = { shipped: /shipped/, delivered: /delivered/, processing: /prepared|cancelled/ }
  const checks: [boolean, string][] = [
    [status !== undefined && words[status]!.test(answer), 'does not state the status the lookup returned'],
    [cancelled === /is cancelled/.test(answer), 'confirms a cancellation that did not happen'],
    [answer.split(/(?<=\.)\s/).length <= 2, 'is longer than two sentences'],
    ...(/cannot be cancelled/.test(call.inputs.criteria ?? '') ? [[/can no longer be cancelled/.test(answer), 'does not explain why it cannot be cancelled'] as [boolean, string]] : []),
  ]
  const failed = checks.filter(([ok]) => !ok).map(([, reason]) => reason)
  return {
    score: Number(((checks.length - failed.length) / checks.length).toFixed(2)),
    reasons: failed.length === 0 ? 'Matches the lookup and the rubric.' : `Fails: ${failed.join('; ')}.`,
  }
}

export const exampleScript: Script = (call) => {
  if (call.system.includes('## Distiller')) return { javascriptCode: "final('Answer the question about the order', { question: inputs.question })" }
  if (call.system.includes('## Executor')) return { javascriptCode: orderAgentCode }
  if (call.outputs.includes('score') && call.inputs.trajectory !== undefined) return orderJudge(call)
  if (call.outputs.includes('answer') && call.inputs.contextData !== undefined) return orderAnswer(call)
  if (call.outputs.includes('score') && call.outputs.includes('reasons')) return judge(call)
  if (call.outputs.includes('new_instruction')) return proposeInstruction(call)
  if (call.outputs.includes('examples')) return synthInputs(call)
  if (call.outputs.includes('polite_reply')) return call.model === 'gpt-4o' ? reference() : support(call)
  if (call.outputs.includes('category')) return triage(call)
  if (call.outputs.includes('order_id')) return extract(call)
  return defaultScript(call)
}
