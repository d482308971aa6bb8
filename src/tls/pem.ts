/**
 * Splitting PEM text into its blocks. A websockify --cert file may hold the certificate chain and the key
 * together, so the blocks are sorted by kind before they are handed to OpenSSL.
 */

/** One `-----BEGIN X-----` ... `-----END X-----` block, with its label and full text. */
export interface PemBlock {
  readonly label: string;
  readonly text: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Every PEM block in `text`, in order. Text between blocks (comments, `openssl x509 -text` dumps) is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(BLOCK)].map((m) => ({ label: m[1]!, text: `${m[0]}\n` }));
}

/** True for the labels a private key is stored under (PKCS#1, PKCS#8, SEC1, encrypted PKCS#8). */
export function isPrivateKeyLabel(label: string): boolean {
  return label.endsWith('PRIVATE KEY');
}

/** True when a private key block needs a password: PKCS#8 `ENCRYPTED PRIVATE KEY` or legacy `Proc-Type: 4,ENCRYPTED`. */
export function isEncryptedKey(block: PemBlock): boolean {
  return block.label === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,ENCRYPTED/m.test(block.text);
}
