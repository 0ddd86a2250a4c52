#!/usr/bin/env node
// `vitest-learn`: Vitest with two more flags. Vitest rejects unknown flags before any plugin loads,
// so this bin parses the command line itself and passes the rest through.
import { parseCLI, startVitest } from 'vitest/node'
import { learnEnv } from './mode.js'

const help = `vitest-learn [vitest flags and filters]

  --optimize   optimize the selected specs' prompts (GEPA, judged), writing a new checkpoint
               only when it beats the current one; then record the cases under it
  --accept     accept this run's scores as the new baseline of specs edited since their checkpoint

Every other flag and filter is Vitest's (see \`npx vitest --help\`), e.g.
  vitest-learn run                         replay and record what is missing
  vitest-learn run -u                      re-record everything
  vitest-learn --optimize examples/support.learn.ts
`

const argv = process.argv.slice(2)
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(help)
  process.exit(0)
}

// Taken out before Vitest parses the rest: it would read `--optimize file.learn.ts` as a value.
const ownFlags = ['--optimize', '--accept']
const optimize = argv.includes('--optimize')
const accept = argv.includes('--accept')
const { filter, options: vitestOptions } = parseCLI(['vitest', ...argv.filter((arg) => !ownFlags.includes(arg))])
if (optimize) {
  process.env[learnEnv.optimize] = '1'
  // Optimizing is a one-off job, never a watch session.
  if (!vitestOptions.watch) vitestOptions.run = true
}
if (accept) {
  process.env[learnEnv.accept] = '1'
  if (!vitestOptions.watch) vitestOptions.run = true
}
if (filter.some((item) => /:\d+$/.test(item))) vitestOptions.includeTaskLocation ??= true

const vitest = await startVitest('test', filter, vitestOptions)
if (!vitest.shouldKeepServer()) await vitest.exit()
