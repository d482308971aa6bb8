// The limit gates alone: slots are taken per handshake and given back exactly once, per address counts
// are independent, and entries for gone clients are dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { limitGates, maxConnectionsGate, maxPerAddressGate } from '../../src/admission/limits.js';
import type { HandshakeContext, Release } from '../../src/admission/pipeline.js';
import { HttpError } from '../../src/errors.js';

const from = (clientAddress: string) => ({ clientAddress }) as HandshakeContext;

function refusedWith(fn: () => unknown, code: string, status: number): void {
  assert.throws(fn, (err: unknown) => err instanceof HttpError && err.code === code && err.status === status);
}

test('--max-connections refuses with 503 at the limit and frees a slot on release, once', () => {
  const gate = maxConnectionsGate(2);
  const a = gate(from('10.0.0.1')) as Release;
  const b = gate(from('10.0.0.2')) as Release;
  refusedWith(() => gate(from('10.0.0.3')), 'WSTCP_TOO_MANY_CONNECTIONS', 503);
  a();
  a();
  assert.equal(gate.live(), 1, 'a double release frees one slot only');
  const c = gate(from('10.0.0.3')) as Release;
  refusedWith(() => gate(from('10.0.0.4')), 'WSTCP_TOO_MANY_CONNECTIONS', 503);
  b();
  c();
  assert.equal(gate.live(), 0);
});

test('--max-connections-per-ip counts each address apart and forgets addresses at zero', () => {
  const gate = maxPerAddressGate(1);
  const a = gate(from('10.0.0.1')) as Release;
  refusedWith(() => gate(from('10.0.0.1')), 'WSTCP_TOO_MANY_FROM_ADDRESS', 429);
  const b = gate(from('::1')) as Release;
  assert.equal(gate.live('10.0.0.1'), 1);
  a();
  assert.equal(gate.live('10.0.0.1'), 0);
  (gate(from('10.0.0.1')) as Release)();
  b();
  assert.equal(gate.live('::1'), 0);
});

test('limitGates builds only the configured gates, per-address first', () => {
  const base = { handshakeTimeoutMs: 1000, maxMessageBytes: 1, maxHeaderBytes: 1 };
  assert.equal(limitGates({ ...base, maxConnections: undefined, maxConnectionsPerIp: undefined }).length, 0);
  const both = limitGates({ ...base, maxConnections: 5, maxConnectionsPerIp: 1 });
  assert.equal(both.length, 2);
  both[0]!(from('10.0.0.9'));
  refusedWith(() => both[0]!(from('10.0.0.9')), 'WSTCP_TOO_MANY_FROM_ADDRESS', 429);
});
