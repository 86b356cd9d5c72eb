// The published folder: relative URLs only (it runs under any sub-path; the whole suite also runs under
// /attention-arcs/), an installable web app, and offline use after the first visit.
import { test, expect } from '@playwright/test';
import fs from 'node:fs';

test('dist/ uses only relative URLs and ships what installing needs', async ({ page, request }) => {
  const html = fs.readFileSync('dist/index.html', 'utf8');
  expect(html).not.toMatch(/(?:href|src)="\/(?!\/)/);
  await page.goto('./');
  await page.waitForSelector('path[data-from]');
  await expect(page).toHaveTitle(/Attention Arcs/);
  expect(await page.locator('meta[name="description"]').getAttribute('content')).toContain('attention');
  const href = await page.locator('link[rel="manifest"]').getAttribute('href');
  const manifest = await (await request.get(new URL(href, page.url()).href)).json();
  expect(manifest.start_url).toBe('./');
  for (const icon of manifest.icons) {
    const r = await request.get(new URL(icon.src, new URL(href, page.url())).href);
    expect(r.ok()).toBe(true);
  }
  // Chromium's own verdict on installing the page as an app.
  const cdp = await page.context().newCDPSession(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  // Test browser contexts are incognito, which alone blocks installing; nothing else may.
  expect(installabilityErrors.filter((e) => e.errorId !== 'in-incognito')).toEqual([]);
  const models = await (await request.get(new URL('models/manifest.json', page.url()).href)).json();
  for (const m of [models.minilm, models.smollm2]) for (const f of m.files) expect(f.bytes).toBeLessThanOrEqual(50_000_000);
});

test('offline after the first visit: the app, a share link and an opened model', async ({ page, context }) => {
  test.setTimeout(180_000);
  await page.goto('./#model=minilm&s=' + encodeURIComponent('The cat sat on the mat.'));
  await page.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 150_000 });
  await page.evaluate(() => navigator.serviceWorker.ready);
  // The service worker takes over on its first activation; a reload makes it control this page.
  await page.reload();
  await page.waitForSelector('path[data-from]');
  expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
  // Only the worker build this browser runs (SIMD) is kept for offline use.
  const cached = await page.evaluate(async () => {
    const name = (await caches.keys()).find((k) => k.startsWith('arcs-app-'));
    return (await (await caches.open(name)).keys()).map((r) => r.url.split('/').pop());
  });
  expect(cached).toContain('worker-simd_bg.wasm');
  expect(cached).not.toContain('worker_bg.wasm');

  await context.setOffline(true);
  const p2 = await context.newPage();
  await p2.goto(page.url().split('#')[0] + '#m=causal&s=' + encodeURIComponent('Offline and still working'));
  await p2.waitForSelector('path[data-from]');
  await expect(p2.locator('[data-token-index]')).toHaveCount(4);
  await p2.goto(page.url().split('#')[0] + '#model=minilm&m=multi-head&s=' + encodeURIComponent('Offline attention'));
  await p2.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 60_000 });
  await expect(p2.getByTestId('model-status')).toContainText('from the browser cache');
  await p2.waitForSelector('path[data-from]');
  await context.setOffline(false);
});
