/** Environment variables the bin sets and the plugin reads, so `LEARN_OPTIMIZE=1 vitest run` works too. */
export const learnEnv = { optimize: 'LEARN_OPTIMIZE', accept: 'LEARN_ACCEPT', noCache: 'LEARN_NO_CACHE' } as const

const truthy = (value: string | undefined) => value !== undefined && value !== '' && value !== '0' && value !== 'false'

/** Optimize mode: the bin's flag, the environment variable, or `vitest run -- --optimize`. */
export function optimizeRequested(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv): boolean {
  return truthy(env[learnEnv.optimize]) || argv.includes('--optimize')
}

export function acceptRequested(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv): boolean {
  return truthy(env[learnEnv.accept]) || argv.includes('--accept')
}

/** `vitest-learn --optimize --no-cache` (or LEARN_NO_CACHE=1): optimize calls every model live. */
export function noCacheRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return truthy(env[learnEnv.noCache])
}
