// node bench/wasm-models/chromium.mjs VARIANT [--runs N] [--smollm2] [--json]: the same timings as run.mjs,
// in headless Chromium (a dedicated worker of a page of its own, no app), for the wasm build
// bench/out/wasm-models/VARIANT-web; --json adds them to bench/out/engine-chromium.json for the report.
import fs from 'node:fs';
import { serveRepo, launchChromium } from './serve.mjs';
const variant = process.argv[2] || 'simd';
const RUNS = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 7;
const model = process.argv.includes('--smollm2') ? 'smollm2' : 'minilm';
// --profile: sample 32-word forward passes with Chromium's profiler and print self time per function.
const profile = process.argv.includes('--profile');
const { server, base } = await serveRepo();
const browser = await launchChromium(['--disable-dev-shm-usage']);
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(m.text()));
  await page.goto(base);
  if (profile) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await page.evaluate(async ({ variant, model }) => {
      const m = await import(`/bench/out/wasm-models/${variant}-web/wasm_models_bench.js`);
      await m.default();
      const bytes = async (p) => new Uint8Array(await (await fetch(p)).arrayBuffer());
      window.net = model === 'minilm' ? new m.MiniLm(await bytes('/models/minilm/minilm.bundle'))
        : new m.SmolLm2(await bytes('/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'));
      window.ids = Uint32Array.from((await (await fetch('/bench/out/inputs.json')).json())[model]['32'].ids);
      for (let i = 0; i < (model === 'minilm' ? 5 : 2); i++) window.net.forward(window.ids);
    }, { variant, model });
    await cdp.send('Profiler.start');
    const passes = model === 'minilm' ? 100 : 10;
    await page.evaluate((passes) => { for (let i = 0; i < passes; i++) window.net.forward(window.ids); }, passes);
    const { profile: prof } = await cdp.send('Profiler.stop');
    const self = new Map();
    const dt = new Map();
    prof.samples.forEach((id, i) => dt.set(id, (dt.get(id) || 0) + (prof.timeDeltas[i] || 0)));
    for (const n of prof.nodes) {
      const name = n.callFrame.functionName || n.callFrame.url || '(anon)';
      self.set(name, (self.get(name) || 0) + (dt.get(n.id) || 0));
    }
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    for (const [name, t] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
      console.log(`${(100 * t / total).toFixed(1).padStart(5)} %  ${(t / 1000 / passes).toFixed(2).padStart(6)} ms/pass  ${name}`);
    }
    process.exit(0);
  }
  // In a dedicated worker, as the app's worker and the peers run.
  const out = await page.evaluate(async ({ variant, RUNS, model }) => {
    const src = `
      onmessage = async (e) => {
        try { postMessage(await run(e.data)); } catch (err) { postMessage({ error: String(err) }); }
      };
      async function run({ origin, variant, RUNS, model }) {
        const m = await import(origin + '/bench/out/wasm-models/' + variant + '-web/wasm_models_bench.js');
        await m.default();
        const inputs = await (await fetch(origin + '/bench/out/inputs.json')).json();
        const bytes = async (p) => new Uint8Array(await (await fetch(origin + p)).arrayBuffer());
        const net = model === 'minilm' ? new m.MiniLm(await bytes('/models/minilm/minilm.bundle'))
          : new m.SmolLm2(await bytes('/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'));
        const res = {};
        for (const n of ['8', '32', '128']) {
          const ids = Uint32Array.from(inputs[model][n].ids);
          for (let i = 0; i < 3; i++) net.forward(ids);
          const xs = [];
          let check = 0;
          for (let i = 0; i < (n === '128' ? Math.min(RUNS, 3) : RUNS); i++) {
            const t = performance.now(); check = net.forward(ids); xs.push(performance.now() - t);
          }
          xs.sort((a, b) => a - b);
          res[n] = { tokens: ids.length, median: xs[Math.floor(xs.length / 2)], min: xs[0], max: xs[xs.length - 1], check };
        }
        return res;
      }`;
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module' });
    const r = await new Promise((ok) => { w.onmessage = (e) => ok(e.data); w.postMessage({ origin: location.origin, variant, RUNS, model }); });
    w.terminate();
    if (r.error) throw new Error(r.error);
    return r;
  }, { variant, RUNS, model });
  for (const [n, r] of Object.entries(out)) console.log(`${model} ${variant} ${n}: median ${r.median.toFixed(1)} ms (min ${r.min.toFixed(1)}, max ${r.max.toFixed(1)}) check ${r.check}`);
  // --json: kept for the report (bench/out/engine-chromium.json, one entry per model).
  if (process.argv.includes('--json')) {
    const file = 'bench/out/engine-chromium.json';
    const all = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
    all[model] = { variant, chromium: browser.version(), results: out };
    fs.writeFileSync(file, JSON.stringify(all, null, 1) + '\n');
  }
} finally {
  await browser.close();
  server.close();
}
