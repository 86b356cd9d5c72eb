// The app as a user drives it, in Debian's Chromium. Screenshots of every mode land in
// test-results/screenshots/ (look at them); browser timings in bench/out/e2e-perf.json.
import { test, expect } from '@playwright/test';
import { guard } from './guard.mjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ATTN = process.env.ATTN_BIN || path.resolve('target/debug/attn');
const SHOTS = path.resolve('test-results/screenshots');
fs.mkdirSync(SHOTS, { recursive: true });

function attnJson(args) {
  return JSON.parse(execFileSync(ATTN, [...args, '--json'], { encoding: 'utf8' }));
}

// Every test: no dialogs, no page errors, no request to any origin but the page's own.
test.beforeEach(async ({ page, baseURL }) => guard(page, baseURL));

async function arcs(page) {
  await page.waitForSelector('path[data-from]');
}

test('opens on the book example with arcs and no download', async ({ page }) => {
  await page.goto('./');
  await arcs(page);
  await expect(page.getByTestId('sentence-input')).toHaveValue('Your journey starts with one step');
  await expect(page.locator('[data-token-index]')).toHaveCount(6);
  await expect(page.locator('button[data-mode="self"]')).toHaveAttribute('aria-pressed', 'true');
  await page.screenshot({ path: `${SHOTS}/book-self.png`, fullPage: true });
});

test('type a sentence and switch through all four modes', async ({ page }) => {
  await page.goto('./');
  await arcs(page);
  const box = page.getByTestId('sentence-input');
  await box.fill('');
  await box.pressSequentially('The cat sat on the mat.', { delay: 10 });
  await expect(page.locator('[data-token-index]')).toHaveCount(7);
  const expected = { simplified: 49, self: 49, causal: 28, 'multi-head': 56 };
  for (const mode of ['simplified', 'self', 'causal', 'multi-head']) {
    await page.click(`button[data-mode="${mode}"]`);
    await expect(page.locator(`button[data-mode="${mode}"]`)).toHaveAttribute('aria-pressed', 'true');
    await expect(page.locator('button[data-mode][aria-pressed="true"]')).toHaveCount(1);
    await expect(page.locator('path[data-from]')).toHaveCount(expected[mode]);
    if (mode === 'causal' || mode === 'multi-head') {
      // Never an arc into the future.
      const bad = await page.$$eval('path[data-from]', (ps) => ps.filter((p) => +p.dataset.to > +p.dataset.from).length);
      expect(bad).toBe(0);
    }
    await page.screenshot({ path: `${SHOTS}/mode-${mode}.png`, fullPage: true });
  }
  await page.click('button[data-view="heatmap"]');
  await expect(page.getByTestId('heatmap').first()).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/heatmap-multi-head.png`, fullPage: true });
});

test('hover and pin: highlighted arcs carry the engine\'s weights', async ({ page }) => {
  await page.goto('./#s=The%20cat%20sat%20on%20the%20mat&m=causal&seed=5');
  await arcs(page);
  const want = attnJson(['--sentence', 'The cat sat on the mat', '--mode', 'causal', '--seed', '5']);
  await page.hover('[data-token-index="3"]');
  const got = await page.$$eval('path[data-focused="true"]', (ps) => ps.map((p) => [+p.dataset.from, +p.dataset.to, +p.dataset.weight]));
  expect(got.length).toBe(4);
  for (const [from, to, w] of got) {
    expect(from).toBe(3);
    expect(Math.abs(w - want.attention[0][0][from][to])).toBeLessThan(1e-6);
  }
  await expect(page.getByTestId('announce')).toContainText('on attends to');
  // Pin, move away: the pinned token keeps its arcs. Esc unpins.
  await page.click('[data-token-index="3"]');
  await page.hover('[data-token-index="0"]');
  await expect(page.locator('path[data-focused="true"][data-from="3"]')).toHaveCount(4);
  await page.screenshot({ path: `${SHOTS}/pinned.png`, fullPage: true });
  // Each term of the context vector's weighted sum points at its arc.
  await page.hover('[data-testid="sum-term"][data-to="1"]');
  await expect(page.locator('path[data-term="true"]')).toHaveCount(1);
  await expect(page.locator('path[data-term="true"]')).toHaveAttribute('data-to', '1');
  await page.keyboard.press('Escape');
  await page.mouse.move(5, 5);
  await expect(page.locator('path[data-focused="true"]')).toHaveCount(0);
});

test('multi-head: every head\'s arcs match the engine', async ({ page }) => {
  await page.goto('./#s=one%20two%20three%20four%20five&m=multi-head&din=6&dout=8&h=4&seed=3');
  await arcs(page);
  const want = attnJson(['--sentence', 'one two three four five', '--mode', 'multi-head', '--d-in', '6', '--d-out', '8', '--heads', '4', '--seed', '3']);
  await page.hover('[data-token-index="4"]');
  const got = await page.$$eval('path[data-focused="true"]', (ps) => ps.map((p) => [+p.dataset.head, +p.dataset.to, +p.dataset.weight]));
  expect(got.length).toBe(4 * 5);
  for (const [h, to, w] of got) expect(Math.abs(w - want.attention[0][h][4][to])).toBeLessThan(1e-6);
  await expect(page.getByTestId('mini-head')).toHaveCount(4);
});

test('keyboard: tab to a token, arrows move, Enter pins, Escape unpins', async ({ page }) => {
  await page.goto('./');
  await arcs(page);
  await page.locator('[data-token-index="0"]').focus();
  await expect(page.getByTestId('announce')).toContainText('Your attends to');
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('announce')).toContainText('journey attends to');
  await expect(page.locator('path[data-focused="true"][data-from="1"]')).toHaveCount(6);
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-token-index="1"]')).toHaveAttribute('aria-pressed', 'true');
  await expect.poll(() => page.url()).toContain('pin=1');
  await page.keyboard.press('Escape');
  await expect(page.locator('[data-token-index="1"]')).toHaveAttribute('aria-pressed', 'false');
});

test('keyboard: the heatmap takes focus, arrows move the query row, Enter pins, Escape unpins', async ({ page }) => {
  await page.goto('./');
  await arcs(page);
  await page.click('button[data-view="heatmap"]');
  const grid = page.getByTestId('heatmaps');
  await grid.focus();
  const row = (i) => grid.locator(`[data-row="${i}"][data-col="0"] rect`);
  await expect(row(0)).toHaveAttribute('stroke', '#e69f00');
  await expect(page.getByTestId('announce')).toContainText('Your attends to');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(row(2)).toHaveAttribute('stroke', '#e69f00');
  await expect(row(0)).toHaveAttribute('stroke', 'none');
  await expect(page.getByTestId('announce')).toContainText('starts attends to');
  await page.keyboard.press('End');
  await expect(page.getByTestId('announce')).toContainText('step attends to');
  await page.keyboard.press('Enter');
  await expect.poll(() => page.url()).toContain('pin=1');
  await page.keyboard.press('Escape');
  await expect.poll(() => page.url()).not.toContain('pin=1');
});

test('copy link, open it in a fresh page, find the same view', async ({ page, context, browser }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto('./');
  await arcs(page);
  await page.getByTestId('sentence-input').fill('Attention is all you need');
  await page.click('button[data-mode="multi-head"]');
  await page.getByTestId('heads').fill('1');
  await page.getByTestId('heads').press('Enter');
  await page.click('[data-token-index="2"]');
  await page.click('button[data-view="heatmap"]');
  await page.click('button[data-view="arcs"]');
  await page.getByTestId('copy-link').click();
  await expect(page.getByTestId('status')).toHaveText('Link copied.');
  const link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link).toContain('#');
  const before = await page.$$eval('path[data-from]', (ps) => ps.map((p) => p.outerHTML).join('\n'));

  const fresh = await browser.newContext();
  const p2 = await fresh.newPage();
  await p2.goto(link);
  await arcs(p2);
  await expect(p2.getByTestId('sentence-input')).toHaveValue('Attention is all you need');
  await expect(p2.locator('button[data-mode="multi-head"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(p2.locator('[data-token-index="2"]')).toHaveAttribute('aria-pressed', 'true');
  const after = await p2.$$eval('path[data-from]', (ps) => ps.map((p) => p.outerHTML).join('\n'));
  expect(after).toBe(before);
  await fresh.close();
});

test('malformed links fall back with a notice and a working page', async ({ page }) => {
  for (const frag of ['#m=sideways', '#s=%E0%A4%A&seed=abc', '#%%%&&==', '#h=0&dout=99999&p=2', '#' + 'x'.repeat(5000), '#s=%252Fdouble%2520encoded']) {
    await page.goto('./' + frag);
    await arcs(page);
    await expect(page.getByTestId('sentence-input')).toBeVisible();
  }
  await page.goto('./#m=sideways&zz=1');
  await expect(page.getByTestId('link-notice')).toContainText('mode');
  await expect(page.getByTestId('link-notice')).toContainText('unknown part');
  await expect(page.locator('button[data-mode="self"]')).toHaveAttribute('aria-pressed', 'true');
  await page.screenshot({ path: `${SHOTS}/bad-link.png`, fullPage: true });
});

test('HTML in the sentence is shown as text and runs nothing', async ({ page }) => {
  const hostile = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', 'javascript:alert(1)'];
  await page.goto('./');
  await arcs(page);
  const scripts = await page.locator('script').count();
  for (const s of hostile) {
    await page.getByTestId('sentence-input').fill(s);
    await expect(page.getByTestId('sentence-input')).toHaveValue(s);
    await page.waitForTimeout(300);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(scripts);
  }
  await page.goto('./#s=' + encodeURIComponent(hostile[1]));
  await arcs(page);
  await expect(page.getByTestId('sentence-input')).toHaveValue(hostile[1]);
  await expect(page.locator('[data-token-index]').first()).toBeVisible();
  expect(await page.locator('img').count()).toBe(0);
});

test('bad input gets a clear message and the page stays usable', async ({ page }) => {
  await page.goto('./');
  await arcs(page);
  const box = page.getByTestId('sentence-input');
  await box.fill('   ');
  await expect(page.getByTestId('error')).toContainText('no words');
  await expect(page.locator('path[data-from]').first()).toBeAttached(); // last good view stays
  await box.fill('word '.repeat(300));
  await expect(page.getByTestId('error')).toContainText('300 tokens');
  await box.fill('Back to normal');
  await expect(page.getByTestId('error')).toHaveCount(0);
  await expect(page.locator('[data-token-index]')).toHaveCount(3);
  await page.click('button[data-mode="multi-head"]');
  await page.getByTestId('heads').fill('3');
  await page.getByTestId('heads').press('Enter');
  await expect(page.getByTestId('error')).toContainText('do not divide');
});

test('exports: SVG, PNG and JSON download and parse', async ({ page }) => {
  await page.goto('./#m=causal&f=2&pin=1');
  await arcs(page);
  const grab = async (id) => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(id).click()]);
    const file = await dl.path();
    return { name: dl.suggestedFilename(), bytes: fs.readFileSync(file) };
  };
  const svg = await grab('export-svg');
  expect(svg.name).toBe('attention-arcs.svg');
  const text = svg.bytes.toString('utf8');
  expect(text).toContain('<svg');
  expect(text).toContain('data-focused="true"'); // hover state included
  const parsed = await page.evaluate((t) => new DOMParser().parseFromString(t, 'image/svg+xml').querySelectorAll('parsererror').length, text);
  expect(parsed).toBe(0);
  const png = await grab('export-png');
  expect(png.name).toBe('attention-arcs.png');
  expect(png.bytes.subarray(1, 4).toString()).toBe('PNG');
  const json = JSON.parse((await grab('export-json')).bytes.toString('utf8'));
  const want = attnJson(['--preset', 'book', '--mode', 'causal']);
  expect(json.tokens).toEqual(want.tokens);
  expect(json.mode).toBe('causal');
  expect(json.attention).toEqual(want.attention);
  expect(json.context).toEqual(want.context);
});

test('dark mode toggle and phone width', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('./');
  await arcs(page);
  await page.click('button.theme');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.screenshot({ path: `${SHOTS}/phone-dark.png`, fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0); // the arc view scrolls inside its box, the page does not
});

test('long input prunes arcs instead of freezing', async ({ page }) => {
  const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
  await page.goto('./#s=' + encodeURIComponent(words));
  await arcs(page);
  await expect(page.locator('[data-token-index]')).toHaveCount(200);
  const n = await page.locator('path[data-from]').count();
  expect(n).toBeLessThanOrEqual(200 * 4);
  await page.hover('[data-token-index="150"]');
  await expect(page.locator('path[data-focused="true"]')).toHaveCount(200);
  await expect(page.getByTestId('token-budget')).toContainText('200 / 256');
});

test('performance figures (measured, not asserted)', async ({ page }) => {
  const out = { when: new Date().toISOString(), chromium: '' };
  await page.goto('./');
  await arcs(page);
  out.chromium = await page.evaluate(() => navigator.userAgent);
  const perf = await page.evaluate(() => window.__arcsPerf);
  out.navigation_to_first_arcs_ms = perf.first_arcs_ms;
  out.recompute_ms = {};
  out.hover_repaint_ms = {};
  for (const n of [16, 64, 256]) {
    const words = Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
    await page.getByTestId('sentence-input').fill(words);
    await expect(page.locator('[data-token-index]')).toHaveCount(n);
    const samples = [];
    for (let k = 0; k < 5; k++) {
      await page.click('button[data-mode="self"]');
      await page.click('button[data-mode="causal"]');
      samples.push((await page.evaluate(() => window.__arcsPerf)).last_compute_ms);
    }
    samples.sort((a, b) => a - b);
    out.recompute_ms[n] = samples[2];
    const hover = await page.evaluate(async (n) => {
      const times = [];
      for (let i = 0; i < 9; i++) {
        const el = document.querySelector(`[data-token-index="${(i * 7) % n}"]`);
        const t0 = performance.now();
        el.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
        el.dispatchEvent(new MouseEvent('mouseenter', { bubbles: false }));
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return times[4];
    }, n);
    out.hover_repaint_ms[n] = hover;
  }
  const dist = path.resolve('dist');
  const wasm = fs.readdirSync(dist).find((f) => f.startsWith('app-') && f.endsWith('_bg.wasm'));
  const raw = fs.readFileSync(path.join(dist, wasm));
  const zlib = await import('node:zlib');
  out.wasm_bytes = raw.length;
  out.wasm_gzip_bytes = zlib.gzipSync(raw, { level: 9 }).length;
  fs.mkdirSync('bench/out', { recursive: true });
  fs.writeFileSync('bench/out/e2e-perf.json', JSON.stringify(out, null, 2));
  console.log(JSON.stringify(out));
});

test.describe('touch', () => {
  test.use({ hasTouch: true, viewport: { width: 390, height: 844 } });
  test('tap pins a token, tap again unpins', async ({ page }) => {
    await page.goto('./');
    await page.waitForSelector('path[data-from]');
    await page.tap('[data-token-index="2"]');
    await expect(page.locator('[data-token-index="2"]')).toHaveAttribute('aria-pressed', 'true');
    await expect(page.locator('path[data-focused="true"][data-from="2"]')).toHaveCount(6);
    await page.tap('[data-token-index="2"]');
    await expect(page.locator('[data-token-index="2"]')).toHaveAttribute('aria-pressed', 'false');
  });
});
