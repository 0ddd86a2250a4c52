import { afterAll, expect, it } from 'vitest'
import { createProject, type TempProject } from './support/project.js'

let project: TempProject | undefined
afterAll(() => project?.remove())

it('runs a spec in one project only when projects inherit the plugin (extends: true)', async () => {
  project = await createProject({
    'vitest.config.ts': `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'
export default defineConfig({
  plugins: [learn({ student: { name: 'openai', config: { model: 'gpt-4o-mini' } } })],
  test: { projects: [{ extends: true, test: { name: 'unit' } }, { extends: true, test: { name: 'other' } }] },
})
`,
    'a.learn.ts': `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'
export default defineLearn({ name: 'a', program: ax('question:string -> answer:string'), instruction: 'Answer.', cases: [{ input: { question: 'x' } }], metric: () => 1 })
`,
    'x.test.ts': "import { test } from 'vitest'\ntest('plain', () => {})\n",
  })
  const run = await project.vitest([], { ci: true })
  expect(run.output.match(/a\.learn\.ts \(/g)).toHaveLength(1)
  expect(run.output.match(/x\.test\.ts \(/g)).toHaveLength(2)
})
