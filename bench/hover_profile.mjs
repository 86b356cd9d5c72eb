// node bench/hover_profile.mjs [lead|every|heatmap] [--tokens N]: where a hover's time goes in the app at
// N tokens of SmolLM2 (default 1 000; needs `./x build` with the models). The same hovers as
// bench/browser.mjs's hover figures (bench/hovers.mjs), under Chromium's sampling profiler: prints the
// medians and the self time per function per hover; `hoverInPage`'s own time is the layout it forces.
// Not part of `./x bench`: a tool for finding what to change, as chromium.mjs --profile is for the models.
import { chromium } from 'playwright';
import { spawn } from 'node:child_process';
import { hoverInPage } from './hovers.mjs';

const view = ['lead', 'every', 'heatmap'].find((v) => process.argv.includes(v)) || 'lead';
const N = Number(process.argv[process.argv.indexOf('--tokens') + 1]) || 1000;
const HOVERS = 40;
const PORT = Number(process.env.PORT || 8099);
const server = spawn('python3', ['-m', 'http.server', String(PORT), '--bind', '127.0.0.1', '--directory', 'dist'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 800));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  // Ten tokens a sentence; the whole text is 1 000 SmolLM2 tokens.
  const sentences = Math.max(1, Math.round(N / 10));
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(sentences).trim();
  await page.goto(`http://127.0.0.1:${PORT}/#model=smollm2&m=multi-head&l=13&s=${encodeURIComponent(text)}`);
  await page.waitForFunction(() => (window.__arcsPerf || {}).forwards > 0, null, { timeout: 240_000 });
  await page.waitForTimeout(1000);
  const n = await page.evaluate(() => document.querySelectorAll('[data-token-index]').length);
  if (view === 'every') {
    await page.getByTestId('every-head').click();
    await page.waitForTimeout(500);
  }
  if (view === 'heatmap') {
    await page.click('button[data-view="heatmap"]');
    await page.waitForSelector('[data-testid="heatmap"]');
  }
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  await cdp.send('Profiler.start');
  const { xs } = await page.evaluate(hoverInPage, { n, runs: HOVERS });
  const { profile } = await cdp.send('Profiler.stop');
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1].toFixed(1);
  console.log(`${view}, ${n} tokens: script ${median(xs.map((x) => x.script))} ms, script+layout ${median(xs.map((x) => x.layout))} ms, to the next frame ${median(xs.map((x) => x.frame))} ms`);
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const name = f.functionName || `(anonymous) ${f.url.split('/').pop()}:${f.lineNumber}`;
    if (name === '(idle)' || name === '(program)') return;
    const dt = profile.timeDeltas[i] || 0;
    busy += dt;
    self.set(name, (self.get(name) || 0) + dt);
  });
  console.log(`busy ${(busy / 1000 / HOVERS).toFixed(1)} ms a hover; self time a hover:`);
  for (const [name, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${(t / 1000 / HOVERS).toFixed(2).padStart(6)} ms  ${name.slice(0, 110)}`);
  }
} finally {
  await browser.close();
  server.kill();
}
