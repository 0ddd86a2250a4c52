/** Replaces every secret (as written, and as JSON escapes it) with [redacted]. Short values are skipped: they would match ordinary words. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets
    .filter((secret) => secret.length >= 8)
    .flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)])
    .reduce((current, secret) => current.split(secret).join('[redacted]'), text)
}

/** The API keys in `ai()` arguments; a ready ax service keeps its key to itself. */
export function apiKeysOf(models: readonly unknown[]): string[] {
  return models.flatMap((model) => {
    const key = typeof model === 'object' && model !== null && 'apiKey' in model ? model.apiKey : undefined
    return typeof key === 'string' ? [key] : []
  })
}
