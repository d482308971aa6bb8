/**
 * Reads --cert, --key, --key-password and --cafile into a SecureContext. Every failure is a ConfigError
 * naming the flag and file; the key password never appears in a message (OpenSSL's own messages are not
 * passed through, because they are not written for users anyway).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, DEFAULT_CIPHERS, type SecureContext } from 'node:tls';
import type { TlsConfig } from '../config/config.js';
import { ConfigError } from '../errors.js';
import { isEncryptedKey, isPrivateKeyLabel, type PemBlock, pemBlocks } from './pem.js';

/** The PEM text of one certificate chain and its key, as read from disk (or generated for `--cert auto`). */
export interface TlsMaterial {
  /** Leaf certificate first, then any intermediates. */
  readonly certChain: string;
  readonly key: string;
  /** The key's password, if the key is encrypted. */
  readonly passphrase: string | undefined;
  /** Trusted CAs for client certificates (--cafile); undefined means the system CAs. */
  readonly clientCa: string | undefined;
  /** Where the certificate came from, for log lines and messages. */
  readonly certSource: string;
}

/** What a log line may say about a loaded certificate: nothing secret. */
export interface CertificateSummary {
  readonly subject: string;
  readonly altNames: string;
  readonly validTo: string;
  readonly expired: boolean;
  readonly fingerprint256: string;
}

function readPem(flag: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigError(`${flag} ${file}: cannot read the file (${code})`);
  }
  return text;
}

function certificates(flag: string, file: string, blocks: PemBlock[]): PemBlock[] {
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) {
    throw new ConfigError(`${flag} ${file}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)`);
  }
  for (const [index, cert] of certs.entries()) {
    try {
      new X509Certificate(cert.text);
    } catch {
      throw new ConfigError(`${flag} ${file}: certificate ${index + 1} is not a valid X.509 certificate`);
    }
  }
  return certs;
}

function privateKey(
  flag: string,
  file: string,
  blocks: PemBlock[],
  passphrase: string | undefined,
): PemBlock {
  const keys = blocks.filter((b) => isPrivateKeyLabel(b.label));
  const key = keys[0];
  if (!key) {
    throw new ConfigError(
      flag === '--cert'
        ? `--cert ${file} holds no private key: give the key file with --key`
        : `--key ${file}: no PEM private key in it (expected -----BEGIN PRIVATE KEY-----)`,
    );
  }
  if (keys.length > 1)
    throw new ConfigError(`${flag} ${file} holds ${keys.length} private keys; keep only one`);
  const encrypted = isEncryptedKey(key);
  if (encrypted && passphrase === undefined) {
    throw new ConfigError(
      `${flag} ${file}: the private key is encrypted; give its password with --key-password`,
    );
  }
  try {
    createPrivateKey({ key: key.text, passphrase: encrypted ? passphrase : undefined });
  } catch {
    throw new ConfigError(
      encrypted
        ? `${flag} ${file}: the private key cannot be decrypted with the --key-password given`
        : `${flag} ${file}: the private key is not valid`,
    );
  }
  return key;
}

/** Reads a CA bundle (--cafile, --target-ca): one or more PEM certificates. */
export function readCaBundle(flag: string, file: string): string {
  return certificates(flag, file, pemBlocks(readPem(flag, file)))
    .map((b) => b.text)
    .join('');
}

/** Reads and checks the certificate, key and client CA files named by the config. */
export function readTlsMaterial(config: TlsConfig): TlsMaterial {
  const certBlocks = pemBlocks(readPem('--cert', config.cert));
  const chain = certificates('--cert', config.cert, certBlocks);
  const key = config.key
    ? privateKey('--key', config.key, pemBlocks(readPem('--key', config.key)), config.keyPassword)
    : privateKey('--cert', config.cert, certBlocks, config.keyPassword);
  const clientCa = config.cafile ? readCaBundle('--cafile', config.cafile) : undefined;
  return {
    certChain: chain.map((b) => b.text).join(''),
    key: key.text,
    passphrase: isEncryptedKey(key) ? config.keyPassword : undefined,
    clientCa,
    certSource: config.cert,
  };
}

/**
 * The cipher list for a minimum version. OpenSSL 3 refuses TLS 1.0/1.1 below security level 0, so asking
 * for `--ssl-version tlsv1_1` lowers the level; the default (TLS 1.2) keeps OpenSSL's.
 */
export function cipherList(config: Pick<TlsConfig, 'ciphers' | 'minVersion'>): string | undefined {
  if (config.minVersion !== 'TLSv1.1') return config.ciphers;
  return `${config.ciphers ?? DEFAULT_CIPHERS}:@SECLEVEL=0`;
}

/** Builds the SecureContext new connections are wrapped with. */
export function secureContextFor(
  material: TlsMaterial,
  config: Pick<TlsConfig, 'ciphers' | 'minVersion' | 'key'>,
): SecureContext {
  const keyFlag = config.key ? `--key ${config.key}` : 'the key';
  try {
    return createSecureContext({
      cert: material.certChain,
      key: material.key,
      passphrase: material.passphrase,
      ca: material.clientCa,
      minVersion: config.minVersion,
      ciphers: cipherList(config),
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_SSL_NO_CIPHER_MATCH')
      throw new ConfigError('--ssl-ciphers: OpenSSL knows none of these ciphers');
    if (code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') {
      throw new ConfigError(`${keyFlag} does not belong to the certificate in --cert ${material.certSource}`);
    }
    throw new ConfigError(
      `--cert ${material.certSource}: OpenSSL refused the certificate or key (${code ?? 'error'})`,
    );
  }
}

/** Subject, names, expiry and fingerprint of the leaf certificate, for the startup and reload log lines. */
export function summarize(material: TlsMaterial): CertificateSummary {
  const leaf = new X509Certificate(pemBlocks(material.certChain)[0]!.text);
  return {
    subject: leaf.subject.replace(/\n/g, ', '),
    altNames: leaf.subjectAltName ?? '',
    validTo: new Date(leaf.validTo).toISOString(),
    expired: new Date(leaf.validTo).getTime() < Date.now(),
    fingerprint256: leaf.fingerprint256,
  };
}
