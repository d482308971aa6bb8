/**
 * Test certificates, made with node-forge directly (not with src/tls/self-signed.ts, so the code under
 * test is checked against independently built material): a CA, server and client leaves it signs,
 * self-signed certificates and encrypted keys.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface Issued {
  readonly cert: string;
  readonly key: string;
}

function keyPair(): {
  key: string;
  publicKey: forge.pki.rsa.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
} {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    key,
    publicKey: forge.pki.publicKeyFromPem(publicPem),
    privateKey: forge.pki.privateKeyFromPem(key),
  };
}

interface IssueOptions {
  readonly cn: string;
  /** DNS names and IP addresses (subjectAltName). */
  readonly names?: readonly string[];
  readonly client?: boolean;
  readonly isCa?: boolean;
}

function build(
  options: IssueOptions,
  issuer: { cert: forge.pki.Certificate; privateKey: forge.pki.rsa.PrivateKey } | undefined,
): Issued & { forgeCert: forge.pki.Certificate; privateKey: forge.pki.rsa.PrivateKey } {
  const pair = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = pair.publicKey;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const subject = [{ name: 'commonName', value: options.cn }];
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : subject);
  const extensions: object[] = [{ name: 'basicConstraints', cA: options.isCa === true }];
  if (options.isCa)
    extensions.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true });
  else
    extensions.push({
      name: 'extKeyUsage',
      serverAuth: !options.client,
      clientAuth: options.client === true,
    });
  if (options.names) {
    extensions.push({
      name: 'subjectAltName',
      altNames: options.names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    });
  }
  cert.setExtensions(extensions);
  cert.sign(issuer?.privateKey ?? pair.privateKey, forge.md.sha256.create());
  return {
    cert: forge.pki.certificateToPem(cert),
    key: pair.key,
    forgeCert: cert,
    privateKey: pair.privateKey,
  };
}

export interface TestCa extends Issued {
  /** A server certificate for `names` (default localhost, 127.0.0.1, ::1). */
  server(names?: readonly string[], cn?: string): Issued;
  /** A client certificate with common name `cn`. */
  client(cn: string): Issued;
}

/** A certificate authority that issues server and client certificates. */
export function makeCa(cn = 'wstcp test CA'): TestCa {
  const ca = build({ cn, isCa: true }, undefined);
  const issuer = { cert: ca.forgeCert, privateKey: ca.privateKey };
  return {
    cert: ca.cert,
    key: ca.key,
    server: (names = ['localhost', '127.0.0.1', '::1'], serverCn = 'localhost') =>
      build({ cn: serverCn, names }, issuer),
    client: (clientCn) => build({ cn: clientCn, client: true }, issuer),
  };
}

/** A self-signed server certificate for `names`. */
export function selfSigned(names: readonly string[] = ['localhost', '127.0.0.1']): Issued {
  return build({ cn: names[0]!, names }, undefined);
}

/** The key re-encrypted as PKCS#8 with AES-256 and `password`. */
export function encryptKey(key: string, password: string): string {
  return createPrivateKey(key)
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password })
    .toString();
}
