import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Builds dist/ from the current sources, so spawned Vitest runs test this code, not a stale build. */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url))
  try {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' })
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error)
    throw new Error(`building dist/ failed:\n${output}`)
  }
}
