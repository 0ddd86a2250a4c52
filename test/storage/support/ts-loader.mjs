// Node module hooks that run the project's TypeScript without a build: `.js` imports resolve to
// the `.ts` file beside them, and `.ts` files are transpiled (types stripped) by TypeScript.
// Used for child processes in the storage tests and for bench/storage.ts:
//   node --import ./test/storage/support/register-ts.mjs bench/storage.ts
import { readFile } from 'node:fs/promises'
import ts from 'typescript'

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (error) {
    const relative = specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:')
    if (relative && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      return next(`${specifier.slice(0, -3)}.ts`, context)
    }
    throw error
  }
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context)
  const source = await readFile(new URL(url), 'utf8')
  const { outputText } = ts.transpileModule(source, {
    fileName: url,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true },
  })
  return { format: 'module', source: outputText, shortCircuit: true }
}
