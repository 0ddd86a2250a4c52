import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// The project's own tests. Integration tests spawn real Vitest runs of the built package (dist/),
// so global-setup builds it first.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // At least two files at once: most of them wait on child Vitest runs and model servers, and
    // Vitest's default (one less than the cores) runs them one after another on a 2-core CI machine.
    maxWorkers: Math.max(availableParallelism() - 1, 2),
  },
})
