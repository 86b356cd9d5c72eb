// Peer benchmark: ONNX Runtime Web (wasm EP, SIMD, 1 thread) running the MiniLM ONNX export in headless
// Chromium, inside a dedicated Web Worker (as our app's forward pass is). Writes bench/out/peer-ort-web.json.
// Normally started by bench/ort/run.sh (which exports the model and installs onnxruntime-web first).
//   node bench/ort/run.mjs [--runs N] [--warmup 2] [--port 8202] [--no-extra] [--out FILE]
// --runs N sets the timed runs for every size (default 7, and 5 at 128 tokens); 2 warm-up runs always.
// On any failure the output file still gets written, with status "unavailable" and the reason; exit code 0.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const RUNS = arg('--runs') ? Number(arg('--runs')) : null;
const PORT = Number(arg('--port', process.env.ORT_BENCH_PORT || 8202));
const OUT = path.resolve(arg('--out', path.join(ROOT, 'bench', 'out', 'peer-ort-web.json')));
const EXTRA = !process.argv.includes('--no-extra');
const ORT_DIR = process.env.ORT_WEB_DIR || path.join(ROOT, '.cache', 'ort-web', 'node_modules', 'onnxruntime-web');
const MODEL_DIR = path.join(ROOT, 'bench', 'out', 'ort');
const INPUTS = path.join(ROOT, 'bench', 'out', 'inputs.json');
const SIZES = ['8', '32', '128'];
const runsFor = (size) => RUNS || (size === '128' ? 5 : 7);
const WARMUP = Number(arg('--warmup', 2));

const writeOut = (obj) => {
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(obj, null, 1) + '\n');
  console.log(`wrote ${path.relative(ROOT, OUT)} (status ${obj.status})`);
};
const unavailable = (reason, label) => writeOut({ peer: 'ort-web', label: label || 'onnxruntime-web (wasm)',
  status: 'unavailable', reason, when: new Date().toISOString() });

// ---------------------------------------------------------------------------------------------- server
const MIME = { '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript', '.js': 'text/javascript',
  '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.json': 'application/json' };
const served = new Set();

function serve(port, isolated) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let p = decodeURIComponent(url.pathname);
    let file = null;
    if (p === '/cpu') { // machine CPU counters for the worker, sampled outside the timed region
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store',
        ...(isolated ? { 'Cross-Origin-Resource-Policy': 'same-origin' } : {}) });
      res.end(JSON.stringify({ jiffies: cpuJiffies(), ncpu: os.cpus().length }));
      return;
    }
    if (p === '/' || p === '/index.html') file = path.join(HERE, 'index.html');
    else if (p === '/worker.mjs') file = path.join(HERE, 'worker.mjs');
    else if (p.startsWith('/ort/')) file = path.join(ORT_DIR, 'dist', path.basename(p));
    else if (p.startsWith('/models/') && p.endsWith('.onnx')) file = path.join(MODEL_DIR, path.basename(p));
    const headers = { 'Cache-Control': 'no-store' };
    if (isolated) Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' });
    if (!file || !fs.existsSync(file)) { res.writeHead(404, headers); res.end('not found'); return; }
    served.add(p);
    const st = fs.statSync(file);
    res.writeHead(200, { ...headers, 'Content-Type': MIME[path.extname(file)] || 'application/octet-stream',
      'Content-Length': st.size });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

// Busy / total jiffies of the whole machine (/proc/stat), to tell a quiet run from a contended one.
function cpuJiffies() {
  try {
    const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = v[3] + v[4];
    const total = v.reduce((a, b) => a + b, 0);
    return [total - idle, total];
  } catch { return null; }
}
const busyCores = (a, b) => (a && b && b[1] > a[1] ? +(((b[0] - a[0]) / (b[1] - a[1])) * os.cpus().length).toFixed(3) : null);

// ---------------------------------------------------------------------------------------------- main
async function main() {
  const ortPkg = path.join(ORT_DIR, 'package.json');
  if (!fs.existsSync(ortPkg)) return unavailable(`onnxruntime-web not installed at ${path.relative(ROOT, ORT_DIR)}`);
  const ORT_VERSION = JSON.parse(fs.readFileSync(ortPkg, 'utf8')).version;
  for (const f of ['minilm.onnx', 'minilm-hidden.onnx']) {
    if (!fs.existsSync(path.join(MODEL_DIR, f))) return unavailable(`missing ${path.relative(ROOT, path.join(MODEL_DIR, f))} (run bench/ort/export_onnx.py)`);
  }
  if (!fs.existsSync(INPUTS)) return unavailable('missing bench/out/inputs.json');
  const inputs = Object.fromEntries(SIZES.map((s) => [s, JSON.parse(fs.readFileSync(INPUTS, 'utf8')).minilm[s].ids]));

  let chromium;
  try { ({ chromium } = await import('playwright')); } catch (e) {
    return unavailable(`cannot import playwright from the project's node_modules: ${e.message}`);
  }
  const plain = await serve(PORT, false);
  const isolated = await serve(PORT + 1, true);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const chromeVersion = browser.version();
  const label = (threads, what) => `onnxruntime-web ${ORT_VERSION}, wasm SIMD, ${threads} thread${threads > 1 ? 's' : ''}` +
    `${threads > 1 ? ' (cross-origin isolated)' : ''}, dedicated Web Worker, Chromium ${chromeVersion}, ${what}`;
  const consoleLines = [];

  async function run(cfg, port) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`.slice(0, 500)));
    page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`.slice(0, 500)));
    try {
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
      const info = await page.evaluate(() => window.pageInfo());
      const t0 = Date.now();
      const j0 = cpuJiffies();
      const r = await page.evaluate((c) => window.runBench(c), cfg);
      r.machine_busy_cores = busyCores(j0, cpuJiffies());
      r.page = info;
      r.wall_s = (Date.now() - t0) / 1000;
      return r;
    } finally {
      await context.close();
    }
  }
  const sizesCfg = Object.fromEntries(SIZES.map((s) => [s, runsFor(s)]));
  const base = { sizes: sizesCfg, warmup: WARMUP, inputs };
  const pick = (r) => Object.fromEntries(SIZES.map((s) => {
    const { median_ms, min_ms, max_ms, runs, tokens, outputs } = r.sizes[s];
    return [s, { median_ms, min_ms, max_ms, runs, tokens, outputs }];
  }));

  const out = { peer: 'ort-web', label: label(1, 'all attentions output'), status: 'ok' };
  const details = { when: new Date().toISOString(), onnxruntime_web: ORT_VERSION, chromium: chromeVersion,
    machine: `${os.cpus().length} cpus, ${os.cpus()[0]?.model}`, loadavg_before: os.loadavg(), warmup_runs: WARMUP,
    timing: 'performance.now() around `await session.run(feeds)` only, feeds built once per size; session created once',
    machine_busy_cores: 'runs.*.machine_busy_cores: whole-machine CPU use (in cores, /proc/stat) while a configuration ran ' +
      '(page load, model fetch, session creation incl. V8 background compilation, runs); runs.*.sizes.*.machine_busy_cores: ' +
      'the same over the timed runs of one size only: about the thread count on a quiet machine',
    input: 'bench/out/inputs.json minilm ids, batch 1, attention_mask 1, token_type_ids 0, no padding' };
  try {
    const exportInfo = path.join(MODEL_DIR, 'export.json');
    if (fs.existsSync(exportInfo)) details.export = JSON.parse(fs.readFileSync(exportInfo, 'utf8'));
    const main1 = await run({ ...base, model: '/models/minilm.onnx', threads: 1 }, PORT);
    out.results = { minilm: pick(main1) };
    out.extra = {};
    details.runs = { main: main1 };
    if (EXTRA) {
      for (const [key, cfg, port] of [
        ['minilm_hidden_only', { ...base, model: '/models/minilm-hidden.onnx', threads: 1 }, PORT],
        ['threads_2', { ...base, model: '/models/minilm.onnx', threads: 2 }, PORT + 1],
      ]) {
        try {
          const r = await run(cfg, port);
          if (cfg.threads > 1 && !r.cross_origin_isolated) throw new Error('page was not cross-origin isolated');
          out.extra[key] = pick(r);
          details.runs[key] = r;
          details.extra_labels = { ...details.extra_labels, [key]: key === 'threads_2'
            ? label(2, 'all attentions output') : label(1, 'last hidden state only (minilm-hidden.onnx)') };
        } catch (e) {
          details.extra_errors = { ...details.extra_errors, [key]: String(e.message || e).slice(0, 1000) };
        }
      }
    }
    out.check = { minilm: Object.fromEntries(SIZES.map((s) => [s,
      { last_hidden_first_row_first8: main1.sizes[s].last_hidden_first_row_first8 }])) };
    out.load_ms = main1.fetch_ms + main1.create_session_ms;
    details.load = { what: 'fetch of minilm.onnx from 127.0.0.1 + InferenceSession.create, in the worker',
      fetch_ms: main1.fetch_ms, create_session_ms: main1.create_session_ms };
    details.files_served = [...served].sort();
    if (process.env.ORT_SETUP_S) { try { details.setup_s = JSON.parse(process.env.ORT_SETUP_S); } catch { /* ignore */ } }
    details.loadavg_after = os.loadavg();
    if (consoleLines.length) details.console = consoleLines.slice(0, 50);
    out.details = details;
    writeOut(out);
    for (const [k, rows] of [['minilm', out.results.minilm], ...Object.entries(out.extra)]) {
      console.log(`${k}: ` + SIZES.map((s) => `${s}: ${rows[s].median_ms.toFixed(2)} ms`).join(', '));
    }
  } catch (e) {
    unavailable(`benchmark failed: ${String(e.message || e).slice(0, 1500)}` +
      (consoleLines.length ? ` | console: ${consoleLines.slice(-5).join(' | ')}` : ''), out.label);
  } finally {
    await browser.close();
    plain.close();
    isolated.close();
  }
}

try {
  await main();
} catch (e) {
  unavailable(`run.mjs crashed: ${String(e && e.stack ? e.stack : e).slice(0, 1500)}`);
}
process.exit(0);
