#!/usr/bin/env node
// A tiny static server for the browser example and the browser tests, on loopback only.
//
//   node scripts/serve.mjs [--port N]      # then open http://127.0.0.1:N/ (default port 8080)
//   node scripts/serve.mjs --build [DIR]   # or write the page as static files (default examples/web/dist)
//
// It serves the repository root read-only (dotfiles refused), redirects / to /examples/web/, and
// builds /examples/web/app.js from examples/web/app.ts on request with esbuild (incremental, so a
// reload picks up source edits; WGSL inlined, Dawn swapped for navigator.gpu as in scripts/build.mjs).
// WebGPU needs a secure context: http://127.0.0.1 and http://localhost are, other hosts are not.
import { createServer } from 'node:http';
import { copyFileSync, createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Same swap as scripts/build.mjs: Dawn (Node) -> navigator.gpu. For esbuild builds of browser code from src/. */
export const browserShims = {
  name: 'browser-shims',
  setup(b) {
    b.onResolve({ filter: /\/dawn\.js$/ }, (args) => ({ path: join(args.resolveDir, 'dawn-browser.ts') }));
  },
};

/**
 * The example imports the package by name, as a user's app would ('dualalign-gpu', 'dualalign-gpu/io');
 * here those names resolve to the sources of the package's browser entries, so a reload picks up edits.
 */
export const PUBLIC_ENTRIES = { 'dualalign-gpu': 'src/browser.ts', 'dualalign-gpu/io': 'src/io/index.ts' };
export const publicApi = {
  name: 'public-api',
  setup(b) {
    b.onResolve({ filter: /^dualalign-gpu(\/.*)?$/ }, (args) => {
      const entry = PUBLIC_ENTRIES[args.path];
      if (!entry) return { errors: [{ text: `'${args.path}' is not an export of dualalign-gpu (exports: ${Object.keys(PUBLIC_ENTRIES).join(', ')})` }] };
      return { path: join(root, entry) };
    });
  },
};

/** The esbuild options for the example app (also used by tests that want the bundle without a server). */
export async function appBuildOptions() {
  return {
    absWorkingDir: root,
    entryPoints: ['examples/web/app.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    loader: { '.wgsl': 'text' },
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
    plugins: [publicApi, browserShims],
  };
}

function makeAppBuilder() {
  let ctx = null;
  return {
    async build() {
      if (!ctx) {
        const { context } = await import('esbuild');
        ctx = await context(await appBuildOptions());
      }
      const result = await ctx.rebuild();
      return result.outputFiles[0].contents;
    },
    async dispose() {
      await ctx?.dispose();
      ctx = null;
    },
  };
}

/** Writes the example as static files: index.html, style.css and the bundled app.js (any static host serves them). */
export async function buildStatic(outDir = join(root, 'examples/web/dist')) {
  const { build } = await import('esbuild');
  const result = await build({ ...(await appBuildOptions()), sourcemap: false, minify: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'app.js'), result.outputFiles[0].contents);
  for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'examples/web', f), join(outDir, f));
  return outDir;
}

function send(res, status, body, type = 'text/plain; charset=utf-8', extra = {}) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra });
  res.end(body);
}

/**
 * Starts the server. port 0 picks a free one. Resolves to { url, port, close() }.
 * Bound to 127.0.0.1 only: nothing off this machine can reach it.
 */
export async function startServer({ port = 8080, quiet = false } = {}) {
  const app = makeAppBuilder();
  const log = quiet ? () => {} : (...a) => console.log('[serve]', ...a);
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n', undefined, { allow: 'GET, HEAD' });
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let path = decodeURIComponent(url.pathname);
      if (path === '/' || path === '/examples/web') return send(res, 302, '', undefined, { location: '/examples/web/' });
      if (path === '/favicon.ico') return send(res, 204, '');
      if (path === '/examples/web/app.js') {
        try {
          const js = await app.build();
          return send(res, 200, req.method === 'HEAD' ? '' : js, TYPES['.js']);
        } catch (e) {
          const msg = (e.errors ?? []).map((m) => `${m.location?.file ?? ''}:${m.location?.line ?? ''}: ${m.text}`).join('\n') || String(e);
          log(`build of examples/web/app.ts failed:\n${msg}`);
          // A script that shows the build error on the page instead of a blank screen.
          return send(res, 200, `document.body.insertAdjacentHTML('afterbegin', ${JSON.stringify(`<pre role="alert" style="color:#b00;white-space:pre-wrap">build of examples/web/app.ts failed:\n${msg.replace(/</g, '&lt;')}</pre>`)});`, TYPES['.js']);
        }
      }
      if (path.endsWith('/')) path += 'index.html';
      const file = resolve(root, `.${path}`);
      if (!(file === root || file.startsWith(root + sep)) || path.split('/').some((p) => p.startsWith('.'))) return send(res, 403, 'forbidden\n');
      if (!existsSync(file) || !statSync(file).isFile()) return send(res, 404, `not found: ${path}\n`);
      const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
      res.writeHead(200, { 'content-type': type, 'content-length': statSync(file).size, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    } catch (e) {
      send(res, 500, `${e?.message ?? e}\n`);
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  const actual = server.address().port;
  const url = `http://127.0.0.1:${actual}/`;
  log(`serving ${root} at ${url} (example: ${url}examples/web/)`);
  return {
    url,
    port: actual,
    async close() {
      server.closeAllConnections?.();
      await new Promise((ok) => server.close(() => ok()));
      await app.dispose();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  let port = 8080;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--build') {
      const dir = args[i + 1] && !args[i + 1].startsWith('-') ? resolve(args[i + 1]) : undefined;
      const out = await buildStatic(dir);
      console.log(`[serve] wrote ${out}/{index.html,style.css,app.js}: serve that folder over https or from localhost (WebGPU needs a secure context)`);
      process.exit(0);
    }
    if (a === '--port' || a === '-p') port = Number(args[++i]);
    else if (a.startsWith('--port=')) port = Number(a.slice(7));
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/serve.mjs [--port N]   (serves the repo on http://127.0.0.1:N/, example at /examples/web/)\n       node scripts/serve.mjs --build [DIR]   (writes the example as static files, default examples/web/dist)');
      process.exit(0);
    } else {
      console.error(`serve.mjs: unknown option '${a}' (see --help)`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('serve.mjs: --port needs an integer 0..65535');
    process.exit(2);
  }
  const s = await startServer({ port });
  const stop = async () => {
    await s.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
