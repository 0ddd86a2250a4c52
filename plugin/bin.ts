#!/usr/bin/env node
// `vitest-learn`: Vitest with a few more flags (see cli.ts), handed to the plugin through the environment.
import { createRequire } from 'node:module'
import { startVitest } from 'vitest/node'
import { help, parseLearnArgs } from './cli.js'
import { learnEnv } from './mode.js'
import { runReportCommand } from './report-page.js'

const { version } = createRequire(import.meta.url)('vitest-learn/package.json') as { version: string }
const command = await parseLearnArgs(process.argv.slice(2), version)
if (command.kind === 'help') {
  process.stdout.write(command.text ?? help)
  process.exit(0)
}
if (command.kind === 'version') {
  process.stdout.write(`${command.text}\n`)
  process.exit(0)
}
if (command.kind === 'usage-error') {
  process.stderr.write(`vitest-learn: ${command.message}\n`)
  process.exit(2)
}
if (command.kind === 'report') {
  const print = (line: string) => process.stderr.write(`${line}\n`)
  process.exit(await runReportCommand(command, process.cwd(), print, print))
}
if (command.report) process.env[learnEnv.report] = '1'
if (command.optimize) process.env[learnEnv.optimize] = '1'
if (command.accept) process.env[learnEnv.accept] = '1'
if (command.noCache) process.env[learnEnv.noCache] = '1'
if (command.record) process.env[learnEnv.record] = command.record
if (command.baselineRef) process.env[learnEnv.baselineRef] = command.baselineRef
const vitest = await startVitest('test', command.filter, command.options)
if (!vitest.shouldKeepServer()) await vitest.exit()
