/**
 * The unit files in systemd/ are valid for systemd (systemd-analyze verify), hardened as documented, and
 * socket-activate wstcp with the names cli/systemd.ts looks for.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WSTCP_BIN } from '../helpers/process.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';

const UNITS = fileURLToPath(new URL('../../../systemd/', import.meta.url));

function unit(name: string): string {
  return readFileSync(join(UNITS, name), 'utf8');
}

test('systemd-analyze verify accepts wstcp.service and wstcp.socket', (t) => {
  const analyze = requireProgram(t, 'systemd-analyze', 'systemd');
  if (!analyze) return;
  const { dir } = tempDir(t, 'wstcp-units-');
  // The installed path is /usr/bin/wstcp; here the repository's own bin/wstcp stands in for it.
  writeFileSync(join(dir, 'wstcp.service'), unit('wstcp.service').replaceAll('/usr/bin/wstcp', WSTCP_BIN));
  writeFileSync(join(dir, 'wstcp.socket'), unit('wstcp.socket'));
  const result = spawnSync(
    analyze,
    ['verify', '--man=no', join(dir, 'wstcp.service'), join(dir, 'wstcp.socket')],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr.trim(), '');
});

test('the service is hardened and notifies; the socket names its descriptors as wstcp expects', () => {
  const service = unit('wstcp.service');
  for (const line of [
    'Type=notify',
    'NotifyAccess=all',
    'DynamicUser=yes',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'AmbientCapabilities=CAP_NET_BIND_SERVICE',
    'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
  ]) {
    assert.match(service, new RegExp(`^${line}$`, 'm'), line);
  }
  // The stop timeout leaves the drain time to finish before systemd's SIGKILL.
  const drain = Number(/--drain-timeout (\d+)/.exec(service)?.[1]);
  const stop = Number(/^TimeoutStopSec=(\d+)$/m.exec(service)?.[1]);
  assert.ok(stop > drain, `TimeoutStopSec=${stop} must exceed --drain-timeout ${drain}`);
  const socket = unit('wstcp.socket');
  assert.match(socket, /^FileDescriptorName=wstcp$/m);
  assert.match(socket, /^FileDescriptorName=metrics$/m);
});
