// Headless Chromium for the report's end-to-end test: Debian's `chromium`, driven by playwright-core
// (downloading a browser is not possible on the build machines). Fails with the install command
// when it is missing.
import { access } from 'node:fs/promises'
import { chromium, type Browser } from 'playwright-core'

export const chromiumPath = process.env.LEARN_TEST_CHROMIUM ?? '/usr/bin/chromium'

export interface OpenBrowser {
  browser: Browser
  close(): Promise<void>
}

export async function launchChromium(): Promise<OpenBrowser> {
  try {
    await access(chromiumPath)
  } catch {
    throw new Error(
      `Chromium is not installed at ${chromiumPath}: the report's browser test needs it.\n` +
        `  fix: run \`bash scripts/setup-chromium.sh\` as root (it installs Debian's chromium), or set LEARN_TEST_CHROMIUM to a Chromium binary`,
    )
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  // launch() gives the browser a fresh profile in a temporary folder of its own, removed on close.
  return { browser, close: () => browser.close() }
}
