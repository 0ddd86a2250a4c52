// A production process for the kill trials, to be killed at any moment:
//   node trace-writer.mjs <storage url> <name> <secret> [rounds]
// An AxLearn agent (the built package, as an app runs it) answers forever, or for `rounds`
// rounds: each round it logs a few traces, adds feedback to an earlier one (the files store then
// rewrites traces.jsonl) and, every third round, saves a checkpoint. Once a save is acknowledged
// (its flush or save resolved) it prints `acked trace <id>`, `acked feedback <id> <score>` or
// `acked checkpoint <version>`: each of those must survive the kill.
import { ax, AxMockAIService } from '@ax-llm/ax'
import { AxLearn, createStorage } from '../../../dist/src/index.js'

const [url, name, secret, roundsText] = process.argv.slice(2)
if (!url || !name || !secret) throw new Error('usage: trace-writer.mjs <storage url> <name> <secret> [rounds]')
const rounds = roundsText === undefined ? Infinity : Number(roundsText)

const storage = createStorage(url)
// The provider echoes the key, as some do in their errors: it must not reach the store.
const service = new AxMockAIService({ chatResponse: { results: [{ index: 0, content: `Answer: echo ${secret}` }] } })
const agent = new AxLearn(ax('question:string -> answer:string'), { name, storage, secrets: [secret], onError: (error) => console.error(String(error)) })
const acked = []
const [latest] = await storage.load(name, { type: 'checkpoint', limit: 1 })
let version = latest?.version ?? 0

console.log('ready')
for (let round = 0; round < rounds; round++) {
  const ids = []
  for (let i = 0; i < 4; i++) {
    await agent.forward(service, { question: `question ${round}.${i} ${'x'.repeat(200)}` })
    const [trace] = await agent.getTraces({ limit: 1 })
    ids.push(trace.id)
  }
  for (const id of ids) console.log(`acked trace ${id}`)
  acked.push(...ids)
  const earlier = acked[(round * 7) % acked.length]
  await agent.addFeedback(earlier, { score: round % 2, comment: `round ${round}` })
  console.log(`acked feedback ${earlier} ${round % 2}`)
  if (round % 3 === 2) {
    version++
    await storage.save(name, { type: 'checkpoint', name, version, createdAt: new Date(), instruction: `Answer, version ${version}.`, score: 0.5 })
    console.log(`acked checkpoint ${version}`)
  }
}
await storage.close()
