// End to end: the repo's examples, copied into a temporary project, optimized from their seed by the
// scripted model (which writes the report page, as every optimize run does), then `vitest-learn
// report`; the page opened in headless Chromium from the file, with every request watched.
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderPage } from '../../src/report/page/index.js'
import { createProject, repoRoot, type TempProject } from '../support/project.js'
import { launchChromium, type OpenBrowser } from './support/browser.js'
import { hostileProject } from './support/fixtures.js'

/** Where the screenshot goes: LEARN_REPORT_SCREENSHOT (docs/report.png is made so), else the temp folder. */
const screenshotPath = process.env.LEARN_REPORT_SCREENSHOT ?? join(tmpdir(), 'vitest-learn-report.png')

const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'
import { startModelServer } from ${JSON.stringify(join(repoRoot, 'test/support/model-server.ts'))}
import { exampleScript } from ${JSON.stringify(join(repoRoot, 'examples/scripted-model.ts'))}

const { url } = await startModelServer({ script: exampleScript })
const model = (name) => ({ name: 'openai', apiKey: 'scripted-model-key', apiURL: url, config: { model: name } })
export default defineConfig({ plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o') })] })
`

async function snapshotTexts(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
  return Object.fromEntries(await Promise.all(files.map(async (file) => [file, await readFile(file, 'utf8')] as const)))
}

/** Opens a file in a fresh page, recording every request the page makes and every dialog it opens (from the first script on). */
async function open(browser: OpenBrowser, file: string, colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; requests: string[]; dialogs: string[] }> {
  const page = await browser.browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme })
  const requests: string[] = []
  const dialogs: string[] = []
  page.on('request', (request) => requests.push(request.url()))
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  await page.goto(pathToFileURL(file).href)
  await page.waitForLoadState('load')
  return { page, requests, dialogs }
}

describe('the report page in a browser', () => {
  let project: TempProject
  let browser: OpenBrowser

  beforeAll(async () => {
    browser = await launchChromium()
    project = await createProject({ 'vitest.config.mjs': config })
    await mkdir(join(project.dir, 'examples'))
    for (const name of ['support.learn.ts', 'extract.learn.ts', 'triage.learn.ts']) await cp(join(repoRoot, 'examples', name), join(project.dir, 'examples', name))
    await cp(join(repoRoot, 'snapshots'), join(project.dir, 'snapshots'), { recursive: true })
    // From the seed, so the run writes v1 and the page has two versions to diff.
    await rm(join(project.dir, 'snapshots/support-chat-v1/checkpoint.json'))
    await rm(join(project.dir, 'snapshots/support-chat-v1/checkpoints'), { recursive: true })
  })
  afterAll(async () => {
    await browser?.close()
    await project?.remove()
  })

  it('is written by an optimize run, then by `vitest-learn report` without touching snapshots/, and shows charts, cases and the diff offline', async () => {
    const optimized = await project.learn(['--optimize', 'examples/support.learn.ts'])
    expect(optimized.code, optimized.output).toBe(0)
    expect(optimized.output).toContain('wrote v1')
    expect(optimized.output).toContain('wrote learn-report/index.html (4 specs)')

    const before = await snapshotTexts(join(project.dir, 'snapshots'))
    const reported = await project.learn(['report'])
    expect(reported.code, reported.output).toBe(0)
    expect(reported.output).toContain('wrote learn-report/index.html (4 specs)')
    expect(await snapshotTexts(join(project.dir, 'snapshots'))).toEqual(before)

    const file = join(project.dir, 'learn-report/index.html')
    const { page, requests } = await open(browser, file)
    expect(requests).toEqual([pathToFileURL(file).href])
    // Score history for each spec, two candidate charts for the optimize run.
    expect(await page.locator('svg.chart').count()).toBe(6)
    expect(await page.locator('#spec-2 .run svg.chart').count()).toBe(2)
    expect(await page.locator('#spec-2 .run svg .accepted-path').count()).toBe(2)
    expect(await page.locator('svg .threshold').count()).toBe(4)
    // The case table, with input and output behind each case.
    const rows = page.locator('#cases-2 tbody tr')
    expect(await rows.count()).toBe(5)
    await expect.poll(() => page.locator('#spec-2 form output').textContent()).toBe('5 of 5 cases shown')
    // The diff, seed against v1: the rule the optimizer added.
    const diff = page.locator('#spec-2 .diff:not([hidden])')
    expect(await diff.locator('h4').allTextContents()).toEqual(['instruction · seed', 'instruction · v1'])
    expect((await diff.locator('ins').allTextContents()).join('').trim()).toBe('Never promise a refund; say what you will check instead.')

    // The filter works from the keyboard: into the radio group, an arrow key to "failures".
    await page.locator('#spec-3 input[value=all]').focus()
    await page.keyboard.press('ArrowRight')
    expect(await page.locator('#spec-3 input[value=failures]').isChecked()).toBe(true)
    const failures = await page.locator('#cases-3 tbody tr[data-failures=true]').count()
    expect(failures).toBeGreaterThan(0)
    expect(await page.locator('#cases-3 tbody tr:not([hidden])').count()).toBe(failures)
    await page.locator('#spec-3 input[name=q]').focus()
    await page.keyboard.type('no-such-text')
    expect(await page.locator('#cases-3 tbody tr:not([hidden])').count()).toBe(0)

    // A case opens from the keyboard too.
    await page.locator('#cases-2 details summary').first().press('Enter')
    expect(await page.locator('#cases-2 details').first().getAttribute('open')).toBe('')
    const dark = await open(browser, file, 'dark')
    await dark.page.locator('#spec-2 details').first().locator('summary').click()
    await dark.page.screenshot({ path: screenshotPath, fullPage: true, clip: { x: 0, y: await dark.page.evaluate(() => document.querySelector('#spec-2')!.getBoundingClientRect().top + window.scrollY), width: 1280, height: 1500 } })
    expect(dark.requests).toHaveLength(1)
  })

  it('runs none of the text it shows: hostile prompts and outputs load nothing and execute nothing', async () => {
    const file = join(project.dir, 'hostile.html')
    await writeFile(file, renderPage(hostileProject()))
    const { page, requests, dialogs } = await open(browser, file)
    await page.locator('details summary').first().click()
    expect(requests).toEqual([pathToFileURL(file).href])
    expect(dialogs).toEqual([])
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined()
    expect(await page.locator('main img, main a[href^="javascript"]').count()).toBe(0)
  })
})
