import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { adminHeaders, freePort, ROOT, type System, startSystem, TEST_ADMIN_TOKEN } from '@oncehook/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The dashboard as an operator uses it, in a real headless Chromium: signs in (HTTP Basic, the
 * password ADMIN_TOKEN), sees both queues, finds the event that failed while the payments API was
 * down, and retries it from the UI once the API is back: the event completes, charged once.
 * UPDATE_SCREENSHOTS=1 writes the failed job's page to docs/dashboard.png. And a page on another
 * site, opened in that signed-in browser, can neither frame the dashboard nor change anything.
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
    // Named so that an operator finds the event by eye: its source, event id and type.
    await expect.poll(() => page.locator('body').textContent()).toMatch(/demo evt_ui_1 payment\.succeeded/);
    // Its Error tab shows why it failed.
    await page.getByText('Error', { exact: true }).first().click({ timeout: 10_000 });
    await expect.poll(() => page.locator('body').textContent()).toMatch(/down \(injected\)/);
    if (process.env.UPDATE_SCREENSHOTS === '1')
      await page.screenshot({ path: join(ROOT, 'docs', 'dashboard.png') });

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

  it('refuses a page on another site that posts to the admin side with the cached credentials', async () => {
    const port = sys.base.split(':').at(-1);
    // `localhost` is another site than `127.0.0.1`: the browser says cross-site, as for evil.example.
    const target = `http://127.0.0.1:${port}`;
    const forged = {
      source: 'demo',
      eventId: 'evt_forged',
      type: 'payment.succeeded',
      receivedAt: 1,
      windowSeconds: 86400,
      payload: JSON.stringify({ event_id: 'evt_forged', amount: 99900, currency: 'USD' }),
    };
    const field = JSON.stringify({ name: 'event', data: forged, pad: '' }).slice(0, -2);
    const page = (action: string) =>
      action === 'frame'
        ? `<!doctype html><body><iframe src="${target}/admin/queues"></iframe></body>`
        : `<!doctype html><body>
      <form method="post" enctype="text/plain" action="${target}${action}">
        <input name='${field.replaceAll("'", '&#39;')}' value='"}'>
      </form>
      <script>setTimeout(() => document.forms[0].submit(), 300)</script></body>`;
    const evilPort = await freePort();
    const evil: Server = createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(page(decodeURIComponent((req.url ?? '/').slice(1))));
    });
    await new Promise<void>((resolve) => evil.listen(evilPort, resolve));
    const jobs = async () => {
      const res = await fetch(`${sys.base}/admin/queues/api/queues`, { headers: adminHeaders() });
      const { queues } = (await res.json()) as { queues: { counts: Record<string, number> }[] };
      return queues.flatMap((q) => Object.values(q.counts)).reduce((a, b) => a + b, 0);
    };
    const before = await jobs();
    // The operator's browser: it answers the admin side's Basic challenge with the password.
    const context = await browser.newContext({
      httpCredentials: { username: 'operator', password: TEST_ADMIN_TOKEN },
    });
    try {
      for (const action of ['/admin/queues/api/queues/events/add', '/admin/replay?state=failed']) {
        const tab = await context.newPage();
        const answered = tab.waitForResponse((r) => r.request().method() === 'POST' && r.status() !== 401);
        await tab.goto(`http://localhost:${evilPort}/${encodeURIComponent(action)}`);
        const res = await answered;
        expect((await res.request().allHeaders())['sec-fetch-site']).toBe('cross-site');
        expect(res.status()).toBe(403);
        expect(await res.json()).toMatchObject({ error: { code: 'cross_site_request' } });
        await tab.close();
      }
      // Nor can it show the dashboard in a frame, to trick a click: the browser refuses to render it.
      const tab = await context.newPage();
      const blocked = tab.waitForEvent('requestfailed', (r) => r.url() === `${target}/admin/queues`);
      await tab.goto(`http://localhost:${evilPort}/frame`);
      expect((await blocked).failure()?.errorText).toBe('net::ERR_BLOCKED_BY_RESPONSE');
      await tab.close();
      expect(await jobs()).toBe(before);
      expect([...sys.apis.charges.values()].filter((c) => c.metadata.event_id === 'evt_forged')).toEqual([]);
    } finally {
      await context.close();
      evil.close();
    }
  });
});
