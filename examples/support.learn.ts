import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

// The seed's example: a support agent judged on politeness, accuracy and a concrete next step.
export default defineLearn({
  name: 'support-chat-v1',
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: 'Reply politely to the customer support message.',
  cases: [
    { input: { customer_query: 'Where is my order #12345?' } },
    { input: { customer_query: 'The lamp arrived broken.' }, criteria: 'apologizes and gives a next step' },
    { input: { customer_query: 'Cancel my order' }, criteria: 'confirms what will happen to the order' },
    { input: { customer_query: 'Can I get my money back for a late delivery?' }, criteria: 'does not promise a refund' },
    { input: { customer_query: 'How do I change my shipping address?' } },
  ],
  judge: 'Polite, accurate, concise; gives one concrete next step; never promises refunds.',
  threshold: 0.8,
  tolerance: 0.05,
  optimize: { budget: 40, synthCount: 50, useTraces: true, generateExamples: true },
})
