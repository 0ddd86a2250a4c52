import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

const fields = ['customer_name', 'order_id', 'product'] as const

// Extraction against expected outputs: a field-level metric, joined by a judge that reads the reference.
export default defineLearn({
  name: 'order-extract-v1',
  program: ax('email:string -> customer_name:string, order_id:string, product:string'),
  instruction: 'Extract the customer name, the order id (digits only) and the product from the email.',
  cases: [
    {
      input: { email: 'Hi, this is Maria Lopez. Order 88412 (a standing desk) has not arrived.' },
      expected: { customer_name: 'Maria Lopez', order_id: '88412', product: 'standing desk' },
    },
    {
      input: { email: 'Order #10233: the blender I bought is leaking. - Tom Becker' },
      expected: { customer_name: 'Tom Becker', order_id: '10233', product: 'blender' },
    },
    {
      input: { email: 'Hello, Aiko Tanaka here; my order 55190 for a wool scarf came in the wrong colour.' },
      expected: { customer_name: 'Aiko Tanaka', order_id: '55190', product: 'wool scarf' },
    },
  ],
  metric: ({ prediction, example }) =>
    fields.filter((field) => String(prediction[field] ?? '').trim().toLowerCase() === String(example[field] ?? '').toLowerCase()).length /
    fields.length,
  judge: 'Every field matches the reference exactly; the order id has digits only; nothing is invented.',
  threshold: 0.8,
})
