import { agent, type AxFunction } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

// An order-status agent with two tools: a lookup and an action. Their results are recorded in
// snapshots/order-status-agent/tape.json beside the model call that asked for them, so replays
// (and CI) never call the order system. The orders below stand in for it.
const orders: Record<string, { status: 'processing' | 'shipped' | 'delivered'; eta?: string }> = {
  '1042': { status: 'shipped', eta: 'Friday' },
  '2077': { status: 'processing' },
  '3150': { status: 'delivered' },
}

const lookupOrder: AxFunction = {
  name: 'lookup_order',
  description: 'Looks up an order by its number and returns its status (processing, shipped or delivered) and delivery estimate.',
  parameters: { type: 'object', properties: { order_id: { type: 'string', description: 'The order number, digits only' } }, required: ['order_id'] },
  func: async ({ order_id }: { order_id: string }) => orders[order_id] ?? { error: `no order ${order_id}` },
}

const cancelOrder: AxFunction = {
  name: 'cancel_order',
  description: 'Cancels an order. Only an order still processing can be cancelled.',
  parameters: { type: 'object', properties: { order_id: { type: 'string', description: 'The order number, digits only' } }, required: ['order_id'] },
  func: async ({ order_id }: { order_id: string }) => ({ order_id, cancelled: orders[order_id]?.status === 'processing' }),
}

export default defineLearn({
  name: 'order-status-agent',
  program: agent('question:string -> answer:string', { functions: [lookupOrder, cancelOrder], contextFields: [] }),
  instruction: 'Look the order up before answering. Cancel it only when the customer asks and it is still processing.',
  cases: [
    { id: 'shipped', input: { question: 'Where is my order 1042?' } },
    { id: 'delivered', input: { question: 'Has order 3150 arrived yet?' } },
    { id: 'cancel', input: { question: 'Please cancel order 2077.' } },
    { id: 'too-late', input: { question: 'Cancel order 1042, I changed my mind.' }, criteria: 'explains that a shipped order cannot be cancelled' },
  ],
  // The judge reads the tool calls too: an answer must match what the lookup returned.
  judge: { rubric: 'States the status the lookup returned; confirms a cancellation only if cancel_order succeeded; one or two sentences.', trajectory: true },
  // Right tools, right arguments: always look the order up first; cancel only an order still processing.
  metric: ({ example, trajectory }) => {
    const [lookup, ...rest] = trajectory.toolCalls
    const orderId = /\d+/.exec(example.question)?.[0]
    if (lookup?.name !== 'lookup_order' || lookup.arguments.order_id !== orderId) return { score: 0, reason: 'Did not look the order up first.' }
    const cancellable = /cancel/i.test(example.question) && (lookup.result as { status?: string } | undefined)?.status === 'processing'
    const cancelled = rest.some((call) => call.name === 'cancel_order')
    if (cancelled !== cancellable) return { score: 0, reason: cancellable ? 'Did not cancel an order the customer asked to cancel.' : 'Cancelled an order it should not have.' }
    return 1
  },
  threshold: 0.8,
})
