import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * Builds dist/ from the current sources, so spawned Vitest runs test this code, not a stale build.
 * Type errors are `npm run typecheck`'s business; tsc still emits, so only a missing output fails here.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url))
  try {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' })
  } catch (error) {
    if (!existsSync(`${root}dist/plugin/index.js`)) {
      const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error)
      throw new Error(`building dist/ failed:\n${output}`)
    }
  }
}
