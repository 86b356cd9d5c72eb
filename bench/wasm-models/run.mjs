// node bench/wasm-models/run.mjs PKG_DIR [--runs N]: times our MiniLM and SmolLM2 forward passes in
// Node's V8 on the token ids of bench/out/inputs.json. PKG_DIR holds the wasm-bindgen --target nodejs output.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const pkg = path.resolve(process.argv[2]);
const RUNS = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const only = process.argv.includes('--minilm') ? ['minilm'] : process.argv.includes('--smollm2') ? ['smollm2'] : ['minilm', 'smollm2'];
const m = require(path.join(pkg, 'wasm_models_bench.js'));
const inputs = JSON.parse(fs.readFileSync('bench/out/inputs.json', 'utf8'));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const out = {};
for (const name of only) {
  const t0 = performance.now();
  const model = name === 'minilm'
    ? (process.argv.includes('--f32')
      ? m.MiniLm.from_f32(fs.readFileSync('models/minilm/model.safetensors'), fs.readFileSync('models/minilm/vocab.txt', 'utf8'))
      : new m.MiniLm(fs.readFileSync('models/minilm/minilm.bundle')))
    : new m.SmolLm2(fs.readFileSync('models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'));
  out[`${name}_load_ms`] = performance.now() - t0;
  for (const n of ['8', '32', '128']) {
    const ids = Uint32Array.from(inputs[name][n].ids);
    model.forward(ids);
    const xs = [];
    let check = 0;
    for (let i = 0; i < (n === '128' ? Math.min(RUNS, 3) : RUNS); i++) {
      const t = performance.now();
      check = model.forward(ids);
      xs.push(performance.now() - t);
    }
    out[`${name}_${n}`] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), check };
    console.log(`${name} ${n}: median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}) check ${check}`);
  }
}
