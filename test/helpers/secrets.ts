/**
 * The secrets used by the TLS, auth, limits and token tests, and the check that none of them (nor the base64
 * Authorization value that carries them) ever appears in a log line or an error message.
 */
import assert from 'node:assert/strict';

export const SECRETS = {
  keyPassword: 'kp-Zebra-4471-secret',
  basicPassword: 'pw-Hummingbird-9931',
  htpasswdPassword: 'pw-Otter-2288',
  pluginPassword: 'pw-Lynx-6619',
  wrongPassword: 'pw-Wrong-5150',
  token: 'tk-Narwhal-7723',
} as const;

const forbidden = new Set<string>(Object.values(SECRETS));

/** `Basic base64(user:password)`; the encoded value is added to what the scan looks for. */
export function basicHeader(user: string, password: string): string {
  const encoded = Buffer.from(`${user}:${password}`).toString('base64');
  forbidden.add(encoded);
  return `Basic ${encoded}`;
}

/** Fails naming the secret and the line when any secret appears in `lines`. */
export function assertNoSecrets(lines: readonly string[]): void {
  assert.ok(lines.length > 0, 'the scan needs captured log lines');
  for (const line of lines) {
    for (const secret of forbidden) {
      assert.ok(!line.includes(secret), `a secret (${secret.slice(0, 5)}...) appears in: ${line}`);
    }
  }
}
