import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import learn from './dist/plugin/index.js'

// The examples' models. With LEARN_SCRIPTED_MODEL=1 they are served by the project's scripted
// model server on 127.0.0.1 (how the committed recordings were made); otherwise by OpenAI, or by
// any OpenAI-compatible server (e.g. Ollama) at LEARN_API_URL.
let apiURL = process.env.LEARN_API_URL
let apiKey = process.env.OPENAI_APIKEY
if (process.env.LEARN_SCRIPTED_MODEL === '1') {
  const { startModelServer } = await import('./test/support/model-server.js')
  const { exampleScript } = await import('./examples/scripted-model.js')
  apiURL = (await startModelServer({ script: exampleScript })).url
  apiKey = 'scripted-model-key'
}
const model = (name: string) => ({ name: 'openai' as const, apiKey, ...(apiURL ? { apiURL } : {}), config: { model: name } })

export default defineConfig({
  resolve: { alias: { 'vitest-learn': fileURLToPath(new URL('./dist/src/index.js', import.meta.url)) } },
  plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o') })],
  test: { include: ['examples/**/*.test.ts'] },
})
