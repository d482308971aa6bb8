// accept.failed is rate-limited: a descriptor shortage that lasts would otherwise write a line per dropped
// connection. One line per interval, and the next one says how many failures it left out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AcceptFailures } from '../../src/front/accept-failures.js';
import { Logger } from '../../src/observe/log.js';

test('one accept.failed line per interval, the next one counting the failures left out', async () => {
  const lines: string[] = [];
  const log = new Logger({ level: 'info', format: 'json', sink: (line) => lines.push(line) });
  const failures = new AcceptFailures(log, 200);
  const emfile = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
  for (let i = 0; i < 5; i++) failures.report(emfile);
  assert.equal(lines.length, 1);
  await new Promise((resolve) => setTimeout(resolve, 250));
  failures.report(emfile);
  assert.equal(lines.length, 2);
  const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(first!.event, 'accept.failed');
  assert.equal(first!.cause, 'EMFILE');
  assert.equal(first!.suppressed, undefined);
  assert.equal(second!.suppressed, 4);
});
