/**
 * Shared by the browser tests: the static server (scripts/serve.mjs) and a headless Chromium with
 * WebGPU on SwiftShader, driven by playwright-core. Set CHROMIUM_PATH to use another binary.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
// @ts-expect-error plain .mjs script without types
import { startServer } from '../../scripts/serve.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const skipReason = `browser tests skipped: ${CHROMIUM} not found (install Debian's chromium: \`bash scripts/setup.sh --browser\`, or set CHROMIUM_PATH)`;
if (!hasChromium) console.warn(`[test:browser] ${skipReason}`);

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
  '--no-sandbox',
  '--headless=new',
  '--disable-gpu-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-quic',
];

export interface Session {
  baseUrl: string;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors so far (for failure messages). */
  errors: string[];
  /** Every console line so far. */
  logs: string[];
  close(): Promise<void>;
}

/** Starts the server and a fresh browser profile, and opens `path` (relative to the repo root). */
export async function openSession(path: string, viewport = { width: 1200, height: 900 }): Promise<Session> {
  const server = await startServer({ port: 0, quiet: true });
  const userDataDir = mkdtempSync(join(tmpdir(), 'dualalign-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    const logs: string[] = [];
    page.on('console', (m) => {
      logs.push(`[${m.type()}] ${m.text()}`);
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(new URL(path, server.url).href);
    const ctx = context;
    return {
      baseUrl: server.url,
      context: ctx,
      page,
      errors,
      logs,
      async close() {
        await ctx.close().catch(() => {});
        await server.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await context?.close().catch(() => {});
    await server.close();
    rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
}
