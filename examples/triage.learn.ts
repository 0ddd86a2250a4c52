import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

// A classifier scored by a deterministic metric alone: no judge, no judge calls.
export default defineLearn({
  name: 'ticket-triage-v1',
  program: ax('ticket:string -> category:class "billing, shipping, technical, other"'),
  instruction: 'Route the support ticket to the team that can resolve it.',
  cases: [
    { id: 'double-charge', input: { ticket: 'I was charged twice for my subscription this month.' }, expected: { category: 'billing' } },
    { id: 'late-parcel', input: { ticket: 'My parcel has been stuck in transit for a week.' }, expected: { category: 'shipping' } },
    { id: 'app-crash', input: { ticket: 'The app crashes every time I open the settings page.' }, expected: { category: 'technical' } },
    { id: 'invoice-copy', input: { ticket: 'Please send me a copy of last month’s invoice.' }, expected: { category: 'billing' } },
    { id: 'wrong-address', input: { ticket: 'The courier delivered my package to the wrong address.' }, expected: { category: 'shipping' } },
    { id: 'password-reset', input: { ticket: 'The password reset email never arrives.' }, expected: { category: 'technical' } },
    { id: 'feedback', input: { ticket: 'Just wanted to say your team was great!' }, expected: { category: 'other' } },
    { id: 'refund-bug', input: { ticket: 'The refund button shows an error page.' }, expected: { category: 'technical' } },
  ],
  metric: ({ prediction, example }) => (prediction.category === example.category ? 1 : 0),
  threshold: 0.75,
})
