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
  },
})
