// Every test file runs on the real Dawn device (DUALALIGN_BACKEND picks the adapter: webgpu or webgpu-compat).
import { beforeAll } from 'vitest';
import { init } from '../src/index.js';

if (!process.env.XDG_RUNTIME_DIR) {
  // Mesa's drivers warn without it; any private folder will do.
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'xdg-'));
}

beforeAll(async () => {
  const info = await init();
  if (!(globalThis as { __adapterLogged?: boolean }).__adapterLogged) {
    (globalThis as { __adapterLogged?: boolean }).__adapterLogged = true;
    console.log(`[dualalign-gpu] adapter: ${info.backend} ${info.featureLevel} — ${info.vendor} ${info.architecture} ${info.description}`.trim());
  }
});
