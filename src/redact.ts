/** Replaces every secret (as written, and as JSON escapes it) with [redacted]. Short values are skipped: they would match ordinary words. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets
    .filter((secret) => secret.length >= 8)
    .flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)])
    .reduce((current, secret) => current.split(secret).join('[redacted]'), text)
}
