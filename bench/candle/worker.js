// Worker side: load candle's wasm + the MiniLM weights, then time the forward pass per size.
// Only `model.run(ids)` sits between the two performance.now() calls.
import init, { Bert, withSimd128 } from './pkg/candle_peer_bench.js';

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  return { median_ms: median, min_ms: s[0], max_ms: s[s.length - 1] };
};

async function fetchOk(url, kind) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`fetch ${url}: HTTP ${r.status}`);
  return kind === 'bytes' ? new Uint8Array(await r.arrayBuffer()) : kind === 'json' ? r.json() : r.text();
}

self.onmessage = async (ev) => {
  const { runs, runs128, warmup } = ev.data;
  try {
    const t0 = performance.now();
    await init();
    const [weights, config, inputs] = await Promise.all([
      fetchOk('./model/model.safetensors', 'bytes'),
      fetchOk('./model/config.json', 'text'),
      fetchOk('./inputs.json', 'json'),
    ]);
    const model = new Bert(weights, config);
    const load_ms = performance.now() - t0;
    const hidden = model.hiddenSize;

    const results = {};
    const check = {};
    let firstRow8 = null;
    const raw = {}; // every timed run, for run.mjs --verbose (not part of the result file)
    for (const size of ['8', '32', '128']) {
      const ids = Uint32Array.from(inputs.minilm[size].ids);
      const n = size === '128' ? runs128 : runs;
      let last;
      for (let i = 0; i < warmup; i++) last = model.run(ids); // warm-up (default 2)
      const times = [];
      for (let i = 0; i < n; i++) {
        const a = performance.now();
        last = model.run(ids);
        times.push(performance.now() - a);
      }
      if (last.length !== ids.length * hidden) {
        throw new Error(`size ${size}: got ${last.length} floats, expected ${ids.length} x ${hidden}`);
      }
      raw[size] = times;
      results[size] = { ...stats(times), runs: n, tokens: ids.length, outputs: 'last hidden state' };
      if (size === '8') {
        check[size] = { last_hidden_first_row_first8: Array.from(last.subarray(0, 8)) };
        firstRow8 = Array.from(last.subarray(0, hidden));
      }
    }
    model.free();
    self.postMessage({
      ok: true, load_ms, results, check, raw, simd128: withSimd128(),
      first_row_8: firstRow8, user_agent: navigator.userAgent,
      cross_origin_isolated: self.crossOriginIsolated, hardware_concurrency: navigator.hardwareConcurrency,
    });
  } catch (e) {
    self.postMessage({ error: String(e && e.stack ? `${e}\n${e.stack}` : e) });
  }
};
