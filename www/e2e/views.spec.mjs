// Every view as a first-time user meets it: at a phone's, a laptop's and a projector's width, light and
// dark. Screenshots land in test-results/screenshots/views/ (to be looked at), the accessibility tree in
// test-results/aria/; the checks catch what once read badly: a page wider than the screen, controls
// without a name, panels that reserve far more room than their content, a page that jumps when a
// model has loaded.
import { test, expect } from '@playwright/test';
import { guard } from './guard.mjs';
import fs from 'node:fs';
import path from 'node:path';

const SHOTS = path.resolve('test-results/screenshots/views');
const ARIA = path.resolve('test-results/aria');
fs.mkdirSync(SHOTS, { recursive: true });
fs.mkdirSync(ARIA, { recursive: true });

const CAT = 'The cat that was sitting on the mat, which was next to the dog, jumped.';
const ANIMAL = "The animal didn't cross the street because it was too tired.";
const VIEWS = [
  ['book', ''],
  ['toy-multi-head', 'm=multi-head&dout=8&h=8&s=' + encodeURIComponent('A quick brown fox jumps over the lazy dog')],
  ['heatmap', 'm=multi-head&v=heatmap'],
  ['steps-pinned', 'f=2&pin=1'],
  ['minilm-multi-head', 'model=minilm&m=multi-head&l=3&hd=1&s=' + encodeURIComponent(ANIMAL)],
  ['smollm2-next-word', 'model=smollm2&m=causal&l=13&hd=8&f=16&pin=1&s=' + encodeURIComponent(CAT)],
  ['smollm2-head-roles', 'model=smollm2&m=multi-head&roles=induction&s=' + encodeURIComponent(CAT)],
  ['lesson-rnn', 'lesson=0'],
  ['lesson-bahdanau', 'lesson=1'],
];
const WIDTHS = [390, 1280, 1920];

test.setTimeout(300_000);
test.beforeEach(async ({ page, baseURL }, info) => {
  // Layout does not depend on the sub-path: once is enough.
  test.skip(info.project.name !== 'root', 'layout checks run in the root project');
  guard(page, baseURL);
});

async function open(page, frag) {
  await page.goto('about:blank');
  await page.goto('./#' + frag);
  if (frag.includes('model=')) await page.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 150_000 });
  await page.waitForSelector('path[data-from], [data-testid="cross-widget"], [data-testid="rnn-share"]', { state: 'attached' });
}

/// Heights of a panel as laid out, and with every part forced to render: a placeholder that reserves
/// the wrong room shows as a difference.
async function reservedVsContent(page, selector) {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el) return null;
    const laid = el.getBoundingClientRect().height;
    for (const e of el.querySelectorAll('*')) e.style.contentVisibility = 'visible';
    const content = el.getBoundingClientRect().height;
    return { laid, content };
  }, selector);
}

test('every view at 390, 1280 and 1920 px, light and dark: fits the screen, every control named', async ({ page }) => {
  for (const [name, frag] of VIEWS) {
    for (const dark of [false, true]) {
      await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 900 });
        await open(page, frag);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${name} at ${width}px is wider than the screen`).toBeLessThanOrEqual(0);
        await page.screenshot({ path: `${SHOTS}/${name}-${width}-${dark ? 'dark' : 'light'}.png`, fullPage: true });
      }
    }
    const aria = await page.locator('body').ariaSnapshot();
    fs.writeFileSync(`${ARIA}/${name}.yml`, aria);
    const unnamed = aria.split('\n').filter((l) => /- (button|combobox|spinbutton|checkbox|textbox|slider|link|img|group)\s*(\[[^\]]*\])?:?\s*$/.test(l));
    expect(unnamed, `${name}: controls without an accessible name`).toEqual([]);
  }
  // A projector shows the page's text at a readable size.
  await page.setViewportSize({ width: 1920, height: 1080 });
  await open(page, '');
  const px = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  expect(px).toBeGreaterThanOrEqual(18);
});

test('a pinned token is on screen in the scrolling arc view', async ({ page }) => {
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await open(page, VIEWS.find(([n]) => n === 'smollm2-next-word')[1]);
    const inside = await page.evaluate(() => {
      const box = document.querySelector('.arcbox').getBoundingClientRect();
      const tok = document.querySelector('[data-token-index="16"]').getBoundingClientRect();
      return tok.left >= box.left - 1 && tok.right <= box.right + 1;
    });
    expect(inside, `the pinned token is off screen at ${width}px`).toBe(true);
  }
});

test('panels take the room their content needs: steps and the layers x heads overview', async ({ page }) => {
  await open(page, VIEWS.find(([n]) => n === 'minilm-multi-head')[1]);
  await page.hover('[data-token-index="11"]');
  await page.waitForTimeout(200);
  for (const sel of ['.steps', '.overview', '.model-panels']) {
    const { laid, content } = await reservedVsContent(page, sel);
    expect(laid / content, `${sel}: laid out ${laid}px for ${content}px of content`).toBeGreaterThan(0.8);
    expect(laid / content, `${sel}: laid out ${laid}px for ${content}px of content`).toBeLessThan(1.25);
  }
});

test('nothing below the model bar moves when the model has loaded', async ({ browser, baseURL }) => {
  for (const width of [390, 1280]) {
    // A fresh context each time (nothing cached), the model's download slowed so that its loading
    // state can be measured.
    const context = await browser.newContext({ baseURL, viewport: { width, height: 900 }, serviceWorkers: 'block' });
    const page = await context.newPage();
    guard(page, baseURL);
    await page.route('**/models/*.bundle', async (r) => { await new Promise((ok) => setTimeout(ok, 2_000)); await r.continue(); });
    await page.goto('./#model=minilm&s=' + encodeURIComponent('The cat sat on the mat'));
    await page.waitForSelector('[data-testid="model-wait"]');
    const top = () => page.evaluate(() => Math.round(document.querySelector('.stage').getBoundingClientRect().top));
    const loading = await top();
    await page.screenshot({ path: `${SHOTS}/loading-${width}.png` });
    await page.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 60_000 });
    await page.waitForSelector('path[data-from]');
    expect(await top(), `the main area moved at ${width}px`).toBe(loading);
    await context.close();
  }
});

test('keyboard only: tab to "draw every head\'s arcs" and press it', async ({ page }) => {
  await open(page, VIEWS.find(([n]) => n === 'minilm-multi-head')[1]);
  const base = await page.locator('path[data-from]').count();
  await page.locator('#sentence').focus();
  let found = false;
  for (let i = 0; i < 80 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement?.dataset?.testid === 'every-head');
  }
  expect(found).toBe(true);
  await page.keyboard.press('Enter');
  await expect.poll(() => page.locator('path[data-from]').count()).toBeGreaterThan(3 * base);
  await expect(page.getByTestId('every-head')).toHaveAttribute('aria-pressed', 'true');
});
