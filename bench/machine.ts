/**
 * Where the numbers came from: the machine, the software versions, and the command, for the report and
 * for docs/performance.md (which keeps everything between its bench markers up to date).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { debianVersion } from './tools.js';

export function machineDescription(): string {
  const cpu = cpus();
  let gcc = 'unknown';
  try {
    gcc = execFileSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).trim();
  } catch {
    // Reported as unknown.
  }
  return [
    `- CPU: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores; memory ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Linux ${release()}`,
    `- Node ${process.version}; websockify ${debianVersion('websockify')} with python3-numpy ${debianVersion('python3-numpy')}; gcc ${gcc}`,
    `- open files per process: ${openFileLimit()}; load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (other work on the machine skews every figure)`,
  ].join('\n');
}

function openFileLimit(): string {
  try {
    const match = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\d+)/m);
    return match?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Replaces the text between the bench markers of `file` (appends the block when they are missing):
 * `<!-- bench:begin -->` for the main results, `<!-- bench:NAME:begin -->` for a named section's.
 */
export function updateDocs(file: string, block: string, name?: string): void {
  const begin = `<!-- bench:${name ? `${name}:` : ''}begin -->`;
  const end = `<!-- bench:${name ? `${name}:` : ''}end -->`;
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Performance\n\n';
  }
  const fresh = `${begin}\n${block.trim()}\n${end}`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  text =
    from >= 0 && to > from
      ? text.slice(0, from) + fresh + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${fresh}\n`;
  writeFileSync(file, text);
}
