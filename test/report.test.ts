import { describe, expect, it } from 'vitest'
import type { LearnReport, LearnReportSpec } from '../src/formats/types.generated.js'
import { annotationsOf, stepSummary, workflowCommand } from '../src/report/github.js'
import { showsAnnotations, stdoutTaken } from '../plugin/reporter.js'

const spec = (overrides: Partial<LearnReportSpec> = {}): LearnReportSpec => ({
  name: 'support',
  file: 'specs/support.learn.ts',
  line: 4,
  pass: true,
  record: 'none',
  mean: 0.85,
  interval: [0.8, 0.9],
  scored: 16,
  total: 16,
  samples: 3,
  judgeSamples: 1,
  scorers: { judge: 0.85 },
  threshold: { value: 0.8, pass: true },
  regression: { verdict: 'pass', pass: true, tolerance: 0.05, baseline: { label: 'checkpoint v2', mean: 0.86 }, delta: -0.01, interval: [-0.04, 0.02], n: 16, pNoise: 0.3, detectableDrop: 0.04, drops: [], warnings: [] },
  cost: { usd: 0.01, tokens: 1000, live: 0, replayed: 96 },
  cases: [{ id: 'a', name: 'Where is my order?', line: 9, state: 'passed', score: 0.9 }],
  ...overrides,
})
const report = (...specs: LearnReportSpec[]): LearnReport => ({ format: 1, created: '2026-01-01T00:00:00.000Z', specs })

describe('GitHub annotations', () => {
  it('say nothing of a passing spec', () => {
    expect(annotationsOf(report(spec()))).toEqual([])
  })

  it('put an error on a failed case’s line, and on the spec’s line for a failed check', () => {
    const failing = spec({
      pass: false,
      scored: 15,
      threshold: { value: 0.8, pass: false, message: '15 of 16 cases scored' },
      cases: [{ id: 'a', name: 'Where is my order?', line: 9, state: 'failed', error: 'no recording for a student call' }],
    })
    expect(annotationsOf(report(failing))).toEqual([
      { level: 'error', file: 'specs/support.learn.ts', line: 9, title: 'vitest-learn support: case failed', message: 'Where is my order?: no recording for a student call' },
      { level: 'error', file: 'specs/support.learn.ts', line: 4, title: 'vitest-learn support: mean under 0.8', message: '15 of 16 cases scored' },
    ])
  })

  it('warn of an inconclusive comparison that does not fail, and of a gate coarser than its tolerance', () => {
    const drops = [{ case: 'a', name: 'Where is my order?', line: 9, before: 1, after: 0.6, reasons: 'no link' }]
    const inconclusive = spec({
      regression: { ...spec().regression, verdict: 'inconclusive', pNoise: 0.08, drops, warnings: ['catches drops of 0.09 or more'], message: 'inconclusive against checkpoint v2: …\nmore' },
    })
    expect(annotationsOf(report(inconclusive)).map(({ level, line, title }) => [level, line, title])).toEqual([
      ['warning', 4, 'vitest-learn support: inconclusive'],
      ['warning', 9, 'vitest-learn support: inconclusive case'],
      ['warning', 4, 'vitest-learn support: gate resolution'],
    ])
    expect(annotationsOf(report(inconclusive))[0]!.message).toBe('inconclusive against checkpoint v2: …; the chance that noise alone dropped it this far: 8%')
  })

  it('are workflow commands escaped as GitHub’s toolkit does, with the file relative to the workspace', () => {
    const command = workflowCommand(
      { level: 'error', file: 'support.learn.ts', line: 9, title: 'vitest-learn a: b, c', message: '50% off\nsecond line' },
      (file) => `app/${file}`,
    )
    expect(command).toBe('::error file=app/support.learn.ts,line=9,title=vitest-learn a%3A b%2C c::50%25 off%0Asecond line')
  })
})

describe('the step summary', () => {
  it('is a Markdown table of mean ± interval, baseline, delta, verdict, resolution and cost, then the drops of a regressed spec', () => {
    const regressed = spec({
      name: 'triage',
      pass: false,
      mean: 0.7,
      interval: [0.6, 0.8],
      regression: {
        ...spec().regression,
        verdict: 'regressed',
        pass: false,
        delta: -0.15,
        pNoise: 0.0004,
        detectableDrop: 0.08,
        drops: [{ case: 'a', name: 'Refund | please', before: 1, after: 0.5, reasons: 'promised a refund' }],
      },
    })
    const text = stepSummary(report(spec(), regressed))
    expect(text).toBe(
      [
        '### vitest-learn',
        '',
        '| spec | mean ± 95% CI (cases×samples) | baseline | Δ | verdict | catches drops ≥ | cost |',
        '|---|---|---|---|---|---|---|',
        '| `support` | 0.850 ± 0.050 (16×3) | 0.860 (checkpoint v2) | −0.010 | ✅ pass | 0.040 | $0.0100 |',
        '| `triage` | 0.700 ± 0.100 (16×3) | 0.860 (checkpoint v2) | −0.150 | ❌ regressed | 0.080 ⚠️ | $0.0100 |',
        '',
        '**triage**: regressed, allowed drop 0.05; chance of noise under 0.1%',
        '',
        '| case | baseline → now | reasons |',
        '|---|---|---|',
        '| Refund \\| please | 1.00 → 0.50 | promised a refund |',
        '',
      ].join('\n'),
    )
  })
})

describe('stdoutTaken', () => {
  it('is true when a reporter prints a document to stdout, which a summary line would corrupt', () => {
    expect(stdoutTaken({ reporters: [['json', {}]], outputFile: {} })).toBe(true)
    expect(stdoutTaken({ reporters: [['default', {}], ['tap-flat', {}]], outputFile: {} })).toBe(true)
    expect(stdoutTaken({ reporters: [['default', {}]], outputFile: {} })).toBe(false)
    expect(stdoutTaken({ reporters: [['json', {}]], outputFile: { json: 'out.json' } })).toBe(false)
    expect(stdoutTaken({ reporters: [['junit', { outputFile: 'junit.xml' }]], outputFile: {} })).toBe(false)
    expect(stdoutTaken({ reporters: [['json', {}]], outputFile: 'out.json' })).toBe(false)
  })
})

describe('showsAnnotations', () => {
  it('is true only when a reporter shows annotations (JUnit properties, the HTML report, verbose and TAP lines, blobs for --merge-reports): scores are annotated for those alone', () => {
    expect(showsAnnotations({ reporters: [['default', {}], ['junit', { outputFile: 'junit.xml' }]] })).toBe(true)
    expect(showsAnnotations({ reporters: [['html', {}]] })).toBe(true)
    for (const name of ['verbose', 'tap', 'tap-flat', 'blob']) expect(showsAnnotations({ reporters: [[name, {}]] })).toBe(true)
    expect(showsAnnotations({ reporters: [['default', {}], ['json', {}], ['github-actions', {}]] })).toBe(false)
  })
})
