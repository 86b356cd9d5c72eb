// The lesson, walked as a learner (and a teacher pasting step links) would.
import { test, expect } from '@playwright/test';
import { guard } from './guard.mjs';
import fs from 'node:fs';
import path from 'node:path';

const SHOTS = path.resolve('test-results/screenshots');
fs.mkdirSync(SHOTS, { recursive: true });

test.beforeEach(async ({ page, baseURL }) => guard(page, baseURL));

test('every step opens from its own link, renders its formula, and its question checks against the widget', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto('./');
  await page.waitForSelector('path[data-from]');
  await page.getByTestId('lesson-open').click();
  await expect(page.getByTestId('lesson')).toHaveAttribute('data-step', '0');
  const steps = await page.getByTestId('step-link').count();
  expect(steps).toBeGreaterThanOrEqual(7);
  for (let k = 0; k < steps; k++) {
    await page.goto('about:blank');
    await page.goto(`./#lesson=${k}`);
    const lesson = page.getByTestId('lesson');
    await expect(lesson).toHaveAttribute('data-step', String(k));
    const ns = await page.evaluate(() => document.querySelector('.lesson-formula math')?.namespaceURI);
    expect(ns).toBe('http://www.w3.org/1998/Math/MathML');
    if (k === steps - 1) {
      await page.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 120_000 });
      await page.waitForSelector('path[data-focused="true"]');
    }
    const right = page.locator('[data-testid="answer"][data-right="true"]');
    await expect(right).toHaveCount(1, { timeout: 30_000 });
    const wrong = page.locator('[data-testid="answer"]:not([data-right])').first();
    await wrong.click();
    await expect(page.getByTestId('verdict')).toHaveAttribute('data-correct', 'false');
    await right.click();
    await expect(page.getByTestId('verdict')).toHaveAttribute('data-correct', 'true');
    await page.screenshot({ path: `${SHOTS}/lesson-${k}.png`, fullPage: true });
  }
});

test('the RNN step lengthens its sentence; the causal step compares conventions; the last step links SmolLM2', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('./#lesson=0');
  const share = page.getByTestId('rnn-share');
  await page.getByTestId('rnn-length').fill('3');
  await expect(share.locator('.bar-cell')).toHaveCount(3);
  await page.getByTestId('rnn-length').fill('12');
  await expect(share.locator('.bar-cell')).toHaveCount(12);
  await page.goto('about:blank');
  await page.goto('./#lesson=4');
  await expect(page.getByTestId('causal-neg-inf')).toBeVisible();
  await expect(page.getByTestId('conventions-agree')).toContainText(/e-[0-9]+|0\.0e0/);
  await page.goto('about:blank');
  await page.goto('./#lesson=6');
  await page.getByTestId('smollm2-preset').click();
  await page.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 120_000 });
  const w = +(await page.locator('path[data-focused="true"][data-to="1"]').getAttribute('data-weight'));
  expect(w).toBeGreaterThan(0.5); // 'jumped' -> 'cat' in layer 13, head 8
});

test('keyboard only: Next and Previous walk the steps, and the link follows', async ({ page }) => {
  await page.goto('./#lesson=0');
  await expect(page.getByTestId('lesson')).toHaveAttribute('data-step', '0');
  for (let k = 1; k <= 3; k++) {
    await page.getByTestId('lesson-next').focus();
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('lesson')).toHaveAttribute('data-step', String(k));
  }
  await expect.poll(() => page.url()).toContain('lesson=3');
  await page.getByTestId('lesson-prev').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('lesson')).toHaveAttribute('data-step', '2');
  // The step's view is live: the simplified mode on the book example, 'journey' pinned.
  await expect(page.locator('button[data-mode="simplified"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('path[data-focused="true"][data-from="1"]')).toHaveCount(6);
  await page.getByTestId('lesson-close').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('lesson')).toHaveCount(0);
});
