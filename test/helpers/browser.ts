/**
 * Headless Debian Chromium driven by playwright-core, for the viewer tests. One browser per test file
 * (launching costs about a second); each test opens its own context. Callers check the program first
 * with requireProgram(t, '/usr/bin/chromium', 'chromium').
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { requireProgram } from './programs.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';

/**
 * Launches Chromium headless. Playwright gives every launch a new empty profile directory. The
 * background-networking flags keep Chromium from calling out, which a closed network refuses.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-features=Translate,MediaRouter,OptimizationHints',
    ],
  });
}

/** A new page in its own context; `ignoreHTTPSErrors` for self-signed certificates. */
export async function openPage(
  browser: Browser,
  options: { ignoreHTTPSErrors?: boolean } = {},
): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 800, height: 640 },
    ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
  });
  return context.newPage();
}

/** Saves a full-page screenshot as test-artifacts/NAME.png (kept for CI). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path });
  return path;
}

/** RGBA of the pixel at fractions (fx, fy) of the first canvas matching `selector`. */
export function canvasPixel(page: Page, selector: string, fx: number, fy: number): Promise<number[]> {
  return page.$eval(
    selector,
    (canvas, [x, y]) => {
      const c = canvas as HTMLCanvasElement;
      const ctx = c.getContext('2d');
      if (!ctx) return [];
      return Array.from(ctx.getImageData(Math.floor(c.width * x!), Math.floor(c.height * y!), 1, 1).data);
    },
    [fx, fy],
  );
}

/** Waits until the canvas pixel at (fx, fy) is close to `rgb` (each channel within 16). */
export async function waitForColor(
  page: Page,
  selector: string,
  rgb: [number, number, number],
  timeoutMs = 10000,
  at: [number, number] = [0.5, 0.5],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number[] = [];
  while (Date.now() < deadline) {
    last = await canvasPixel(page, selector, at[0], at[1]).catch(() => []);
    if (last.length === 4 && rgb.every((v, i) => Math.abs(v - last[i]!) <= 16)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`canvas pixel stayed ${JSON.stringify(last)}, expected rgb ${JSON.stringify(rgb)}`);
}

/**
 * Cleanups that run last-in first-out when the test ends (`t.after` runs first-in first-out). Browser
 * tests need the page closed before the bridge, so that no keep-alive connection holds the bridge open.
 */
export function cleanupStack(t: TestContext): (cleanup: () => unknown) => void {
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    let first: unknown;
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}

/**
 * One Chromium per test file: returns `ready(t)`, which checks Chromium and `programs` (pairs of program
 * and Debian package, via requireProgram) and launches the browser on first use. Tests whose programs are
 * missing are skipped (locally) without ever starting it; the browser is closed when the file ends.
 */
export function browserPerFile(...programs: [program: string, pkg: string][]) {
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
  });
  return async (t: TestContext): Promise<Browser | undefined> => {
    const found = [...programs, [CHROMIUM, 'chromium'] as const].map(([program, pkg]) =>
      requireProgram(t, program, pkg),
    );
    if (!found.every(Boolean)) return undefined;
    browser ??= await launchBrowser();
    return browser;
  };
}

/** Waits until the viewer page shows `state` (connecting, connected, password, disconnected, ...). */
export async function waitState(page: Page, state: string, timeoutMs = 15000): Promise<void> {
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout: timeoutMs });
}
