/**
 * What the benchmark needs before it can measure: the C tools (compiled here with gcc -O2 into
 * bench/bin/), the Python websockify (installed with apt-get when missing and we are root), and a
 * throwaway self-signed certificate for the wss figures.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface Tools {
  wsload: string;
  echoTarget: string;
  sourceTarget: string;
  /** False when the load generator was built without OpenSSL (no libssl-dev): wss figures are skipped. */
  tls: boolean;
}

function newer(source: string, binary: string): boolean {
  return !existsSync(binary) || statSync(source).mtimeMs > statSync(binary).mtimeMs;
}

function gcc(args: string[]): boolean {
  const result = spawnSync('gcc', args, { stdio: ['ignore', 'inherit', 'pipe'] });
  if (result.status !== 0) process.stderr.write(result.stderr);
  return result.status === 0;
}

/** Compiles bench/c/*.c into bench/bin/ (only what changed). Throws when gcc is missing or fails. */
export function buildTools(root: string): Tools {
  const src = join(root, 'bench', 'c');
  const bin = join(root, 'bench', 'bin');
  mkdirSync(bin, { recursive: true });
  const tools: Tools = {
    wsload: join(bin, 'wsload'),
    echoTarget: join(bin, 'echo_target'),
    sourceTarget: join(bin, 'source_target'),
    tls: true,
  };
  for (const name of ['echo_target', 'source_target']) {
    const out = join(bin, name);
    const changed = newer(join(src, `${name}.c`), out) || newer(join(src, 'listen.h'), out);
    if (changed && !gcc(['-O2', '-Wall', '-o', out, join(src, `${name}.c`)])) {
      throw new Error(`gcc failed on bench/c/${name}.c (apt-get install gcc)`);
    }
  }
  const wsloadSource = join(src, 'wsload.c');
  const tlsMarker = join(bin, 'wsload.notls');
  if (newer(wsloadSource, tools.wsload) || existsSync(tlsMarker)) {
    const common = ['-O2', '-Wall', '-pthread', '-o', tools.wsload, wsloadSource];
    if (!gcc([...common, '-lssl', '-lcrypto'])) {
      process.stderr.write(
        'bench: building wsload without TLS (apt-get install libssl-dev for the wss figures)\n',
      );
      if (!gcc([...common, '-DWSLOAD_NO_TLS'])) throw new Error('gcc failed on bench/c/wsload.c');
      execFileSync('touch', [tlsMarker]);
    } else {
      spawnSync('rm', ['-f', tlsMarker]);
    }
  }
  tools.tls = !existsSync(tlsMarker);
  return tools;
}

function debianPython(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function websockifyReady(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v websockify'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  if (which.status !== 0 || !path) return undefined;
  // Without numpy websockify unmasks frames in pure Python: far slower than the packaged setup.
  const numpy = spawnSync(debianPython(), ['-c', 'import numpy'], { stdio: 'ignore' });
  return numpy.status === 0 ? path : undefined;
}

/**
 * Returns the websockify executable, installing Debian's `websockify` and `python3-numpy` when they are
 * missing and we run as root. Returns undefined (after saying why) when it cannot.
 */
export function ensureWebsockify(): string | undefined {
  const ready = websockifyReady();
  if (ready) return ready;
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      'bench: the Python websockify (with numpy) is missing and we are not root: run\n' +
        '  sudo apt-get install -y websockify python3-numpy\n' +
        'then run the benchmark again. Continuing with wstcp figures only.\n',
    );
    return undefined;
  }
  process.stderr.write('bench: installing websockify and python3-numpy with apt-get\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let install = spawnSync('apt-get', ['install', '-y', 'websockify', 'python3-numpy'], {
    stdio: 'inherit',
    env,
  });
  if (install.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    install = spawnSync('apt-get', ['install', '-y', 'websockify', 'python3-numpy'], {
      stdio: 'inherit',
      env,
    });
  }
  const path = websockifyReady();
  if (!path)
    process.stderr.write('bench: apt-get could not install websockify; continuing with wstcp only.\n');
  return path;
}

/** Version strings for the report ("0.10.0+dfsg1-4+b1"), or "unknown". */
export function debianVersion(pkg: string): string {
  // Prints "name<TAB>version".
  const result = spawnSync('dpkg-query', ['-W', pkg], { encoding: 'utf8' });
  const version = result.status === 0 ? result.stdout.trim().split('\t')[1] : undefined;
  return version || 'unknown';
}

/**
 * Writes a self-signed certificate for 127.0.0.1 into `dir`/tls; returns the cert and key paths. A
 * directory of its own: wstcp watches the certificate's directory for renewals, and the bridges' log
 * files must not wake that watcher during the measurements.
 */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const tlsDir = join(dir, 'tls');
  mkdirSync(tlsDir, { recursive: true });
  const cert = join(tlsDir, 'cert.pem');
  const key = join(tlsDir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1'].concat([
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
  return { cert, key };
}
