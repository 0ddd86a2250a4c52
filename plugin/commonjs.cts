// `require('vitest-learn/plugin')`: what Vite's config loader does with `import learn from
// 'vitest-learn/plugin'` in vitest.config.ts when package.json says "type": "commonjs" (as
// `npm init -y` writes). The plugin is ES modules, which only Node >= 20.19 can require(); Vite
// accepts a promise of a plugin, so this door imports the plugin and resolves to it instead.
import type { Plugin } from 'vite'
import type { LearnPluginOptions } from './index.js'

function learn(options?: LearnPluginOptions): Promise<Plugin> {
  return import('./index.js').then((plugin) => plugin.default(options))
}

export = learn
