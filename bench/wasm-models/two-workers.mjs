// node bench/wasm-models/two-workers.mjs: MiniLM at 32 words in headless Chromium, one worker alone
// against two workers splitting the tokens (keys and values exchanged once per layer by postMessage,
// as the app's helper does), with no page work competing for the cores. Needs the simd build
// (build.sh simd) and its no-modules glue (this script makes it).
import { chromium } from 'playwright';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
const out = 'bench/out/wasm-models/simd-nm';
execFileSync('wasm-bindgen', ['--target', 'no-modules', '--out-dir', out, 'target/bench-wasm-simd/wasm32-unknown-unknown/release/wasm_models_bench.wasm']);
const worker = `importScripts('/${out}/wasm_models_bench.js');
let net, ids, part, peer;
const d = 384;
onmessage = async (e) => {
  const m = e.data;
  if (m.kind === 'init') {
    await wasm_bindgen('/${out}/wasm_models_bench_bg.wasm');
    net = new wasm_bindgen.MiniLm(new Uint8Array(await (await fetch('/models/minilm/minilm.bundle')).arrayBuffer()));
    ids = Uint32Array.from((await (await fetch('/bench/out/inputs.json')).json()).minilm['32'].ids);
    peer = m.port;
    if (peer) peer.onmessage = (e) => onPeer(e.data);
    postMessage({ kind: 'ready' });
  } else if (m.kind === 'alone') {
    const xs = [];
    for (let i = 0; i < m.runs; i++) { const t = performance.now(); net.forward(ids); xs.push(performance.now() - t); }
    postMessage({ kind: 'done', xs });
  } else if (m.kind === 'split') {
    // Worker 0 drives: it times whole passes; worker 1 answers.
    const xs = [];
    for (let i = 0; i < m.runs; i++) {
      const t = performance.now();
      await splitPass(0, ids.length >> 1);
      xs.push(performance.now() - t);
    }
    postMessage({ kind: 'done', xs });
  }
};
let pending = null;
function onPeer(msg) {
  if (msg.kind === 'start') { part = new wasm_bindgen.RowPart(net, ids, msg.from, ids.length); sendKv(); return; }
  if (pending) { const r = pending; pending = null; r(msg); return; }
  // Worker 1: got worker 0's keys and values for this layer.
  finish(msg.kv, true);
  if (part.layer() >= 0) sendKv();
}
let ownKv;
function sendKv() { ownKv = part.keys_values(net); const c = ownKv.slice(); peer.postMessage({ kv: c }, [c.buffer]); }
function finish(theirs, theyAreFirst) {
  const a = theyAreFirst ? theirs : ownKv, b = theyAreFirst ? ownKv : theirs;
  const ka = a.length / 2, kb = b.length / 2;
  const all = new Float32Array(a.length + b.length);
  all.set(a.subarray(0, ka)); all.set(b.subarray(0, kb), ka); all.set(a.subarray(ka), ka + kb); all.set(b.subarray(kb), 2 * ka + kb);
  part.finish_layer(net, all);
}
async function splitPass(_, from) {
  part = new wasm_bindgen.RowPart(net, ids, 0, from);
  peer.postMessage({ kind: 'start', from });
  while (part.layer() >= 0) {
    ownKv = part.keys_values(net);
    const c = ownKv.slice();
    const reply = new Promise((r) => { pending = r; });
    peer.postMessage({ kv: c }, [c.buffer]);
    const msg = await reply;
    finish(msg.kv, false);
  }
}`;
const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const server = http.createServer((req, res) => {
  const u = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (u === '/') { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>two workers</title>'); return; }
  if (u === '/w.js') { res.setHeader('content-type', 'text/javascript'); res.end(worker); return; }
  fs.readFile(path.join(process.cwd(), u), (err, data) => {
    if (err) { res.statusCode = 404; res.end(); return; }
    res.setHeader('content-type', types[path.extname(u)] || 'application/octet-stream');
    res.end(data);
  });
}).listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(m.text()));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const r = await page.evaluate(async () => {
    const ch = new MessageChannel();
    const w = [new Worker('/w.js'), new Worker('/w.js')];
    const ask = (x, msg, transfer = []) => new Promise((r) => { x.onmessage = (e) => r(e.data); x.postMessage(msg, transfer); });
    await ask(w[0], { kind: 'init', port: ch.port1 }, [ch.port1]);
    await ask(w[1], { kind: 'init', port: ch.port2 }, [ch.port2]);
    const med = (xs) => xs.slice(5).sort((a, b) => a - b)[(xs.length - 5) >> 1];
    const alone = med((await ask(w[0], { kind: 'alone', runs: 25 })).xs);
    const split = med((await ask(w[0], { kind: 'split', runs: 25 })).xs);
    const alone2 = med((await ask(w[0], { kind: 'alone', runs: 25 })).xs);
    return { alone, split, alone2 };
  });
  console.log(`MiniLM 32 words: one worker ${r.alone.toFixed(1)} / ${r.alone2.toFixed(1)} ms, two workers splitting the tokens ${r.split.toFixed(1)} ms`);
  fs.mkdirSync('bench/out', { recursive: true });
  fs.writeFileSync('bench/out/two-workers.json', JSON.stringify({ one_worker_ms: Math.min(r.alone, r.alone2), two_workers_ms: r.split, runs: 20 }, null, 2) + '\n');
} finally {
  await browser.close();
  server.close();
}
