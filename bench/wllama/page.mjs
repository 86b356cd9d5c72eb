// One thread of llama.cpp (wllama's single-thread wasm) on the page's GGUF: for each size, a fresh KV cache
// and one llama_decode over the token ids, timed with performance.now() around the call.
import { Wllama } from '/wllama/esm/index.js';

window.runBench = async ({ inputs, runs, warmup }) => {
  const wllama = new Wllama({ 'single-thread/wllama.wasm': '/wllama/esm/single-thread/wllama.wasm' }, { suppressNativeLog: true });
  const t0 = performance.now();
  const blob = await (await fetch('/model.gguf')).blob();
  await wllama.loadModel([blob], { n_threads: 1, n_ctx: 512, n_batch: 512 });
  const load_ms = performance.now() - t0;
  const info = { multithread: wllama.isMultithread(), threads: wllama.getNumThreads(), context: wllama.getLoadedContextInfo() };
  const sizes = {};
  for (const [n, ids] of Object.entries(inputs)) {
    const times = [];
    for (let r = 0; r < warmup + runs[n]; r++) {
      await wllama.kvClear();
      const t = performance.now();
      await wllama.decode(ids, {});
      const ms = performance.now() - t;
      if (r >= warmup) times.push(ms);
    }
    const top = await wllama.getLogits(5);
    const s = [...times].sort((a, b) => a - b);
    sizes[n] = { median_ms: s[Math.floor(s.length / 2)], min_ms: s[0], max_ms: s[s.length - 1], runs: s.length,
      tokens: ids.length, outputs: 'prompt pass, logits of the last position only', top5_last: top };
  }
  await wllama.exit();
  return { load_ms, info, sizes };
};
window.benchReady = true;
