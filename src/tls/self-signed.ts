/**
 * Self-signed server certificates for `wstcp cert` and `--cert auto`. The key pair comes from node:crypto
 * (native, fast); node-forge only builds and signs the X.509 structure, which Node cannot do itself.
 * The certificate is a leaf (CA:FALSE): trusting it in a browser or system store cannot make anyone able
 * to mint certificates for other sites with its key.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface SelfSignedOptions {
  /** Host names and IP addresses the certificate is valid for; the first one becomes the CN. */
  readonly names: readonly string[];
  /** Days of validity from now. */
  readonly days: number;
}

export interface SelfSigned {
  readonly cert: string;
  readonly key: string;
}

/** A host name as browsers accept it in a certificate: labels, optionally a leading `*.`. */
const HOST_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Throws a RangeError naming the first entry that is neither an IP address nor a host name. */
export function checkNames(names: readonly string[]): void {
  if (names.length === 0) throw new RangeError('give at least one host name or IP address');
  for (const name of names) {
    if (isIP(name) === 0 && !HOST_NAME.test(name))
      throw new RangeError(`"${name}" is neither a host name nor an IP address`);
  }
}

function altName(name: string): { type: number; value?: string; ip?: string } {
  return isIP(name) === 0 ? { type: 2, value: name } : { type: 7, ip: name };
}

/**
 * Generates an RSA-2048 key and a self-signed certificate for `names` (subjectAltName entries: DNS for
 * names, IP for addresses), valid for serverAuth.
 *
 * @example
 * const { cert, key } = createSelfSigned({ names: ['localhost', '127.0.0.1', '::1'], days: 365 });
 */
export function createSelfSigned(options: SelfSignedOptions): SelfSigned {
  checkNames(options.names);
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  // A positive 128-bit serial: browsers refuse a repeated issuer+serial, so it must not be a constant.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 5 * 60 * 1000);
  cert.validity.notAfter = new Date(now + options.days * 24 * 60 * 60 * 1000);
  const subject = [
    { name: 'commonName', value: options.names[0]! },
    { name: 'organizationName', value: 'wstcp self-signed' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: options.names.map(altName) },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}
