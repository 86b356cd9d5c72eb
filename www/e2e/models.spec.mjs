// Real models through the real UI path: page -> worker -> download (verified, cached) -> forward -> arcs.
// The drawn weights are checked against HF transformers' numbers in reference.
import { test, expect } from '@playwright/test';
import { guard } from './guard.mjs';
import { lastTokenArcs, retypeUntilSplit } from './split.mjs';
import fs from 'node:fs';
import path from 'node:path';

const REF = path.resolve('reference');
const minilm = JSON.parse(fs.readFileSync(path.join(REF, 'minilm_reference.json'), 'utf8'));
const smollm2 = JSON.parse(fs.readFileSync(path.join(REF, 'smollm2_reference.json'), 'utf8'));
const SHOTS = path.resolve('test-results/screenshots');
fs.mkdirSync(SHOTS, { recursive: true });

test.setTimeout(180_000);

test.beforeEach(async ({ page, baseURL }) => guard(page, baseURL));

async function ready(page) {
  await page.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 150_000 });
  await page.waitForSelector('path[data-from]');
}

async function focusedWeights(page) {
  return page.$$eval('path[data-focused="true"]', (ps) => ps.map((p) => ({ head: +p.dataset.head, to: +p.dataset.to, w: +p.dataset.weight })));
}

/// Opens the "animal ... it" sentence on MiniLM layer 3 with every head's arcs drawn, hovers "it" and
/// checks every head's drawn weights against HF transformers within the bundle's tolerance; returns them.
async function itOnLayer3(page) {
  const s = minilm.sentences.find((x) => x.id === 's4_animal_it');
  await page.goto('./#model=minilm&m=multi-head&l=3&arcs=every&s=' + encodeURIComponent(s.text));
  await ready(page);
  await expect(page.locator('[data-token-index]')).toHaveCount(s.tokens.length);
  const it = s.tokens.indexOf('it');
  await page.hover(`[data-token-index="${it}"]`);
  const got = await focusedWeights(page);
  expect(got.length).toBeGreaterThan(12 * 10);
  let worst = 0;
  for (const { head, to, w } of got) worst = Math.max(worst, Math.abs(w - s.attentions[3][head][it][to]));
  expect(worst).toBeLessThan(2e-2);
  return { s, it, got };
}

test('MiniLM in the browser draws HF transformers\' attention (bundle tolerance 2e-2)', async ({ page }) => {
  const { s, it } = await itOnLayer3(page);
  // Chromium has WebAssembly SIMD, so the SIMD build of the worker ran.
  expect(await page.evaluate(() => window.__arcsPerf.worker_build)).toBe('simd');
  await page.screenshot({ path: `${SHOTS}/minilm-multi-head.png`, fullPage: true });

  // "Which head links these words?" finds layer 3 head 1 for it -> animal.
  await page.getByTestId('rank-query').selectOption(String(it));
  await page.getByTestId('rank-key').selectOption(String(s.tokens.indexOf('animal')));
  const first = page.getByTestId('rank').first();
  await expect(first).toHaveAttribute('data-layer', '3');
  // At 1280 px the entries wrap side by side: no entry's rank or button overlaps another entry's.
  await page.setViewportSize({ width: 1280, height: 900 });
  const boxes = await page.$$eval('.ranking li', (lis) => lis.map((li, k) => [...li.children].map((c) => {
    const r = c.getBoundingClientRect();
    return { k, l: r.left, r: r.right, t: r.top, b: r.bottom };
  })).flat());
  expect(boxes.length).toBe(16);
  for (const a of boxes) for (const b of boxes) {
    if (a.k < b.k) expect(a.r <= b.l || b.r <= a.l || a.b <= b.t || b.b <= a.t, `entries ${a.k} and ${b.k} overlap`).toBe(true);
  }
  await expect(first).toHaveAttribute('data-head', '1');
  await first.click();
  await expect(page.locator('button[data-mode="self"]')).toHaveAttribute('aria-pressed', 'true');
  await page.hover(`[data-token-index="${it}"]`);
  const animal = s.tokens.indexOf('animal');
  const w = +(await page.locator(`path[data-focused="true"][data-to="${animal}"]`).getAttribute('data-weight'));
  expect(Math.abs(w - s.attentions[3][1][it][animal])).toBeLessThan(2e-2);
  expect(w).toBeGreaterThan(0.6);
  await expect.poll(() => page.url()).toContain('model=minilm');
  await expect.poll(() => page.url()).toContain('l=3');
  await page.screenshot({ path: `${SHOTS}/minilm-it-animal.png`, fullPage: true });

  // A reload takes the model from the browser cache.
  await page.reload();
  await ready(page);
  await expect(page.getByTestId('model-status')).toContainText('from the browser cache');

  // WordPieces map back to the typed words on request; the setting is part of the link.
  await page.getByTestId('sentence-input').fill('Embeddings are sitting');
  await page.getByTestId('join-pieces').check();
  await expect(page.getByTestId('joined-word').first()).toBeVisible();
  await expect(page.getByTestId('joined-word')).toContainText(['embeddings']);
  await expect.poll(() => page.url()).toContain('pieces=join');
});

test('twelve heads are readable by default: one head in full, every head only from the focused token', async ({ page }) => {
  const s = minilm.sentences.find((x) => x.id === 's4_animal_it');
  const n = s.tokens.length;
  await page.goto('./#model=minilm&m=multi-head&l=3&hd=1&s=' + encodeURIComponent(s.text));
  await ready(page);
  // Without a focused token: head 1's arcs only, at most one head's worth (n x n), where twelve heads
  // drew 12 n x n.
  const heads = await page.$$eval('path[data-from]', (ps) => [...new Set(ps.map((p) => p.dataset.head))]);
  expect(heads).toEqual(['1']);
  const base = await page.locator('path[data-from]').count();
  expect(base).toBeLessThanOrEqual(n * n);
  await expect(page.getByTestId('lead-note')).toContainText('Head 1 is drawn in full');
  await page.screenshot({ path: `${SHOTS}/minilm-lead-head.png`, fullPage: true });
  // A focused token shows all of head 1's arcs from it and every other head's three strongest, each
  // matching HF transformers.
  const it = s.tokens.indexOf('it');
  await page.hover(`[data-token-index="${it}"]`);
  const got = await focusedWeights(page);
  expect(got.length).toBe(11 * 3 + n);
  expect(got.filter((a) => a.head === 1).length).toBe(n);
  for (let h = 0; h < 12; h++) {
    if (h === 1) continue;
    const row = s.attentions[3][h][it];
    const third = [...row].sort((a, b) => b - a)[2];
    const mine = got.filter((a) => a.head === h);
    expect(mine.length).toBe(3);
    for (const { to, w } of mine) {
      expect(Math.abs(w - row[to])).toBeLessThan(2e-2);
      expect(row[to]).toBeGreaterThanOrEqual(third - 2e-2);
    }
  }
  await page.screenshot({ path: `${SHOTS}/minilm-lead-head-focus.png`, fullPage: true });
  // One click draws every head (and the link says so); another goes back.
  await page.mouse.move(0, 0);
  await page.getByTestId('every-head').click();
  await expect.poll(() => page.locator('path[data-from]').count()).toBeGreaterThan(3 * base);
  await expect.poll(() => page.url()).toContain('arcs=every');
  await page.getByTestId('every-head').click();
  await expect.poll(() => page.locator('path[data-from]').count()).toBe(base);
});

test('a browser without WebAssembly SIMD gets the plain worker build, with the same attention', async ({ page, context, baseURL }) => {
  // Pretend SIMD is missing: the app's feature probe is the only WebAssembly.validate call.
  await page.addInitScript(() => { WebAssembly.validate = () => false; });
  const plain = await itOnLayer3(page);
  expect(await page.evaluate(() => window.__arcsPerf.worker_build)).toBe('plain');
  // Both builds round alike (integer sums, no fused multiply-add): the same weights to the last digit.
  const other = await context.newPage();
  guard(other, baseURL);
  const simd = await itOnLayer3(other);
  expect(await other.evaluate(() => window.__arcsPerf.worker_build)).toBe('simd');
  expect(plain.got).toEqual(simd.got);
});

test('with cores to spare a helper worker takes half of the tokens, and the attention stays the same to the last digit', async ({ page, context, baseURL }) => {
  // The model worker only starts a helper with 4 or more logical cores; this machine may have fewer.
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 8 }));
  const s = minilm.sentences.find((x) => x.id === 's4_animal_it');
  await itOnLayer3(page);
  // The first pass ran while the helper was still loading its copy of the model; retype (same
  // tokens: only a trailing space) until a pass ran with it.
  expect(await retypeUntilSplit(page, s.text)).toBe(true);
  const it = s.tokens.indexOf('it');
  await page.mouse.move(0, 0);
  await page.hover(`[data-token-index="${it}"]`);
  await page.waitForSelector('path[data-focused="true"]');
  const split = await focusedWeights(page);
  expect(split.length).toBeGreaterThan(12 * 10);
  // The same sentence in a page that works alone.
  const other = await context.newPage();
  guard(other, baseURL);
  await other.addInitScript(() => { window.__arcsNoHelper = true; });
  const alone = await itOnLayer3(other);
  expect(await other.evaluate(() => window.__arcsPerf.last_forward_helped)).toBe(false);
  expect(split).toEqual(alone.got);
});

test('on two cores SmolLM2 splits its passes over two workers by uneven token ranges, to the same bits', async ({ page, context, baseURL }) => {
  // Two logical cores, as on this machine kind: a decoder's passes take a second worker from two on.
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 2 }));
  const s = smollm2.sentences[0];
  const url = './#model=smollm2&m=multi-head&l=13&arcs=every&s=';
  await page.goto(url + encodeURIComponent(s.text));
  await ready(page);
  // The worker measures a pass alone once its helper is ready, then one split, and keeps the faster:
  // retype (a trailing space each time) until a pass ran split.
  expect(await retypeUntilSplit(page, s.text)).toBe(true);
  const text = await page.getByTestId('sentence-input').inputValue();
  const read = async (p) => {
    const { n, weights } = await lastTokenArcs(p);
    const next = await p.getByTestId('next-token').evaluateAll((els) => els.map((e) => [e.dataset.id, e.dataset.prob]));
    const guesses = await p.getByTestId('guess-at').evaluateAll((els) => els.map((e) => [e.dataset.id, e.dataset.prob]));
    return { n, weights, next, guesses };
  };
  const split = await read(page);
  expect(split.weights.length).toBeGreaterThan(9 * 5);
  // The same text in a page that works alone: every drawn weight and every guess the same bits.
  const other = await context.newPage();
  guard(other, baseURL);
  await other.addInitScript(() => { window.__arcsNoHelper = true; });
  await other.goto(url + encodeURIComponent(text));
  await ready(other);
  expect(await other.evaluate(() => window.__arcsPerf.last_forward_helped)).toBe(false);
  const alone = await read(other);
  expect(split).toEqual(alone);
});

test('a browser without WebAssembly SIMD runs SmolLM2 on the plain worker build, to the same bits', async ({ page, context, baseURL }) => {
  // The decoders' SIMD paths (4-bit and 8-bit unpacking, the tile transpose, the exp lanes) must round
  // as the plain build's scalar code does: the same weights and guesses to the last digit.
  const s = smollm2.sentences[0];
  const url = './#model=smollm2&m=multi-head&l=13&arcs=every&s=' + encodeURIComponent(s.text);
  const read = async (p) => {
    const { n, weights } = await lastTokenArcs(p);
    const next = await p.getByTestId('next-token').evaluateAll((els) => els.map((e) => [e.dataset.id, e.dataset.prob]));
    const guesses = await p.getByTestId('guess-at').evaluateAll((els) => els.map((e) => [e.dataset.id, e.dataset.prob]));
    return { n, weights, next, guesses };
  };
  await page.addInitScript(() => { WebAssembly.validate = () => false; window.__arcsNoHelper = true; });
  await page.goto(url);
  await ready(page);
  expect(await page.evaluate(() => window.__arcsPerf.worker_build)).toBe('plain');
  const plain = await read(page);
  expect(plain.weights.length).toBeGreaterThan(9 * 5);
  const other = await context.newPage();
  guard(other, baseURL);
  await other.addInitScript(() => { window.__arcsNoHelper = true; });
  await other.goto(url);
  await ready(other);
  expect(await other.evaluate(() => window.__arcsPerf.worker_build)).toBe('simd');
  expect(plain).toEqual(await read(other));
});

test('SmolLM2 in the browser draws HF transformers\' attention and guesses the next word', async ({ page }) => {
  const s = smollm2.sentences[0];
  const layer = 13;
  await page.goto('./#model=smollm2&m=multi-head&l=13&arcs=every&s=' + encodeURIComponent(s.text));
  await ready(page);
  await expect(page.locator('[data-token-index]')).toHaveCount(s.token_ids.length);
  const q = s.token_ids.length - 2; // "jumped"
  await page.hover(`[data-token-index="${q}"]`);
  const got = await focusedWeights(page);
  expect(got.length).toBeGreaterThan(9 * 5);
  let worst = 0;
  const li = s.attention_layers.indexOf(layer);
  for (const { head, to, w } of got) worst = Math.max(worst, Math.abs(w - s.attention[li][head][q][to]));
  expect(worst).toBeLessThan(1e-3);
  // Causal: nothing to the right.
  expect(got.every(({ to }) => to <= q)).toBe(true);
  await expect(page.getByTestId('next-token').first()).toContainText(JSON.stringify(s.top5_next[0].text));
  await expect(page.getByTestId('guess-at')).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/smollm2-multi-head.png`, fullPage: true });
});

test('the head-roles map colours every head by a score and finds SmolLM2\'s induction heads', async ({ page }) => {
  const s = smollm2.sentences[0];
  await page.goto('./#model=smollm2&m=multi-head&roles=induction&s=' + encodeURIComponent(s.text));
  await ready(page);
  await expect(page.getByTestId('role-cell')).toHaveCount(30 * 9);
  await expect(page.getByTestId('role-definition')).toContainText('repeated twice');
  const top = page.getByTestId('role-rank').first();
  const score = +(await page.locator('[data-testid="role-cell"]').evaluateAll((cells) =>
    Math.max(...cells.map((c) => +c.dataset.score))));
  expect(score).toBeGreaterThan(0.5);
  const [l, h] = [await top.getAttribute('data-layer'), await top.getAttribute('data-head')];
  const best = +(await page.locator(`[data-testid="role-cell"][data-layer="${l}"][data-head="${h}"]`).getAttribute('data-score'));
  expect(best).toBe(score);
  await page.screenshot({ path: `${SHOTS}/smollm2-head-roles.png`, fullPage: true });
  // Another score re-colours the map; the link keeps it; a head opens by click or keyboard.
  await page.locator('button[data-role="previous-token"]').first().click();
  await expect.poll(() => page.url()).toContain('roles=previous-token');
  const prev = +(await page.locator('[data-testid="role-cell"]').evaluateAll((cells) => Math.max(...cells.map((c) => +c.dataset.score))));
  expect(prev).toBeGreaterThan(0.5);
  await page.getByTestId('role-rank').first().locator('button').focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('button[data-mode="self"]')).toHaveAttribute('aria-pressed', 'true');
  await expect.poll(() => page.url()).toMatch(/[#&]l=\d+/);
  // MiniLM is an encoder: no induction, and the map says why.
  await page.goto('about:blank');
  await page.goto('./#model=minilm&roles=induction&s=' + encodeURIComponent('The cat sat on the mat.'));
  await ready(page);
  await expect(page.getByTestId('head-roles')).toContainText('encoder');
});

test.describe('failures', () => {
// page.route cannot see requests a service worker makes: keep it out of this test.
test.use({ serviceWorkers: 'block' });
test('a model that cannot be fetched says so, offers a retry, and the toy keeps working', async ({ page }) => {
  await page.route('**/models/manifest.json', (r) => r.fulfill({ status: 404, body: 'gone' }));
  await page.goto('./#model=minilm&s=hello%20world');
  await expect(page.getByTestId('model-error')).toContainText('could not be loaded', { timeout: 60_000 });
  await page.click('button[data-model="toy"]');
  await page.waitForSelector('path[data-from]');
  await expect(page.locator('[data-token-index]')).toHaveCount(2);
  await page.unroute('**/models/manifest.json');
  await page.route('**/models/minilm-*.bundle', (r) => r.fulfill({ status: 200, body: Buffer.alloc(1000) }));
  await page.click('button[data-model="minilm"]');
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByTestId('model-error')).toContainText(/cut|corrupt|larger/, { timeout: 60_000 });
});
});

test('MiniLM takes up to its 512 positions: the budget says so, thumbnails are pooled, a longer input is refused by name', async ({ page }) => {
  const words = 'the cat sat on the mat and looked at the dog which was next to it '.repeat(40).split(' ').slice(0, 490).join(' ');
  await page.goto('./#model=minilm&m=multi-head&s=' + encodeURIComponent(words));
  await ready(page);
  await expect(page.getByTestId('token-budget')).toContainText('492 / 512 tokens');
  await expect(page.locator('[data-token-index]')).toHaveCount(492);
  // Every head's thumbnail is an image of at most 64 x 64 cells, whatever the input's length.
  const widths = await page.$$eval('.mini-canvas', (cs) => cs.map((c) => c.width));
  expect(widths).toHaveLength(72);
  expect(Math.max(...widths)).toBeLessThanOrEqual(64);
  // The focused token's arcs are still every head's, and each head's row sums to at most 1.
  await page.hover('[data-token-index="300"]');
  const got = await focusedWeights(page);
  expect(got.length).toBeGreaterThan(12);
  const perHead = {};
  for (const { head, w } of got) perHead[head] = (perHead[head] || 0) + w;
  expect(Math.max(...Object.values(perHead))).toBeLessThanOrEqual(1.0001);
  // Past MiniLM's positions: a clear message, and the last good arcs stay.
  await page.getByTestId('sentence-input').fill(words + ' ' + words.split(' ').slice(0, 40).join(' '));
  await expect(page.locator('.model-bar')).toContainText('532 MiniLM tokens; the model\'s context is 512');
  await expect(page.locator('[data-token-index]')).toHaveCount(492);
});

test('SmolLM2 takes 1 000 tokens: the shown layer is recomputed exactly, the others come as thumbnails, the worker stays under 1 GB', async ({ page }, info) => {
  test.skip(info.project.name === 'subpath', 'a minute of passes that do not depend on the path');
  test.setTimeout(240_000);
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(100).trim();
  await page.goto('./#model=smollm2&m=multi-head&l=13&arcs=every&s=' + encodeURIComponent(text));
  // A pass of many seconds says how far it is (once a second, between layers), then the line goes.
  const progress = page.getByTestId('pass-progress');
  await expect(progress).toHaveAttribute('data-layers', '30', { timeout: 150_000 });
  const done = Number(await progress.getAttribute('data-done'));
  expect(done).toBeGreaterThanOrEqual(1);
  expect(done).toBeLessThanOrEqual(30);
  await expect(progress).toContainText('of 30 layers done');
  // Meanwhile the page says what it is waiting for, not "0 tokens".
  await expect(page.getByTestId('token-budget')).toContainText('counting tokens (at most 1024)');
  await expect(page.getByTestId('model-wait')).toContainText('reading the sentence');
  await ready(page);
  await expect(progress).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByTestId('token-budget')).toContainText('1000 / 1024 tokens');
  await expect(page.locator('[data-token-index]')).toHaveCount(1000);
  await expect(page.getByTestId('layer-only')).toContainText('past 256');
  expect(await page.evaluate(() => window.__arcsPerf.worker_wasm_memory_bytes)).toBeLessThan(1e9);
  // Every head of every layer has its (pooled) thumbnail.
  const widths = await page.$$eval('.mini-canvas', (cs) => cs.map((c) => c.width));
  expect(widths).toHaveLength(30 * 9);
  expect(Math.max(...widths)).toBeLessThanOrEqual(64);
  // The last token's arcs: causal, each head's strongest, summing to at most 1. A thousand hairlines
  // per head would be noise and cost more than a frame on every hover: every head is drawn in full
  // here, so the 256 arcs a long input's hover draws are shared out, 28 for each of the 9 heads.
  const rowOf = async (q) => {
    await page.mouse.move(0, 0);
    await page.hover(`[data-token-index="${q}"]`);
    await page.waitForSelector('path[data-focused="true"]');
    return focusedWeights(page);
  };
  const got = await rowOf(999);
  expect(got.every(({ to }) => to <= 999)).toBe(true);
  const perHead = {};
  for (const { head, w } of got) perHead[head] = (perHead[head] || 0) + w;
  expect(Object.keys(perHead)).toHaveLength(9);
  for (const s of Object.values(perHead)) expect(s).toBeLessThanOrEqual(1.0001);
  const count = {};
  for (const { head } of got) count[head] = (count[head] || 0) + 1;
  expect(Math.max(...Object.values(count))).toBe(28);
  // One head drawn in full (the others hidden): its 128 strongest.
  const visible = await page.getByTestId('head-toggle').count();
  expect(visible).toBe(9);
  for (let h = 1; h < 9; h++) await page.locator(`[data-testid="head-toggle"][data-head="${h}"]`).click();
  const one = await rowOf(999);
  expect(one.every(({ head }) => head === 0)).toBe(true);
  expect(one).toHaveLength(128);
  for (let h = 1; h < 9; h++) await page.locator(`[data-testid="head-toggle"][data-head="${h}"]`).click();
  // The logit lens says why it is not there.
  await page.getByTestId('lens-open').click();
  await expect(page.getByTestId('lens-too-long')).toContainText('256 tokens');
  // Another layer is another request: recomputed from its kept queries and keys, not the same numbers.
  const before = await page.evaluate(() => window.__arcsPerf.forwards);
  await page.getByTestId('layer').selectOption('5');
  await page.waitForFunction(() => location.hash.includes('l=5'));
  await page.waitForFunction((b) => window.__arcsPerf.forwards >= b, before);
  await expect.poll(async () => JSON.stringify(await rowOf(999)) !== JSON.stringify(got), { timeout: 60_000 }).toBe(true);
  await page.screenshot({ path: `${SHOTS}/smollm2-1000-tokens.png` });
  // Retyping a long sentence again and again keeps the worker's memory flat: the pass being replaced
  // is let go before the new one is computed (holding both, it crept up 70 MB every few passes).
  const memory = [];
  for (let i = 1; i <= 4; i++) {
    const before = await page.evaluate(() => window.__arcsPerf.forwards);
    await page.getByTestId('sentence-input').fill(text + ' '.repeat(i));
    await page.waitForFunction((b) => window.__arcsPerf.forwards > b, before, { timeout: 90_000 });
    memory.push(await page.evaluate(() => window.__arcsPerf.worker_wasm_memory_bytes));
  }
  expect(memory[3]).toBe(memory[0]);
  expect(memory[3]).toBeLessThan(1e9);
});
