// node bench/wasm-models/two-workers.mjs [--workers N]: one worker alone against N workers (default 2)
// splitting a pass by tokens, in headless Chromium with no page work competing for the cores, for
// MiniLM at 32 words (even ranges; every part needs every token's keys and values) and SmolLM2 at 32
// and 128 tokens (uneven ranges of equal work, `balanced_cuts`; a part needs the keys and values of
// the tokens up to its last). Worker 0 drives as the app's model worker does: each layer it gathers
// every part's keys and values by postMessage and hands each helper what its part needs. Needs the
// simd build (build.sh simd) and its no-modules glue (this script makes it).
// Writes bench/out/two-workers.json (MiniLM) and bench/out/workers-smollm2.json.
import { serveRepo, launchChromium } from './serve.mjs';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
const WORKERS = Number(process.argv[process.argv.indexOf('--workers') + 1]) || 2;
const out = 'bench/out/wasm-models/simd-nm';
execFileSync('wasm-bindgen', ['--target', 'no-modules', '--out-dir', out, 'target/bench-wasm-simd/wasm32-unknown-unknown/release/wasm_models_bench.wasm']);
const worker = `importScripts('/${out}/wasm_models_bench.js');
let net, decoder, inputs, ports = [], helperPart;
// One queue per port, so the driver can await each helper's next message in turn.
const queues = new Map();
function listen(port, onMsg) {
  queues.set(port, { msgs: [], waiting: [] });
  port.onmessage = (e) => onMsg ? onMsg(port, e.data) : push(port, e.data);
}
function push(port, m) { const q = queues.get(port); if (q.waiting.length) q.waiting.shift()(m); else q.msgs.push(m); }
function next(port) { const q = queues.get(port); return q.msgs.length ? Promise.resolve(q.msgs.shift()) : new Promise((r) => q.waiting.push(r)); }
const Part = () => decoder ? wasm_bindgen.DecoderPart : wasm_bindgen.RowPart;
onmessage = async (e) => {
  const m = e.data;
  if (m.kind === 'init') {
    await wasm_bindgen('/${out}/wasm_models_bench_bg.wasm');
    decoder = m.model === 'smollm2';
    const bytes = new Uint8Array(await (await fetch(decoder ? '/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' : '/models/minilm/minilm.bundle')).arrayBuffer());
    net = decoder ? new wasm_bindgen.SmolLm2(bytes) : new wasm_bindgen.MiniLm(bytes);
    inputs = (await (await fetch('/bench/out/inputs.json')).json())[m.model];
    ports = m.ports || [];
    ports.forEach((p) => listen(p));
    if (m.hub) listen(m.hub, helperStep);
    postMessage({ kind: 'ready' });
  } else if (m.kind === 'time') {
    // Alone and split in turn, so a slow spell of the machine hits both alike.
    const ids = Uint32Array.from(inputs[m.tokens].ids);
    const alone = [], split = [];
    for (let i = 0; i < m.runs; i++) {
      let t = performance.now();
      net.forward(ids);
      alone.push(performance.now() - t);
      t = performance.now();
      await splitPass(ids);
      split.push(performance.now() - t);
    }
    postMessage({ kind: 'done', alone, split });
  }
};
function helperStep(port, msg) {
  if (msg.kind === 'start') helperPart = new (Part())(net, msg.ids, msg.from, msg.to);
  else helperPart.finish_layer(net, msg.kv);
  if (helperPart.layer() >= 0) { const kv = helperPart.keys_values(net); port.postMessage({ kv }, [kv.buffer]); }
  else port.postMessage({ done: decoder ? helperPart.finish(net) : 0 });
}
// [keys; values] of consecutive parts -> [keys of all; values of all].
function join(kvs) {
  const total = kvs.reduce((s, a) => s + a.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  for (const a of kvs) { all.set(a.subarray(0, a.length / 2), at); at += a.length / 2; }
  for (const a of kvs) { all.set(a.subarray(a.length / 2), at); at += a.length / 2; }
  return all;
}
async function splitPass(ids) {
  const n = ids.length, want = ports.length + 1;
  const cuts = decoder ? Array.from(wasm_bindgen.decoder_cuts(net, n, want)) : Array.from({ length: want - 1 }, (_, i) => Math.round(n * (i + 1) / want));
  const bounds = [0, ...cuts, n];
  const helpers = ports.slice(0, bounds.length - 2);
  const own = new (Part())(net, ids, 0, bounds[1]);
  helpers.forEach((p, i) => p.postMessage({ kind: 'start', ids, from: bounds[i + 1], to: bounds[i + 2] }));
  while (own.layer() >= 0) {
    const mine = own.keys_values(net);
    const theirs = await Promise.all(helpers.map((p) => next(p).then((m) => m.kv)));
    const kvs = [mine, ...theirs];
    // An encoder's parts all need every token; a decoder's part p, the tokens of parts 0..=p.
    helpers.forEach((p, i) => { const kv = join(decoder ? kvs.slice(0, i + 2) : kvs); p.postMessage({ kv }, [kv.buffer]); });
    own.finish_layer(net, join(decoder ? kvs.slice(0, 1) : kvs));
  }
  if (decoder) own.finish(net);
  await Promise.all(helpers.map((p) => next(p)));
}`;
const { server, base } = await serveRepo({ '/w.js': worker });
const browser = await launchChromium();
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(m.text()));
  await page.goto(base);
  const timeIt = (model, tokens, runs) => page.evaluate(async ({ model, tokens, runs, workers }) => {
    const w = Array.from({ length: workers }, () => new Worker('/w.js'));
    const ask = (x, msg, transfer = []) => new Promise((r) => { x.onmessage = (e) => r(e.data); x.postMessage(msg, transfer); });
    const channels = w.slice(1).map(() => new MessageChannel());
    await ask(w[0], { kind: 'init', model, ports: channels.map((c) => c.port1) }, channels.map((c) => c.port1));
    await Promise.all(w.slice(1).map((x, i) => ask(x, { kind: 'init', model, hub: channels[i].port2 }, [channels[i].port2])));
    const warm = 2;
    const r = await ask(w[0], { kind: 'time', tokens, runs: runs + warm });
    w.forEach((x) => x.terminate());
    return { alone: r.alone.slice(warm), split: r.split.slice(warm) };
  }, { model, tokens, runs, workers: WORKERS });
  fs.mkdirSync('bench/out', { recursive: true });
  const m = await timeIt('minilm', '32', 30);
  const [one, split] = [median(m.alone), median(m.split)];
  console.log(`MiniLM 32 words: one worker ${one.toFixed(1)} ms, ${WORKERS} workers splitting the tokens ${split.toFixed(1)} ms (${(one / split).toFixed(2)}x)`);
  fs.writeFileSync('bench/out/two-workers.json', JSON.stringify({ workers: WORKERS, one_worker_ms: one, two_workers_ms: split, runs: 30 }, null, 2) + '\n');
  const dec = { workers: WORKERS };
  if (fs.existsSync('models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf')) {
    for (const [tokens, runs] of [['32', 10], ['128', 6]]) {
      const s = await timeIt('smollm2', tokens, runs);
      const [one, split] = [median(s.alone), median(s.split)];
      console.log('alone', s.alone.map((x) => x.toFixed(0)).join(' '), 'split', s.split.map((x) => x.toFixed(0)).join(' '));
      console.log(`SmolLM2 ${tokens} tokens: one worker ${one.toFixed(0)} ms, ${WORKERS} workers on uneven ranges ${split.toFixed(0)} ms (${(one / split).toFixed(2)}x)`);
      dec[tokens] = { one_worker_ms: one, split_ms: split, speedup: one / split, runs };
    }
  }
  fs.writeFileSync('bench/out/workers-smollm2.json', JSON.stringify(dec, null, 2) + '\n');
} finally {
  await browser.close();
  server.close();
}
