// Browser benchmark (`./x bench`): serves dist/ on localhost, drives Debian's Chromium with Playwright and
// writes bench/out/browser.json. Figures are medians of several runs; nothing here is asserted.
//   node bench/browser.mjs [--runs 5]
import { chromium } from 'playwright';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { hoverInPage } from './hovers.mjs';

const RUNS = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const PORT = 8199;
const BASE = `http://127.0.0.1:${PORT}/`;
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-precise-memory-info'];

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs.length });
// Must match examples/bench_models.rs `sentence`, which wrote the peers' token ids.
const words = (n) => Array.from({ length: n }, (_, i) => ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'then', 'it', 'ran', 'to', 'home'][i % 12]).join(' ');

const server = spawn('python3', ['-m', 'http.server', String(PORT), '--bind', '127.0.0.1', '--directory', 'dist'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 800));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
const out = { when: new Date().toISOString(), machine: `${process.platform} ${process.arch}`, runs: RUNS };

async function freshPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const bytes = { total: 0 };
  page.on('response', async (r) => { try { bytes.total += (await r.body()).length; } catch { /* redirects, aborted */ } });
  return { context, page, bytes };
}

// The hover figures: see bench/hovers.mjs.
async function hoverTimes(page, n, runs) {
  const r = await page.evaluate(hoverInPage, { n, runs });
  return {
    script: spread(r.xs.map((x) => x.script)),
    script_and_layout: spread(r.xs.map((x) => x.layout)),
    to_next_frame: spread(r.xs.map((x) => x.frame)),
    empty_frame: r.emptyFrame,
  };
}

async function perf(page) { return page.evaluate(() => window.__arcsPerf || {}); }

async function waitPerf(page, pred, timeout = 180_000) {
  const t0 = Date.now();
  for (;;) {
    const p = await perf(page);
    if (pred(p)) return p;
    if (Date.now() - t0 > timeout) throw new Error('timed out waiting for the page');
    await page.waitForTimeout(50);
  }
}

try {
  // Navigation to first arcs (cold context each run).
  const firstArcs = [];
  for (let i = 0; i < RUNS; i++) {
    const { context, page } = await freshPage();
    await page.goto(BASE);
    await page.waitForSelector('path[data-from]');
    firstArcs.push((await perf(page)).first_arcs_ms);
    await context.close();
  }
  out.navigation_to_first_arcs_ms = spread(firstArcs);

  // Toy recompute per keystroke and hover repaint.
  {
    const { context, page } = await freshPage();
    await page.goto(BASE);
    await page.waitForSelector('path[data-from]');
    out.toy_recompute_ms = {};
    out.hover_repaint_ms = {};
    for (const n of [16, 64, 256]) {
      await page.getByTestId('sentence-input').fill(words(n));
      await page.waitForFunction((n) => document.querySelectorAll('[data-token-index]').length === n, n);
      const xs = [];
      for (let k = 0; k < RUNS; k++) {
        for (const m of ['self', 'causal']) {
          await page.click(`button[data-mode="${m}"]`);
          xs.push((await perf(page)).last_compute_ms);
        }
      }
      out.toy_recompute_ms[n] = spread(xs);
      out.hover_repaint_ms[n] = await hoverTimes(page, n, RUNS * 2);
    }
    await context.close();
  }

  // Real models through the worker: time to ready (cold, then warm from the browser cache), forward
  // times, bytes downloaded, memory.
  for (const model of ['minilm', 'smollm2']) {
    const r = {};
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // One worker, as the peers run on one thread (the app's own use of more cores is timed below).
    await context.addInitScript(() => { window.__arcsNoHelper = true; });
    let bytes = 0;
    context.on('response', async (resp) => { try { bytes += (await resp.body()).length; } catch { /* ignore */ } });
    for (const phase of ['cold', 'warm']) {
      const page = await context.newPage();
      const t0 = Date.now();
      await page.goto(`${BASE}#model=${model}&m=multi-head&s=${encodeURIComponent(words(8))}`);
      const p = await waitPerf(page, (p) => p.model_ready_ms && p.model_ready_ms[model] !== undefined && p.forwards > 0);
      r[`ready_${phase}_ms`] = { worker_load_ms: p.model_ready_ms[model], page_to_first_model_arcs_ms: Date.now() - t0, from_cache: p.model_from_cache[model] };
      if (phase === 'cold') {
        // The worker's own downloads are not reported to the page: add the model's published size.
        r.bytes_downloaded_cold = bytes + (p.model_from_cache[model] ? 0 : p.model_bytes[model]);
        for (const n of [8, 32, 128]) {
          // The same token ids as the peers (bench/out/inputs.json): the text alternates with a
          // capitalised first word, which MiniLM lower-cases and SmolLM2 reads as one token too,
          // so every run is a fresh request of the same length. Two warm-ups first, as for the
          // peers, so the JIT's optimised code is what is timed.
          const reps = n >= 128 ? 5 : RUNS;
          const xs = [];
          const trips = [];
          let toks = 0;
          for (let k = 0; k < reps + 2; k++) {
            const before = (await perf(page)).forwards;
            const text = k % 2 ? words(n) : 'T' + words(n).slice(1);
            await page.getByTestId('sentence-input').fill(text);
            const q = await waitPerf(page, (q) => q.forwards > before, 60_000);
            if (k >= 2) {
              xs.push(q.last_forward_ms);
              trips.push(q.last_roundtrip_ms);
            }
            toks = q.last_forward_tokens;
          }
          r[`forward_ms_${n}`] = { ...spread(xs), tokens: toks };
          r[`roundtrip_ms_${n}`] = { ...spread(trips), tokens: toks };
        }
        r.worker_build = (await perf(page)).worker_build;
        const cdp = await context.newCDPSession(page);
        await cdp.send('Performance.enable');
        const m = await cdp.send('Performance.getMetrics');
        const get = (k) => (m.metrics.find((x) => x.name === k) || {}).value;
        r.page_js_heap_used_mb = get('JSHeapUsedSize') / 1e6;
        r.worker_wasm_memory_peak_mb = (await perf(page)).worker_wasm_memory_bytes / 1e6;
        r.page_js_heap_total_mb = get('JSHeapTotalSize') / 1e6;
      }
      await page.close();
    }
    out[model] = r;
    await context.close();
  }

  // MiniLM with helper workers. The page asks for them only with 4+ logical cores; here the core count
  // is overridden (4: three helpers) so they run on whatever this machine has, and the worker picks
  // split or alone as it measured faster: the figure says what that gives on this machine's cores.
  {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 4 }));
    const page = await context.newPage();
    await page.goto(`${BASE}#model=minilm&m=multi-head&s=${encodeURIComponent(words(32))}`);
    await waitPerf(page, (p) => p.model_ready_ms && p.model_ready_ms.minilm !== undefined && p.forwards > 0);
    const xs = [];
    let helped = 0;
    // Four warm-ups: the helpers load, and the worker measures alone and split before it settles.
    for (let k = 0; k < RUNS + 4; k++) {
      const before = (await perf(page)).forwards;
      await page.getByTestId('sentence-input').fill(k % 2 ? words(32) : 'T' + words(32).slice(1));
      const q = await waitPerf(page, (q) => q.forwards > before, 60_000);
      if (k >= 4) {
        xs.push(q.last_forward_ms);
        helped += q.last_forward_helped ? 1 : 0;
      }
    }
    out.minilm_with_helper = { cores: (await page.evaluate(() => navigator.hardwareConcurrency)), machine_cores: os.cpus().length, forward_ms_32: { ...spread(xs), tokens: (await perf(page)).last_forward_tokens, split_passes: helped } };
    await context.close();
  }

  // SmolLM2 as the app runs it on this machine's real cores: with a helper worker from two cores on,
  // split or alone as the worker measured faster. Set against the one-worker figures above ("the app
  // never gets slower than one worker").
  {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${BASE}#model=smollm2&m=multi-head&s=${encodeURIComponent(words(8))}`);
    await waitPerf(page, (p) => p.model_ready_ms && p.model_ready_ms.smollm2 !== undefined && p.forwards > 0);
    const r = { cores: await page.evaluate(() => navigator.hardwareConcurrency) };
    for (const n of [32, 128]) {
      const reps = n >= 128 ? 6 : 2 * RUNS;
      const xs = [];
      let helped = 0;
      // Four warm-ups: the worker measures alone and split before it settles.
      for (let k = 0; k < reps + 4; k++) {
        const before = (await perf(page)).forwards;
        await page.getByTestId('sentence-input').fill(k % 2 ? words(n) : 'T' + words(n).slice(1));
        const q = await waitPerf(page, (q) => q.forwards > before, 60_000);
        if (k >= 4) {
          xs.push(q.last_forward_ms);
          helped += q.last_forward_helped ? 1 : 0;
        }
      }
      r[`forward_ms_${n}`] = { ...spread(xs), tokens: (await perf(page)).last_forward_tokens, split_passes: helped };
    }
    out.smollm2_app_cores = r;
    await context.close();
  }

  // Hover at 1 000 tokens (SmolLM2): the default multi-head view (one head in full, the others'
  // three strongest from the hovered token), every head in full, and the heatmap.
  {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(100).trim();
    await page.goto(`${BASE}#model=smollm2&m=multi-head&l=13&s=${encodeURIComponent(text)}`);
    await waitPerf(page, (p) => p.forwards > 0 && p.last_forward_tokens === 1000, 240_000);
    await page.waitForFunction(() => document.querySelectorAll('[data-token-index]').length === 1000);
    const r = { tokens: 1000, lead_head: await hoverTimes(page, 1000, 30) };
    await page.getByTestId('every-head').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="every-head"]').getAttribute('aria-pressed') === 'true');
    r.every_head = await hoverTimes(page, 1000, 30);
    await page.click('button[data-view="heatmap"]');
    await page.waitForSelector('[data-testid="heatmap"]');
    r.heatmap = await hoverTimes(page, 1000, 30);
    out.hover_long = r;
    await context.close();
  }

  const dist = 'dist';
  for (const f of fs.readdirSync(dist)) {
    if (f.endsWith('.wasm')) {
      const raw = fs.readFileSync(path.join(dist, f));
      const kind = f.startsWith('worker-simd') ? 'worker_simd' : f.startsWith('worker') ? 'worker' : 'app';
      out[`wasm_${kind}`] = { file: f, raw_bytes: raw.length, gzip_bytes: zlib.gzipSync(raw, { level: 9 }).length };
    }
  }
} finally {
  await browser.close();
  server.kill();
}
fs.mkdirSync('bench/out', { recursive: true });
fs.writeFileSync('bench/out/browser.json', JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(out, null, 2));
