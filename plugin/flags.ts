/**
 * Takes the flags that carry a value (`--flag value` or `--flag=value`) out of `argv`: their
 * values, and the arguments left. `examples` names each such flag with a value to show when it
 * comes without one.
 */
export function takeValueFlags<Flag extends string>(
  argv: readonly string[],
  examples: Readonly<Record<Flag, string>>,
): { values: Map<Flag, string>; rest: string[] } | { problem: string } {
  const flags = Object.keys(examples) as Flag[]
  const values = new Map<Flag, string>()
  const rest: string[] = []
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!
    const flag = flags.find((name) => arg === name || arg.startsWith(`${name}=`))
    if (!flag) {
      rest.push(arg)
      continue
    }
    const value = arg === flag ? argv[++index] : arg.slice(flag.length + 1)
    if (value === undefined || value === '' || value.startsWith('-')) return { problem: `${flag} needs a value, e.g. ${flag}=${examples[flag]}` }
    values.set(flag, value)
  }
  return { values, rest }
}
