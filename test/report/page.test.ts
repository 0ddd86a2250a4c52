// The report page's library: loading a project folder (malformed files are warnings naming the file
// and field; nothing is written), rendering (every text escaped), and the command line.
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseLearnArgs } from '../../plugin/cli.js'

import { acceptedPath } from '../../src/report/page/build.js'
import { versionPairs } from '../../src/report/page/diff.js'
import { escapeHtml } from '../../src/report/page/escape.js'
import { loadReportModel, renderPage, writeReportPage } from '../../src/report/page/index.js'
import { createProject } from '../support/project.js'
import { hostileProject, historyLine, checkpoint, optimizeRun } from './support/fixtures.js'

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'vitest-learn-report-'))
})
afterEach(() => rm(root, { recursive: true, force: true }))

const write = async (path: string, text: string) => {
  await mkdir(join(root, path, '..'), { recursive: true })
  await writeFile(join(root, path), text)
}
const jsonl = (...lines: unknown[]) => lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n'

/** Every file below a folder with its text, to show a load changed nothing. */
async function contents(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
  return Object.fromEntries(await Promise.all(files.map(async (file) => [file, await readFile(file, 'utf8')] as const)))
}

describe('loading a project for the report', () => {
  it('skips a bad history line with a warning naming the file, line and field, and keeps the others', async () => {
    const good = historyLine({ mean: 0.9 })
    const { mean: _, ...noMean } = historyLine()
    await write('snapshots/spec-a/history.jsonl', jsonl(good, '{not json', noMean, historyLine({ mean: 0.7, date: '2026-02-01T00:00:00.000Z' })))
    const before = await contents(join(root, 'snapshots'))
    const model = await loadReportModel({ root, reportFile: false })
    expect(model.specs.map((spec) => spec.name)).toEqual(['spec-a'])
    expect(model.specs[0]!.history.map((point) => point.mean)).toEqual([0.9, 0.7])
    expect(model.warnings).toEqual([
      { file: 'snapshots/spec-a/history.jsonl:2', message: expect.stringContaining('is not valid JSON') },
      { file: 'snapshots/spec-a/history.jsonl:3', message: expect.stringMatching(/^\(root\): must have required property 'mean'/) },
    ])
    expect(await contents(join(root, 'snapshots'))).toEqual(before)
  })

  it('skips an invalid checkpoint, naming its file and field, and a history file whose version disagrees', async () => {
    await write('snapshots/spec-a/checkpoint.json', JSON.stringify({ ...checkpoint(2), version: 'two' }))
    await write('snapshots/spec-a/checkpoints/v1.json', JSON.stringify(checkpoint(1)))
    await write('snapshots/spec-b/checkpoint.json', JSON.stringify(checkpoint(2)))
    await write('snapshots/spec-b/checkpoints/v1.json', JSON.stringify(checkpoint(3)))
    const model = await loadReportModel({ root, reportFile: false })
    expect(model.warnings).toEqual([
      { file: 'snapshots/spec-a/checkpoint.json', message: expect.stringMatching(/^version: must be integer/) },
      { file: 'snapshots/spec-b/checkpoints/v1.json', message: expect.stringContaining('version: is 3, but the file name says v1') },
    ])
    // Without a valid checkpoint.json, the history files still show as versions.
    expect(model.specs.map((spec) => spec.versions.map((version) => version.label))).toEqual([['v1'], ['v2']])
  })

  it('skips a learn-report.json that is not a report, and says so', async () => {
    await write('snapshots/spec-a/history.jsonl', jsonl(historyLine()))
    await write('learn-report.json', JSON.stringify({ format: 1, created: 'x', specs: [{ name: 'spec-a' }] }))
    const model = await loadReportModel({ root })
    expect(model.report).toBeUndefined()
    expect(model.warnings).toEqual([{ file: 'learn-report.json', message: expect.stringMatching(/^created: must match format "date-time"[^]*specs\[0\] must have required property 'file'/) }])
    expect(model.specs[0]!.verdict?.source).toBe('history')
  })

  it('fails with the file named when --from points at nothing', async () => {
    await expect(loadReportModel({ root, reportFile: 'missing.json' })).rejects.toThrow(/missing\.json: does not exist/)
  })

  it('never writes the page into the snapshot folder', async () => {
    await expect(writeReportPage({ root, outDir: 'snapshots/page' })).rejects.toThrow(/out: the report's folder is inside the snapshot folder .*snapshots, which belongs to the test runs/)
  })

  it('joins optimize runs, checkpoints and the seed into versions, with the accepted path marked', async () => {
    await write('snapshots/spec-a/checkpoint.json', JSON.stringify(checkpoint(1)))
    await write('snapshots/spec-a/optimize-runs/2026-01-01T00-00-00.000Z.json', JSON.stringify(optimizeRun()))
    const model = await loadReportModel({ root, reportFile: false })
    const spec = model.specs[0]!
    expect(model.warnings).toEqual([])
    expect(spec.versions.map((version) => [version.label, version.instruction])).toEqual([['seed', 'Be polite.'], ['v1', 'Be polite. Never promise refunds.']])
    expect(spec.runs[0]!.candidates.map((candidate) => [candidate.id, candidate.accepted])).toEqual([[0, true], [1, false], [2, true]])
  })
})

describe('rendering the report', () => {
  it('escapes every text taken from files: no tag, attribute or script of theirs reaches the page', async () => {
    const evil = hostileProject()
    const html = renderPage(evil)
    for (const needle of ['<script>alert', '<img', 'onerror="', '</textarea>', '<svg onload', 'href="javascript:']) expect(html).not.toContain(needle)
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    // The only scripts are the page's own.
    expect(html.match(/<script/g)).toHaveLength(1)
  })

  it('escapes for HTML', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;')
  })

  it('diffs every pair of a few versions, and neighbours and the newest of many', () => {
    expect(versionPairs(3)).toEqual([[0, 1], [0, 2], [1, 2]])
    const many = versionPairs(30)
    expect(many).toContainEqual([12, 13])
    expect(many).toContainEqual([3, 29])
    expect(many).not.toContainEqual([3, 10])
  })

  it('follows the chain of parents from the final candidate', () => {
    const candidates = optimizeRun().candidates
    expect([...acceptedPath(candidates)]).toEqual([2, 0])
    expect([...acceptedPath(candidates.map((candidate) => ({ ...candidate, final: false })))]).toEqual([])
  })
})

describe('the report on the command line', () => {
  it('parses `vitest-learn report` and its flags', async () => {
    expect(await parseLearnArgs(['report', '--out=site', '--from', 'out/learn.json'], '0.0.0')).toEqual({ kind: 'report', out: 'site', from: 'out/learn.json' })
    expect(await parseLearnArgs(['report', '--form=x'], '0.0.0')).toMatchObject({ kind: 'usage-error', message: expect.stringContaining('unknown argument --form=x') })
    expect(await parseLearnArgs(['report', '--out'], '0.0.0')).toMatchObject({ kind: 'usage-error', message: expect.stringContaining('--out needs a value') })
  })

  it('reads the snapshot folder the Vitest config gives the plugin, unless --snapshots says another; a config that fails to load is said', async () => {
    const config = (snapshotDir: string) => `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'
export default defineConfig({ plugins: [learn({ snapshotDir: ${JSON.stringify(snapshotDir)} })] })
`
    const project = await createProject({ 'vitest.config.mjs': config('recordings'), 'recordings/spec-a/history.jsonl': jsonl(historyLine()) })
    try {
      const configured = await project.learn(['report'])
      expect(configured.code, configured.output).toBe(0)
      expect(configured.output).toContain('wrote learn-report/index.html (1 spec)')
      expect(await project.read('learn-report/index.html')).toContain('spec-a')
      const given = await project.learn(['report', '--snapshots', 'snapshots'])
      expect(given.output).toContain('wrote learn-report/index.html (0 specs)')
      await project.write('vitest.config.mjs', `export default {}\n`)
      const without = await project.learn(['report'])
      expect(without.output).toContain('no vitest-learn plugin in the project')
      expect(without.output).toContain('wrote learn-report/index.html (0 specs)')
      await project.write('vitest.config.mjs', `throw new Error('the config needs OPENAI_APIKEY')\n`)
      const broken = await project.learn(['report'])
      expect(broken.code, broken.output).toBe(0)
      expect(broken.output).toContain('could not load the Vitest config (')
      expect(broken.output).toContain('the config needs OPENAI_APIKEY')
      expect(broken.output).toContain('wrote learn-report/index.html (0 specs)')
    } finally {
      await project.remove()
    }
  })

  it('takes --report on a run, and passes the rest to Vitest', async () => {
    const command = await parseLearnArgs(['run', '--report', 'support.learn.ts'], '0.0.0')
    expect(command).toMatchObject({ kind: 'run', report: true, filter: ['support.learn.ts'] })
  })
})

