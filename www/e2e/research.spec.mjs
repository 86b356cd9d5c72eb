// Research views on a real model: arcs weighted by value norm and rolled out through the layers, checked
// against independent computations from HF transformers (reference/analysis_reference.json: numpy on HF's
// attention; reference/model_analysis_reference.json: HF's own modules with hooks).
import { test, expect } from '@playwright/test';
import { guard } from './guard.mjs';
import fs from 'node:fs';
import path from 'node:path';

const REF = path.resolve('reference');
const rolled = JSON.parse(fs.readFileSync(path.join(REF, 'analysis_reference.json'), 'utf8')).models.minilm[0];
const valued = JSON.parse(fs.readFileSync(path.join(REF, 'model_analysis_reference.json'), 'utf8')).models.minilm[0];
const SHOTS = path.resolve('test-results/screenshots');
fs.mkdirSync(SHOTS, { recursive: true });

test.setTimeout(180_000);
test.beforeEach(async ({ page, baseURL }) => guard(page, baseURL));

async function focused(page, token) {
  await page.hover(`[data-token-index="${token}"]`);
  return page.$$eval('path[data-focused="true"]', (ps) => ps.map((p) => ({ head: +p.dataset.head, to: +p.dataset.to, w: +p.dataset.weight })));
}

test('MiniLM arcs rolled out and weighted by value norm equal the independent computations', async ({ page }) => {
  const layer = 3;
  const base = `./#model=minilm&m=multi-head&l=${layer}&arcs=every&s=${encodeURIComponent(rolled.text)}`;
  await page.goto(base + '&wt=rollout');
  await page.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 150_000 });
  await page.waitForSelector('path[data-from]');
  await expect(page.locator('[data-token-index]')).toHaveCount(rolled.ids.length);
  await expect(page.getByTestId('weighting-note')).toContainText('approximation');
  await expect(page.locator('[data-weighting="rollout"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('head-toggle')).toHaveText('rollout');
  // The small multiple is the rolled-out matrix, named so; a mean or max of one matrix would repeat it.
  await expect(page.getByTestId('mini-head')).toHaveCount(1);
  await expect(page.getByTestId('mini-head')).toContainText('rollout');
  await expect(page.getByTestId('mini-mean')).toHaveCount(0);
  const i = rolled.ids.length - 3;
  const arcs = await focused(page, i);
  expect(arcs.length).toBeGreaterThan(3);
  let worst = 0;
  for (const { to, w } of arcs) worst = Math.max(worst, Math.abs(w - rolled.rollout[layer][i][to]));
  // The browser runs MiniLM's int16 bundle (attention within ~1e-2 of HF); rollout averages that.
  expect(worst).toBeLessThan(2e-2);
  await page.screenshot({ path: path.join(SHOTS, 'research-rollout.png') });

  // Value-weighted, by clicking the toggle: the worker sends the layer's value norms.
  await page.click('[data-weighting="value"]');
  await page.waitForFunction(() => location.hash.includes('wt=value'));
  await expect(page.getByTestId('weighting-note')).toContainText('value adds');
  const heads = valued.value_weighted[layer];
  // The norms come with the next answer from the worker: poll until the drawn arcs carry them.
  const valueWorst = async () => {
    const got = await focused(page, i);
    if (got.length <= 12) return Infinity;
    let m = 0;
    for (const { head, to, w } of got) {
      const row = heads[head][i];
      const sum = row.reduce((a, b) => a + b, 0);
      m = Math.max(m, Math.abs(w - row[to] / sum));
    }
    return m;
  };
  await expect.poll(valueWorst, { timeout: 30_000 }).toBeLessThan(3e-2);
  await page.screenshot({ path: path.join(SHOTS, 'research-value.png') });

  // Back to the weights: the arcs are the model's attention again.
  await page.click('[data-weighting="weights"]');
  await expect(page.getByTestId('weighting-note')).toHaveCount(0);
});

const lensRef = JSON.parse(fs.readFileSync(path.join(REF, 'model_analysis_reference.json'), 'utf8')).models.smollm2[0];
const minilm = JSON.parse(fs.readFileSync(path.join(REF, 'minilm_reference.json'), 'utf8'));

async function ready(page) {
  await page.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 150_000 });
  await page.waitForSelector('path[data-from]');
}

test('the logit lens opens from its link, ends in the next-word panel bit for bit, and pins by mouse and keyboard', async ({ page }) => {
  const s = lensRef.text;
  await page.goto('./#model=smollm2&lens=open&s=' + encodeURIComponent(s));
  await ready(page);
  await page.waitForSelector('[data-testid="lens-cell"]', { timeout: 120_000 });
  const n = lensRef.ids.length;
  const cells = await page.$$eval('[data-testid="lens-cell"]', (cs) => cs.map((c) => ({ l: +c.dataset.layer, p: +c.dataset.pos, id: +c.dataset.id, prob: c.dataset.prob })));
  expect(cells.length).toBe(30 * n);
  // Against HF transformers' logit lens (numpy on its hidden states): where HF's top token leads the
  // second by a clear margin, ours is the same token.
  let checked = 0;
  let agree = 0;
  for (const c of cells) {
    const top = lensRef.logit_lens[c.l][c.p];
    if (top[0].prob - top[1].prob < 0.05) continue;
    checked += 1;
    agree += top[0].id === c.id ? 1 : 0;
  }
  expect(checked).toBeGreaterThan(100);
  expect(agree).toBe(checked);
  // The last row is the model's output: the guess after each token, bit for bit (same f32 text).
  const last = cells.filter((c) => c.l === 29);
  for (const i of [0, 4, n - 2]) {
    await page.hover(`[data-token-index="${i}"]`);
    const g = page.getByTestId('guess-at');
    await expect(g).toHaveAttribute('data-id', String(last[i].id));
    await expect(g).toHaveAttribute('data-prob', last[i].prob);
  }
  // Click pins the last position's output cell: its top five are the next-word panel's, bit for bit.
  await page.click(`[data-testid="lens-cell"][data-layer="29"][data-pos="${n - 1}"]`);
  await page.waitForFunction((want) => location.hash.includes(want), `lens=29.${n - 1}`);
  const lens5 = await page.$$eval('[data-testid="lens-guess"]', (ls) => ls.map((l) => [l.dataset.id, l.dataset.prob]));
  const next5 = await page.$$eval('[data-testid="next-token"]', (ls) => ls.map((l) => [l.dataset.id, l.dataset.prob]));
  expect(lens5).toHaveLength(5);
  expect(lens5).toEqual(next5);
  await page.screenshot({ path: path.join(SHOTS, 'research-lens.png'), fullPage: true });
  // The keyboard reaches every cell: Tab to the grid's stop, arrows move, Enter pins.
  await page.focus('[data-testid="lens-cell"][tabindex="0"]');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Enter');
  await page.waitForFunction((want) => location.hash.includes(want), `lens=28.${n - 2}`);
  await expect(page.getByTestId('lens-top5')).toHaveAttribute('data-layer', '28');
  // The link restores the pinned cell; the JSON export carries the lens and the view.
  await page.reload();
  await page.waitForSelector('[data-testid="lens-top5"][data-layer="28"]', { timeout: 120_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
  const json = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  expect(json.logit_lens).toHaveLength(30);
  expect(json.logit_lens[29][n - 1].map((t) => t.id)).toEqual(next5.map(([id]) => +id));
  expect(json.view).toContain(`lens=28.${n - 2}`);
});

test('the neuron view rebuilds a real head\'s weight step by step, and the toy model\'s', async ({ page }) => {
  const s = minilm.sentences.find((x) => x.id === 's4_animal_it');
  const it = s.tokens.indexOf('it');
  const animal = s.tokens.indexOf('animal');
  await page.goto(`./#model=minilm&l=3&hd=1&f=${it}&pin=1&nk=${animal}&s=` + encodeURIComponent(s.text));
  await ready(page);
  await page.waitForSelector('[data-testid="neuron-weight"]');
  await expect(page.getByTestId('neuron-q')).toHaveAttribute('data-dims', '32');
  const num = async (id) => +(await page.getByTestId(id).getAttribute('data-value'));
  const w = await num('neuron-weight');
  expect(Math.abs(w - (await num('neuron-model-weight')))).toBeLessThan(1e-5);
  expect(Math.abs(w - s.attentions[3][1][it][animal])).toBeLessThan(2e-2);
  expect(Math.abs((await num('neuron-scaled')) - (await num('neuron-score')) / Math.sqrt(32))).toBeLessThan(1e-4);
  await page.getByTestId('neuron').screenshot({ path: path.join(SHOTS, 'research-neuron.png') });
  // Another key by keyboard: the link follows.
  await page.getByTestId('neuron-key').selectOption(String(it));
  await page.waitForFunction((want) => location.hash.includes(want), `nk=${it}`);
  expect(Math.abs((await num('neuron-weight')) - s.attentions[3][1][it][it])).toBeLessThan(2e-2);

  // The toy model: causal attention on the book's sentence; a future key is masked to weight 0.
  await page.goto('./#m=causal&f=1&pin=1&nk=3');
  await page.waitForSelector('[data-testid="neuron-weight"]');
  await expect(page.getByTestId('neuron-mask')).toHaveAttribute('data-masked', 'true');
  expect(await num('neuron-weight')).toBe(0);
  await page.getByTestId('neuron-key').selectOption('0');
  const drawn = +(await page.locator('path[data-focused="true"][data-to="0"]').first().getAttribute('data-weight'));
  expect(Math.abs((await num('neuron-weight')) - drawn)).toBeLessThan(1e-6);
  await page.getByTestId('neuron').getByRole('button', { name: 'close' }).click();
  await expect(page.getByTestId('neuron-open')).toBeVisible();
});

test('comparing two sentences: both side by side, B − A exactly on the shared tokens, heads that move, in the link and the export', async ({ page }) => {
  const a = 'The animal didn\'t cross the street because it was too tired.';
  const b = 'The animal didn\'t cross the street because it was too wide.';
  await page.goto('./#model=minilm&l=3&hd=1&s=' + encodeURIComponent(a));
  await ready(page);
  await page.click('[data-testid="compare-open"]');
  await page.fill('[data-testid="compare-input"]', b);
  await page.waitForSelector('[data-testid="diff-cell"]', { timeout: 60_000 });
  await expect(page.getByTestId('compare-b-text')).toContainText('too wide');
  const weights = (side) => page.$$eval(`[data-testid="${side}"] g[data-row]`, (gs) => Object.fromEntries(gs.map((g) => [`${g.dataset.row},${g.dataset.col}`, +g.dataset.weight])));
  const [wa, wb] = [await weights('compare-a'), await weights('compare-b')];
  const diffs = await page.$$eval('[data-testid="diff-cell"]', (cs) => cs.map((c) => ({ q: +c.dataset.q, k: +c.dataset.k, d: +c.dataset.diff })));
  const na = Math.round(Math.sqrt(Object.keys(wa).length));
  // Same length, one word changed: every token but that one is shared, at the same position.
  expect(diffs.length).toBe((na - 1) * (na - 1));
  let moved = 0;
  for (const { q, k, d } of diffs) {
    // Each number is an f32 written in its shortest form: read back as f32, B − A rounds as Rust's does.
    const f = Math.fround;
    expect(f(d)).toBe(f(f(wb[`${q},${k}`]) - f(wa[`${q},${k}`])));
    moved = Math.max(moved, Math.abs(d));
  }
  expect(moved).toBeGreaterThan(1e-3);
  // By keyboard: the B − A grid takes focus and the arrows walk its rows (A's tokens).
  await page.mouse.move(0, 0);
  await page.getByTestId('diff-keys').focus();
  await page.keyboard.press('ArrowDown');
  const lit = () => page.$$eval('[data-testid="diff-cell"][stroke="#e69f00"]', (cs) => [...new Set(cs.map((c) => +c.dataset.q))]);
  await expect.poll(lit).toEqual([1]);
  await page.keyboard.press('ArrowDown');
  await expect.poll(lit).toEqual([2]);
  // Pin "it": the heads where it moves most, largest first; a click opens one.
  const it = (await page.$$eval('[data-token-index]', (ts) => ts.map((t) => t.textContent.trim()))).indexOf('it');
  await page.click(`[data-token-index="${it}"]`);
  await page.waitForSelector('[data-testid="compare-rank"]');
  const ranks = await page.$$eval('[data-testid="compare-rank"]', (rs) => rs.map((r) => ({ l: +r.dataset.layer, h: +r.dataset.head, m: +r.dataset.moved })));
  expect(ranks.length).toBe(8);
  for (let k = 1; k < ranks.length; k++) expect(ranks[k - 1].m).toBeGreaterThanOrEqual(ranks[k].m);
  await page.screenshot({ path: path.join(SHOTS, 'research-compare.png'), fullPage: true });
  await page.click(`[data-testid="compare-rank"][data-layer="${ranks[0].l}"][data-head="${ranks[0].h}"]`);
  await page.waitForFunction((want) => location.hash.includes(want), `l=${ranks[0].l}`);
  // The link round trip restores both sentences; the export carries both passes.
  await page.waitForFunction(() => location.hash.includes('vs='));
  await page.reload();
  await page.waitForSelector('[data-testid="diff-cell"]', { timeout: 60_000 });
  await expect(page.getByTestId('compare-input')).toHaveValue(b);
  await expect(page.getByTestId('sentence-input')).toHaveValue(a);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
  const json = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  expect(json.compare.report.tokens).toContain('wide');
  expect(json.compare.aligned.length).toBe(na - 1);
  // Stop comparing: the panel goes, the link forgets B.
  await page.click('[data-testid="compare-close"]');
  await expect(page.getByTestId('compare')).toHaveCount(0);
  await page.waitForFunction(() => !location.hash.includes('vs='));
});
