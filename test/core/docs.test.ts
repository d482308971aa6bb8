// The README a newcomer follows (issue 17): its list of the programs the tests need is the one .ci/run
// installs, and every document it links to exists.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

test("the README's apt-get list is .ci/run's PACKAGES", () => {
  const packages = /PACKAGES=\(([^)]*)\)/.exec(read('.ci/run'))?.[1]?.split(/\s+/).filter(Boolean);
  const line = /```sh\napt-get install ([\s\S]*?)\n```/.exec(read('README.md'))?.[1];
  assert.ok(packages && line, 'both lists are found');
  const readme = line.split(/[\s\\]+/).filter(Boolean);
  assert.deepEqual([...readme].sort(), [...packages].sort());
});

test('every docs/ file the README links to exists', () => {
  const links = [...read('README.md').matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]!);
  assert.ok(links.length >= 6);
  for (const link of links) assert.ok(existsSync(new URL(link, ROOT)), link);
});

/** Every .ts file under src/. */
function sources(dir = new URL('src/', ROOT).pathname): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

// An operator looks an event up in docs/operations.md; an event added without a line there is invisible.
test('every log event in src/ is listed in docs/operations.md', () => {
  const doc = read('docs/operations.md');
  const events = new Set<string>();
  for (const file of sources()) {
    for (const match of readFileSync(file, 'utf8').matchAll(
      /\.(?:info|warn|error|debug)\(\s*'([a-z_]+\.[a-z_]+)'/g,
    ))
      events.add(match[1]!);
  }
  assert.ok(events.size > 40, `found ${events.size} events`);
  const missing = [...events].filter((event) => !doc.includes(`\`${event}\``));
  assert.deepEqual(missing, []);
});
