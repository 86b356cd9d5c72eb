// node bench/wasm-models/ceilings.mjs: what this machine's Chromium can do at best with the arithmetic
// our kernels use, and how much of it a pass needs, for the ceilings in bench/results.md.
// - Peak multiply-adds per second of the two instruction pairs the kernels are made of, with no memory
//   traffic (bench/wasm-models/src/lib.rs, `peak`): `i32x4.dot_i16x8_s` + `i32x4.add` (MiniLM's
//   matrices, integers) and `f32x4.mul` + `f32x4.add` (the decoders' matrices and all attention: float,
//   no fused multiply-add, since every build must round alike).
// - Each model's multiply-adds per pass on bench/out/inputs.json's token ids, counted by the crates
//   (`attention_pass_macs`, `pass_macs`; tests check them against the files' tensors).
// Needs the simd build (build.sh simd). Writes bench/out/ceilings.json.
import fs from 'node:fs';
import { serveRepo, launchChromium } from './serve.mjs';
const { server, base } = await serveRepo();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(base);
  const haveSmol = fs.existsSync('models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf');
  // In a dedicated worker, as the app's and the peers' passes run.
  const out = await page.evaluate(async (haveSmol) => {
    const src = `
      onmessage = async (e) => {
        try { postMessage(await run(e)); } catch (err) { postMessage({ error: String(err) }); }
      };
      async function run(e) {
        const m = await import(e.data.origin + '/bench/out/wasm-models/simd-web/wasm_models_bench.js');
        await m.default();
        const [perI16, perF32] = m.peak_macs_per_round();
        const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
        const peak = (f, per) => {
          f(1e6);
          const rounds = 5e7, xs = [];
          for (let i = 0; i < 7; i++) { const t = performance.now(); f(rounds); xs.push(performance.now() - t); }
          return rounds * per / median(xs) / 1e6;
        };
        const res = { peak_gmac_per_s: {
          i16_dot_add: peak((r) => m.peak_i16_dot(r, 3), perI16),
          f32_mul_add: peak((r) => m.peak_f32_mul_add(r, 1.5), perF32),
        } };
        const inputs = await (await fetch(e.data.origin + '/bench/out/inputs.json')).json();
        const bytes = async (p) => new Uint8Array(await (await fetch(e.data.origin + p)).arrayBuffer());
        const nets = { minilm: new m.MiniLm(await bytes('/models/minilm/minilm.bundle')) };
        if (e.data.haveSmol) nets.smollm2 = new m.SmolLm2(await bytes('/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'));
        for (const [name, net] of Object.entries(nets)) {
          res[name] = {};
          for (const n of ['8', '32', '128']) {
            const tokens = inputs[name][n].ids.length;
            const [matrices, attention] = net.macs(tokens);
            res[name][n] = { tokens, matrix_macs: matrices, attention_macs: attention };
          }
        }
        return res;
      }`;
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module' });
    const r = await new Promise((ok, fail) => { w.onmessage = (e) => ok(e.data); w.onerror = (e) => fail(new Error(e.message)); w.postMessage({ haveSmol, origin: location.origin }); });
    w.terminate();
    if (r.error) throw new Error(r.error);
    return r;
  }, haveSmol);
  out.chromium = browser.version();
  fs.mkdirSync('bench/out', { recursive: true });
  fs.writeFileSync('bench/out/ceilings.json', JSON.stringify(out, null, 1) + '\n');
  console.log(JSON.stringify(out.peak_gmac_per_s));
} finally {
  await browser.close();
  server.close();
}
