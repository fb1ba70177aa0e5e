import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, type System, startSystem, TEST_ADMIN_TOKEN } from '@oncehook/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The dashboard as an operator uses it, in a real headless Chromium: signs in (HTTP Basic, the
 * password ADMIN_TOKEN), sees both queues, finds the event that failed while the payments API was
 * down, and retries it from the UI once the API is back: the event completes, charged once.
 * UPDATE_SCREENSHOTS=1 writes the failed job's page to docs/dashboard.png.
 */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(
    `dashboard browser test skipped: no Chromium at ${CHROMIUM} (Debian: apt-get install chromium)`,
  );

// Chromium's own background traffic goes nowhere on a closed network: keep it quiet.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let sys: System;
let browser: Browser;
beforeAll(async () => {
  if (!haveChromium) return;
  sys = await startSystem({ workers: 1, env: { MAX_ATTEMPTS: '2' } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});
afterAll(async () => {
  await browser?.close();
  await sys?.stop();
});

describe.skipIf(!haveChromium)('the dashboard in a browser', () => {
  it('asks for the password, then shows both queues and retries a failed job: one charge', async () => {
    sys.apis.setDown(true, 'payments');
    expect((await sys.deliver('evt_ui_1', 4200)).status).toBe(200);
    expect(await sys.waitFor(['evt_ui_1'], ['failed'])).toEqual([]);
    sys.apis.setDown(false, 'payments');

    // No credentials: refused, with a Basic challenge (a browser then asks for the password).
    const anonymous = await browser.newContext();
    const refused = await anonymous.request.get(`${sys.base}/admin/queues`);
    expect(refused.status()).toBe(401);
    expect(refused.headers()['www-authenticate']).toContain('Basic');
    await anonymous.close();

    const context = await browser.newContext({
      httpCredentials: { username: 'operator', password: TEST_ADMIN_TOKEN },
      viewport: { width: 1280, height: 720 },
    });
    const page = await context.newPage();
    const signedIn = await page.goto(`${sys.base}/admin/queues`);
    expect(signedIn?.status()).toBe(200);
    const sidebar = page.locator('nav, aside').first();
    await expect.poll(() => sidebar.textContent()).toMatch(/events[\s\S]*workflows/);

    await page.goto(`${sys.base}/admin/queues/queue/events?status=failed`);
    const card = page.locator('ul[class^="jobActions"]').first();
    await card.waitFor();
    await expect.poll(() => page.locator('body').textContent()).toMatch(/down \(injected\)/);
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      // The event's data rather than the error's stack trace: what an operator recognises.
      await page.getByText('Data', { exact: true }).first().click({ timeout: 10_000 });
      await expect.poll(() => page.locator('body').textContent()).toMatch(/evt_ui_1/);
      await page.screenshot({ path: join(ROOT, 'docs', 'dashboard.png') });
    }

    // The job's Retry action (a refresh icon; its tooltip says "Retry"); it may ask to confirm.
    const retry = card.locator('button:has(svg.lucide-refresh-cw)');
    await retry.hover();
    await expect.poll(() => page.getByText('Retry', { exact: true }).count()).toBeGreaterThan(0);
    await retry.click();
    const confirm = page.getByRole('button', { name: 'Confirm' });
    if (await confirm.isVisible().catch(() => false)) await confirm.click();

    expect(await sys.waitFor(['evt_ui_1'])).toEqual([]);
    const charges = [...sys.apis.charges.values()].filter((c) => c.metadata.event_id === 'evt_ui_1');
    expect(charges).toHaveLength(1);
    expect(charges[0]?.hits).toBe(1);
    expect(sys.ledgerEntries().filter((e) => e.eventId === 'evt_ui_1')).toHaveLength(1);
    await context.close();
  });
});
