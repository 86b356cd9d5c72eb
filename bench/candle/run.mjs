// candle peer benchmark driver: serve bench/out/candle/ on 127.0.0.1, open it in headless Chromium
// (Playwright, Debian's /usr/bin/chromium), run candle-transformers' BERT (all-MiniLM-L6-v2, wasm32)
// in a dedicated Worker, and write bench/out/peer-candle-wasm.json.
//
//   node bench/candle/run.mjs [--runs N] [--runs128 N] [--warmup N] [--port P] [--verbose]
//   defaults: 7 timed runs (5 at 128 tokens), 2 warm-up runs per size
//   node bench/candle/run.mjs --unavailable "reason"     (just write the unavailable file)
//
// Expects bench/candle/build.sh to have produced bench/out/candle/pkg/. Exits non-zero on failure
// after writing the unavailable file with the specific reason; run.sh turns that into exit 0.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const OUT_DIR = path.join(ROOT, 'bench', 'out');
const SITE = path.join(OUT_DIR, 'candle');
const RESULT = path.join(OUT_DIR, 'peer-candle-wasm.json');
const MODEL_DIR = path.join(ROOT, 'models', 'minilm');
const WASM = path.join(SITE, 'pkg', 'candle_peer_bench_bg.wasm');
const PEER = 'candle-wasm';

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined) throw new Error(`${name} needs a value`);
  return v;
}

function writeUnavailable(reason) {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(RESULT, JSON.stringify({ peer: PEER, status: 'unavailable', reason }, null, 2) + '\n');
  console.error(`[candle] wrote ${path.relative(ROOT, RESULT)}: unavailable: ${reason}`);
}

function candleVersion() {
  // The version actually resolved in the lock file (Cargo.toml pins it with `=`).
  try {
    const lock = fs.readFileSync(path.join(HERE, 'Cargo.lock'), 'utf8');
    const m = lock.match(/name = "candle-transformers"\nversion = "([^"]+)"/);
    if (m) return m[1];
  } catch {}
  const toml = fs.readFileSync(path.join(HERE, 'Cargo.toml'), 'utf8');
  const m = toml.match(/candle-transformers = \{ version = "=?([^"]+)"/);
  return m ? m[1] : 'unknown';
}

function positiveInt(v, name) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

// Lay out the site: static page + worker, model files (symlinked), the shared inputs.
function prepareSite() {
  if (!fs.existsSync(WASM)) throw new Error(`${path.relative(ROOT, WASM)} missing: run bench/candle/build.sh first`);
  for (const f of ['index.html', 'page.js', 'worker.js']) {
    fs.copyFileSync(path.join(HERE, f), path.join(SITE, f));
  }
  const model = path.join(SITE, 'model');
  fs.mkdirSync(model, { recursive: true });
  for (const f of ['model.safetensors', 'config.json']) {
    const src = path.join(MODEL_DIR, f);
    if (!fs.existsSync(src)) throw new Error(`model file missing: ${path.relative(ROOT, src)}`);
    const dst = path.join(model, f);
    fs.rmSync(dst, { force: true });
    fs.symlinkSync(src, dst);
  }
  const inputs = path.join(OUT_DIR, 'inputs.json');
  if (!fs.existsSync(inputs)) throw new Error('bench/out/inputs.json missing (the shared token ids)');
  const parsed = JSON.parse(fs.readFileSync(inputs, 'utf8'));
  for (const size of ['8', '32', '128']) {
    if (!parsed?.minilm?.[size]?.ids?.length) throw new Error(`inputs.json has no minilm.${size}.ids`);
  }
  fs.copyFileSync(inputs, path.join(SITE, 'inputs.json'));
  return parsed;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.safetensors': 'application/octet-stream',
  '.ts': 'text/plain',
};

function serve(port) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    let rel = decodeURIComponent(url.pathname);
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.resolve(SITE, '.' + rel);
    if (!file.startsWith(SITE + path.sep)) { res.writeHead(403).end(); return; }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) { res.writeHead(404).end('not found'); return; }
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'content-length': st.size,
        'cache-control': 'no-store',
      });
      fs.createReadStream(file).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => {
      if (e.code === 'EADDRINUSE' && port !== 0) {
        console.error(`[candle] port ${port} busy, using a free one`);
        resolve(serve(0));
      } else reject(e);
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function main() {
  const unavailable = arg('--unavailable', null);
  if (unavailable !== null) { writeUnavailable(unavailable); return; }

  const explicitRuns = arg('--runs', null);
  const runs = positiveInt(explicitRuns ?? 7, '--runs');
  const runs128 = positiveInt(arg('--runs128', explicitRuns ?? 5), '--runs128');
  const warmup = Number(arg('--warmup', 2));
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`--warmup must be a non-negative integer`);
  const port = Number(arg('--port', 8201));

  const inputs = prepareSite();
  const version = candleVersion();
  const wasmBytes = fs.readFileSync(WASM);

  let chromium;
  try {
    ({ chromium } = await import('playwright'));
  } catch (e) {
    throw new Error(`cannot import playwright (run from the project root with node_modules present): ${e.message}`);
  }
  const exe = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(exe)) throw new Error(`chromium not found at ${exe}`);

  const server = await serve(port);
  const base = `http://127.0.0.1:${server.address().port}/`;
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: exe, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage();
    const logs = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    console.error(`[candle] ${base}?runs=${runs}&runs128=${runs128}&warmup=${warmup} in Chromium ${browser.version()}`);
    await page.goto(`${base}?runs=${runs}&runs128=${runs128}&warmup=${warmup}`);
    let res;
    try {
      await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 600_000, polling: 250 });
      res = await page.evaluate(() => window.__result);
    } catch (e) {
      throw new Error(`no result from the page (${e.message.split('\n')[0]}); console: ${logs.slice(-5).join(' | ') || 'empty'}`);
    }
    if (!res.ok) throw new Error(`benchmark failed in the worker: ${res.error}`);

    // Sanity: the 8-token first row must be finite and non-trivial.
    const row = res.first_row_8;
    if (!row.every(Number.isFinite)) throw new Error('non-finite values in the last hidden state');
    const norm = Math.sqrt(row.reduce((s, x) => s + x * x, 0));
    if (!(norm > 1e-3)) throw new Error(`last hidden state row 0 is ~zero (norm ${norm})`);
    fs.writeFileSync(path.join(SITE, 'first_row_8.json'), JSON.stringify({ ids: inputs.minilm['8'].ids, row }) + '\n');

    const chromiumVersion = browser.version();
    const simd = res.simd128 ? 'wasm32 + simd128' : 'wasm32 (no simd128)';
    const out = {
      peer: PEER,
      label: `candle-transformers ${version} BERT, ${simd}, Chromium ${chromiumVersion}, 1 thread, dedicated Worker`,
      status: 'ok',
      results: { minilm: res.results },
      check: { minilm: res.check },
      load_ms: res.load_ms,
      wasm_raw_bytes: wasmBytes.length,
      wasm_gzip_bytes: zlib.gzipSync(wasmBytes, { level: 9 }).length,
    };
    fs.writeFileSync(RESULT, JSON.stringify(out, null, 2) + '\n');
    for (const [size, r] of Object.entries(res.results)) {
      console.error(`[candle] ${size} (${r.tokens} tokens): median ${r.median_ms.toFixed(1)} ms, min ${r.min_ms.toFixed(1)}, max ${r.max_ms.toFixed(1)} over ${r.runs}`);
      if (process.argv.includes('--verbose')) console.error(`[candle]   runs: ${res.raw[size].map((t) => t.toFixed(1)).join(' ')}`);
    }
    console.error(`[candle] load ${res.load_ms.toFixed(0)} ms; row0[0..8] = ${res.check['8'].last_hidden_first_row_first8.map((x) => x.toFixed(5)).join(', ')}`);
    console.error(`[candle] wrote ${path.relative(ROOT, RESULT)}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    server.close();
  }
}

main().catch((e) => {
  writeUnavailable(String(e && e.message ? e.message : e));
  process.exit(2);
});
