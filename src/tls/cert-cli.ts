/**
 * `wstcp cert [options] [NAME...]`: writes a self-signed certificate and key for the given host names and
 * IP addresses, then prints how to start the bridge with them and the exact commands that make browsers
 * and tools trust the certificate, so `wss://192.168.1.20:6080` works without a warning.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { createSelfSigned } from './self-signed.js';

export const CERT_USAGE = `Usage: wstcp cert [options] [NAME...]

Writes a self-signed TLS certificate and key for the host names and IP addresses given
(default: localhost 127.0.0.1 ::1) and prints the commands that make browsers trust it.

Options:
  --cert FILE   where to write the certificate   (default: wstcp-cert.pem)
  --key FILE    where to write the key, mode 0600 (default: wstcp-key.pem)
  --days N      validity in days                 (default: 365)
  --force       overwrite existing files
  -h, --help    show this help

Example:
  wstcp cert localhost 192.168.1.20 desk.example.lan
  wstcp --cert wstcp-cert.pem --key wstcp-key.pem 6080 localhost:5900`;

/** What `wstcp cert` wrote, for callers and tests. */
export interface CertCommandResult {
  readonly certFile: string;
  readonly keyFile: string;
  readonly names: readonly string[];
  readonly fingerprint256: string;
}

/** Quotes a path for the printed shell commands when it holds anything but safe characters. */
function sh(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function write(file: string, text: string, mode: number, force: boolean): void {
  try {
    writeFileSync(file, text, { mode, flag: force ? 'w' : 'wx' });
    // An overwritten file keeps its old mode; a key must not stay world-readable.
    chmodSync(file, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ConfigError(`wstcp cert: ${file} exists; pass --force to overwrite it`);
    throw new ConfigError(`wstcp cert: cannot write ${file} (${code ?? 'error'})`);
  }
}

/** The trust instructions for one certificate file, one platform per paragraph. */
export function trustInstructions(certFile: string, nickname: string): string {
  const cert = sh(certFile);
  return `Trust it on the machines whose browsers connect (pick yours):
  Debian/Ubuntu (system store: curl, Node with --use-openssl-ca, Chrome/Edge on Linux via NSS below):
    sudo cp ${cert} /usr/local/share/ca-certificates/${nickname}.crt && sudo update-ca-certificates
  macOS (Safari, Chrome, Edge):
    sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${cert}
  Chrome/Chromium on Linux (its own NSS store; needs libnss3-tools):
    certutil -d sql:$HOME/.pki/nssdb -A -t "P,," -n ${nickname} -i ${cert}
  Windows (admin prompt; Chrome and Edge use this store):
    certutil -addstore -f Root ${cert}
  Firefox (its own store, every platform): Settings > Privacy & Security > Certificates > View Certificates >
    Servers > Add Exception, enter https://HOST:PORT of the bridge and confirm; or import ${cert} there.
Restart the browser afterwards.`;
}

/**
 * Runs `wstcp cert` with the arguments after `cert`. Prints with `print`; throws ConfigError on bad
 * arguments or unwritable files (the CLI prints it and exits 2).
 */
export function runCertCommand(
  argv: readonly string[],
  print: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
): CertCommandResult | undefined {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    // Node's text for an unknown option runs to three sentences about positionals; the flag is what matters.
    const unknown = /Unknown option '([^']+)'/.exec((err as Error).message);
    const what = unknown ? `unknown option ${unknown[1]}` : (err as Error).message;
    throw new ConfigError(`wstcp cert: ${what} (see wstcp cert --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    print(CERT_USAGE);
    return undefined;
  }
  const days = Number(values.days ?? '365');
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new ConfigError('wstcp cert: --days must be 1-3650');
  const names = positionals.length > 0 ? positionals : ['localhost', '127.0.0.1', '::1'];
  let generated: { cert: string; key: string };
  try {
    generated = createSelfSigned({ names, days });
  } catch (err) {
    if (err instanceof RangeError) throw new ConfigError(`wstcp cert: ${err.message}`);
    throw err;
  }
  const certFile = resolve(values.cert ?? 'wstcp-cert.pem');
  const keyFile = resolve(values.key ?? 'wstcp-key.pem');
  const force = values.force ?? false;
  write(keyFile, generated.key, 0o600, force);
  write(certFile, generated.cert, 0o644, force);

  const x509 = new X509Certificate(generated.cert);
  const nickname = `wstcp-${basename(certFile)
    .replace(/\.[^.]*$/, '')
    .replace(/[^\w-]/g, '_')}`;
  print(`Wrote ${certFile} (certificate) and ${keyFile} (private key, mode 0600)
Valid for: ${names.join(', ')} until ${new Date(x509.validTo).toISOString().slice(0, 10)}
SHA-256 fingerprint: ${x509.fingerprint256}

Start the bridge with it:
  wstcp --cert ${sh(certFile)} --key ${sh(keyFile)} 6080 localhost:5900

${trustInstructions(certFile, nickname)}`);
  return { certFile, keyFile, names, fingerprint256: x509.fingerprint256 };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      cert: { type: 'string' },
      key: { type: 'string' },
      days: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
