// Module Web Worker: runs ONNX Runtime Web (wasm execution provider) on the MiniLM ONNX export.
// One worker per configuration, because ORT's wasm thread count is fixed when its wasm module starts.
// Message in:  {model, threads, sizes: {"8": runs, ...}, warmup, inputs: {"8": [ids], ...}}
// Message out: {ok: true, result} | {ok: false, error}
import * as ort from '/ort/ort.wasm.min.mjs';

const now = () => performance.now();
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median_ms: s[Math.floor(s.length / 2)], min_ms: s[0], max_ms: s[s.length - 1], runs: xs.length };
};

// Whole-machine CPU counters from run.mjs's server (sampled outside the timed region); null if unavailable.
const cpu = async () => {
  try { const j = await (await fetch('/cpu')).json(); return j.jiffies ? j : null; } catch { return null; }
};

self.onmessage = async ({ data: cfg }) => {
  try {
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = cfg.threads;
    ort.env.wasm.proxy = false; // already off the main thread
    ort.env.logLevel = 'warning';

    const t0 = now();
    const resp = await fetch(cfg.model);
    if (!resp.ok) throw new Error(`fetch ${cfg.model}: HTTP ${resp.status}`);
    const bytes = new Uint8Array(await resp.arrayBuffer());
    const t1 = now();
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    const t2 = now();

    const result = {
      ort_version: ort.env.versions?.web ?? ort.env.versions?.common ?? null,
      cross_origin_isolated: self.crossOriginIsolated,
      threads: cfg.threads,
      model: cfg.model,
      model_bytes: bytes.length,
      output_names: session.outputNames,
      fetch_ms: t1 - t0,
      create_session_ms: t2 - t1,
      sizes: {},
    };
    for (const [size, runs] of Object.entries(cfg.sizes)) {
      const ids = cfg.inputs[size];
      const n = ids.length;
      const feeds = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, n]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
        token_type_ids: new ort.Tensor('int64', new BigInt64Array(n), [1, n]),
      };
      let out;
      for (let i = 0; i < cfg.warmup; i++) out = await session.run(feeds);
      const times = [];
      const c0 = await cpu();
      for (let i = 0; i < runs; i++) {
        const a = now();
        out = await session.run(feeds);
        times.push(now() - a);
      }
      const c1 = await cpu();
      const hid = out.last_hidden_state;
      const attn = session.outputNames.filter((k) => k.startsWith('attn_'));
      let rowSumDev = 0; // sanity: every attention row sums to 1
      for (const k of attn) {
        const d = out[k].data;
        for (let r = 0; r < d.length / n; r++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += d[r * n + j];
          rowSumDev = Math.max(rowSumDev, Math.abs(s - 1));
        }
      }
      result.sizes[size] = {
        ...stats(times),
        times_ms: times,
        tokens: n,
        machine_busy_cores: c0 && c1 && c1.jiffies[1] > c0.jiffies[1]
          ? +(((c1.jiffies[0] - c0.jiffies[0]) / (c1.jiffies[1] - c0.jiffies[1])) * c1.ncpu).toFixed(3) : null,
        outputs: attn.length ? 'all attentions + last hidden state' : 'last hidden state only',
        attention_outputs: attn.map((k) => out[k].dims),
        attention_row_sum_max_abs_dev: attn.length ? rowSumDev : null,
        last_hidden_dims: hid.dims,
        last_hidden_first_row_first8: Array.from(hid.data.slice(0, 8)),
      };
    }
    await session.release();
    self.postMessage({ ok: true, result });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e && e.stack ? e.stack : e) });
  }
};
