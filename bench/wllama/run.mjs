// Peer benchmark: llama.cpp's browser build (@wllama/wllama, single-thread wasm) on the same SmolLM2 GGUF and
// the same token ids as ours (bench/out/inputs.json), in headless Chromium. Writes bench/out/peer-wllama.json.
// Normally started by bench/wllama/run.sh.   node bench/wllama/run.mjs [--runs N] [--port 8206]
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const RUNS = arg('--runs') ? Number(arg('--runs')) : null;
const PORT = Number(arg('--port', 8206));
const OUT = path.join(ROOT, 'bench', 'out', 'peer-wllama.json');
const WLLAMA = process.env.WLLAMA_DIR || path.join(ROOT, '.cache', 'wllama', 'node_modules', '@wllama', 'wllama');
const GGUF = path.join(ROOT, 'models', 'smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const SIZES = ['8', '32', '128'];

const write = (obj) => {
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(obj, null, 1) + '\n');
  console.log(`wrote ${path.relative(ROOT, OUT)} (status ${obj.status})`);
};
const version = () => { try { return JSON.parse(fs.readFileSync(path.join(WLLAMA, 'package.json'), 'utf8')).version; } catch { return '?'; } };
const unavailable = (reason) => write({ peer: 'wllama', label: `llama.cpp in wasm (@wllama/wllama ${version()})`, status: 'unavailable', reason, when: new Date().toISOString() });

const MIME = { '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };
function serve() {
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = null;
    if (p === '/' || p === '/index.html') file = path.join(HERE, 'index.html');
    else if (p === '/page.mjs') file = path.join(HERE, 'page.mjs');
    else if (p === '/model.gguf') file = GGUF;
    else if (p.startsWith('/wllama/esm/') && !p.includes('..')) file = path.join(WLLAMA, p.slice('/wllama/'.length));
    if (!file || !fs.existsSync(file)) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'Content-Type': MIME[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store',
      'Content-Length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => { server.once('error', reject); server.listen(PORT, '127.0.0.1', () => resolve(server)); });
}

async function main() {
  if (!fs.existsSync(GGUF)) return unavailable('models/smollm2 GGUF missing (./x models)');
  const inputsPath = path.join(ROOT, 'bench', 'out', 'inputs.json');
  if (!fs.existsSync(inputsPath)) return unavailable('missing bench/out/inputs.json (cargo run --release --example bench_models -- --inputs-only)');
  const all = JSON.parse(fs.readFileSync(inputsPath, 'utf8')).smollm2;
  const inputs = Object.fromEntries(SIZES.map((s) => [s, all[s].ids]));
  const runs = Object.fromEntries(SIZES.map((s) => [s, RUNS || (s === '128' ? 5 : 7)]));
  const { chromium } = await import('playwright');
  const server = await serve();
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  const lines = [];
  try {
    const page = await browser.newPage();
    page.on('console', (m) => lines.push(`[${m.type()}] ${m.text()}`.slice(0, 300)));
    page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`.slice(0, 300)));
    page.on('request', (r) => { if (!r.url().startsWith(`http://127.0.0.1:${PORT}/`) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) lines.push(`[offsite] ${r.url()}`); });
    await page.goto(`http://127.0.0.1:${PORT}/`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
    const r = await page.evaluate((c) => window.runBench(c), { inputs, runs, warmup: 2 });
    if (r.info.multithread || r.info.threads !== 1) throw new Error(`not one thread: ${JSON.stringify(r.info)}`);
    if (lines.some((l) => l.startsWith('[offsite]'))) throw new Error(`requests left the machine: ${lines.filter((l) => l.startsWith('[offsite]')).join(' ')}`);
    const label = `llama.cpp in wasm (@wllama/wllama ${version()}, single-thread build, 1 thread), Chromium ${browser.version()}, ` +
      'prompt pass with logits of the last position only (no attention out)';
    write({ peer: 'wllama', label, status: 'ok', results: { smollm2: r.sizes }, load_ms: r.load_ms,
      details: { when: new Date().toISOString(), machine: `${os.cpus().length} cpus, ${os.cpus()[0]?.model}`, context: r.info.context,
        timing: 'performance.now() around `await wllama.decode(ids, {})` after kvClear(); 2 warm-up runs', console: lines.slice(0, 20) } });
    for (const s of SIZES) console.log(`wllama smollm2 ${s}: ${r.sizes[s].median_ms.toFixed(1)} ms (${r.sizes[s].tokens} tokens)`);
  } catch (e) {
    unavailable(`benchmark failed: ${String(e.message || e).slice(0, 1200)} | ${lines.slice(-5).join(' | ')}`);
  } finally {
    await browser.close();
    server.close();
  }
}

try { await main(); } catch (e) { unavailable(`run.mjs crashed: ${String(e && e.stack ? e.stack : e).slice(0, 1200)}`); }
process.exit(0);
