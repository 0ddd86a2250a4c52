// A child process for the concurrent-writers test:
//   node --import ./register-ts.mjs file-writer.ts <dir> <name> <prefix> <count>
// Saves <count> traces to one AxFileStorage folder (some one by one, some in batches), then
// adds feedback to every third one, which rewrites traces.jsonl while other processes append.
import { AxFileStorage } from '../../../src/storage/index.js'
import { makeTrace } from './traces.js'

const [dir, name, prefix, countText] = process.argv.slice(2)
if (!dir || !name || !prefix || !countText) throw new Error('usage: file-writer.ts <dir> <name> <prefix> <count>')
const count = Number(countText)
const storage = new AxFileStorage({ dir })
const traces = Array.from({ length: count }, (_, i) =>
  makeTrace(`${prefix}-${i}`, { name, startTime: new Date(Date.UTC(2024, 0, 1) + i) }),
)

for (let i = 0; i < count; i += 10) {
  if (i % 20 === 0) for (const trace of traces.slice(i, i + 10)) await storage.save(name, trace)
  else await Promise.all(traces.slice(i, i + 10).map((trace) => storage.save(name, trace)))
}
await Promise.all(
  traces.filter((_, i) => i % 3 === 0).map((trace) => storage.save(name, { ...trace, feedback: { score: 1, label: prefix } })),
)
await storage.close()
