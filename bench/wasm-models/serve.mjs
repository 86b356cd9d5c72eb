// What the Chromium scripts of bench/wasm-models share: the repository served on a free localhost port
// (a blank page at '/', files by path, plus any `routes` given as path -> JavaScript source), and Debian's
// Chromium launched headless.
import { chromium } from 'playwright';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html' };

/// Returns { server, base } (base ends with '/').
export async function serveRepo(routes = {}) {
  const server = http.createServer((req, res) => {
    const u = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (u === '/') { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>bench</title>'); return; }
    if (routes[u] !== undefined) { res.setHeader('content-type', 'text/javascript'); res.end(routes[u]); return; }
    fs.readFile(path.join(process.cwd(), u), (err, data) => {
      if (err) { res.statusCode = 404; res.end(); return; }
      res.setHeader('content-type', types[path.extname(u)] || 'application/octet-stream');
      res.end(data);
    });
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, base: `http://127.0.0.1:${server.address().port}/` };
}

export function launchChromium(extraArgs = []) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', ...extraArgs] });
}
