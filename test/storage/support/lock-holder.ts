// A child process for the lock tests:
//   node --import ./register-ts.mjs lock-holder.ts <lock file>
// Takes the files store's lock, says "locked" on stdout, and holds it until it is killed.
import { withFileLock } from '../../../src/storage/lock.js'

const [path] = process.argv.slice(2)
if (!path) throw new Error('usage: lock-holder.ts <lock file>')
await withFileLock(path, async () => {
  process.stdout.write('locked\n')
  await new Promise(() => setInterval(() => {}, 60_000)) // keeps the process alive until it is killed
})
