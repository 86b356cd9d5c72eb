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
