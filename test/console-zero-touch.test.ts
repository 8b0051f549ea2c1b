/**
 * The web console's zero-touch views (issue 18) in a real headless Chromium (Debian's `chromium`
 * through playwright-core) against a real platform: 5 provisioning codes made in the Codes view are
 * shown once and downloaded as the API's CSV; one of them provisions a real mqtt.js device over TLS,
 * and the codes list turns it Registered with that device's clientId without a reload (the live
 * event stream); the rollout marks that device as come by a code; the Enrollment view registers a
 * manufacturer CA from its pasted PEM (a bad PEM named next to its field) and creates, then
 * disables, an enrollment group. Everything is asserted as a user sees it, and again over the API.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { provisioningCodeUsername } from '../protocol/enrollment.ts';
import { buildConsole } from '../scripts/build-console.ts';
import { missingPrograms, skipUnlessInstalled } from './support/external-tools.ts';
import { makeManufacturerCa } from './support/factory-certificates.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { createAccount, provisionOver } from './support/zero-touch-kit.ts';

const chromiumMissing = missingPrograms(['chromium']).length > 0;

function skipped(t: TestContext): boolean {
  return skipUnlessInstalled(t, ['chromium'], 'apt-get install -y chromium', 'PROVISIO_TEST_REQUIRE_CHROMIUM');
}

describe('web console zero-touch views in headless Chromium', { timeout: 180_000 }, () => {
  let fixture: TestPlatform;
  let browser: Browser;
  let page: Page;
  let origin = '';
  let accountId = '';
  /** The codes as the page showed them, by code id. */
  const shownCodes = new Map<string, string>();

  before(async () => {
    buildConsole();
    fixture = await startTestPlatform();
    origin = new URL(fixture.apiUrl).origin;
    accountId = await createAccount(fixture, 'acme', ['meters']);
    if (chromiumMissing) return;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${origin}/`);
    await page.getByLabel('API token').fill(fixture.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('header').getByLabel('Account').selectOption({ label: 'acme' });
  });
  after(async () => {
    await browser?.close();
    await fixture?.close();
  });

  async function go(view: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: view, exact: true }).click();
    await page.locator('main h1, main .problem').first().waitFor();
    const problem = page.locator('main > .problem');
    if ((await problem.count()) > 0) assert.fail(`${view}: ${await problem.innerText()}`);
  }

  it('Should name a count out of range next to its field', async (t) => {
    if (skipped(t)) return;
    await go('Codes');
    await page.getByLabel('How many').fill('1001');
    await page.getByRole('button', { name: 'Make codes' }).click();
    const fieldError = page.locator('input[name="count"][aria-invalid="true"] + .field-error');
    await fieldError.waitFor();
    assert.match(await fieldError.innerText(), /1000/);
    assert.equal((await fixture.api<{ total: number }>('GET', `/provisioning-codes?accountId=${accountId}`)).body.total, 0, 'no code made');
  });

  it('Should make 5 codes, show them once with a copy button and download them as CSV', async (t) => {
    if (skipped(t)) return;
    await go('Codes');
    await page.getByLabel('Category (optional)').fill('meters');
    await page.getByLabel('How many').fill('5');
    await page.getByLabel('Valid for (days)').fill('3');
    await page.getByRole('button', { name: 'Make codes' }).click();
    const panel = page.getByRole('region', { name: 'New provisioning codes' });
    await panel.waitFor();
    assert.match(await panel.innerText(), /Shown once/);
    for (const code of await panel.locator('code[data-code-id]').all()) shownCodes.set((await code.getAttribute('data-code-id'))!, await code.innerText());
    assert.equal(shownCodes.size, 5);
    for (const code of shownCodes.values()) assert.match(code, /^\d{4}-\d{4}-\d{4}$/);

    await panel.getByRole('button', { name: 'Copy codes' }).click();
    await panel.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), [...shownCodes.values()].join('\n'));

    const [download] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Download CSV (5)' }).click()]);
    const lines = (await readFile((await download.path())!, 'utf8')).trim().split(/\r?\n/);
    assert.equal(lines[0], 'id,code,accountId,category,expiresOn');
    assert.deepEqual(
      lines
        .slice(1)
        .map((line) => line.split(',').slice(0, 4).join(','))
        .sort(),
      [...shownCodes].map(([id, code]) => `${id},${code},${accountId},meters`).sort(),
    );

    // The list: five Pending codes in the category, valid for 3 days; nothing of the codes themselves.
    const pending = page.locator('tr[data-status="PENDING"]');
    await pending.nth(4).waitFor();
    assert.equal(await pending.count(), 5);
    assert.match(await pending.first().innerText(), /Pending[\s\S]*acme[\s\S]*meters/);
    const listed = await page.locator('.codes-list').innerText();
    for (const code of shownCodes.values()) assert.ok(!listed.includes(code), 'the list never shows a code');

    await panel.getByRole('button', { name: 'I have kept them' }).click();
    assert.equal(await page.locator('code[data-code-id]').count(), 0, 'gone once dismissed');
    const api = await fixture.api<{ items: { expiresOn: string; category: string }[] }>('GET', `/provisioning-codes?accountId=${accountId}`);
    for (const code of api.body.items) {
      assert.equal(code.category, 'meters');
      assert.ok(Math.abs(Date.parse(code.expiresOn) - Date.now() - 3 * 86_400_000) < 60_000, code.expiresOn);
    }
  });

  it('Should show a code Registered with the clientId of the device that used it, without a reload', async (t) => {
    if (skipped(t)) return;
    const [codeId, code] = [...shownCodes][0]!;
    const row = page.locator(`tr[data-code-id="${codeId}"]`);
    assert.equal(await row.getAttribute('data-status'), 'PENDING');
    await page.evaluate('window.notReloaded = true');

    const clientId = 'ZT-CONSOLE-01';
    const client = await fixture.connectProvision({ clientId, username: provisioningCodeUsername, password: code });
    try {
      await provisionOver(client, clientId, 'console-code-1');
    } finally {
      await client.endAsync();
    }
    await page.locator(`tr[data-code-id="${codeId}"][data-status="REGISTERED"]`).waitFor({ timeout: 20_000 });
    const text = await row.innerText();
    assert.match(text, /Registered/);
    assert.match(text, new RegExp(clientId));
    assert.equal(await page.evaluate('window.notReloaded'), true, 'no reload');
    assert.equal(await page.locator('tr[data-status="PENDING"]').count(), 4);

    await page.getByLabel('Status').selectOption({ label: 'Registered' });
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('tr[data-status="REGISTERED"]').waitFor();
    assert.equal(await page.locator('tr[data-code-id]').count(), 1);

    await go('Rollout');
    await page.locator(`tr[data-client-id="${clientId}"][data-origin="provisioning code"]`).waitFor();
    assert.match(await page.locator(`tr[data-client-id="${clientId}"]`).innerText(), /provisioning code/);
  });

  it('Should delete a pending code', async (t) => {
    if (skipped(t)) return;
    await go('Codes');
    const [codeId] = [...shownCodes][1]!;
    await page.getByRole('button', { name: `Delete code ${codeId}` }).click();
    await page.locator(`tr[data-code-id="${codeId}"]`).waitFor({ state: 'detached' });
    assert.equal(await page.locator('tr[data-status="PENDING"]').count(), 3);
    assert.equal((await fixture.api('GET', `/provisioning-codes/${codeId}`)).status, 404);
  });

  it('Should register a manufacturer CA from its PEM and create, then disable, an enrollment group', async (t) => {
    if (skipped(t)) return;
    const maker = makeManufacturerCa('Console Maker CA');
    await go('Enrollment');
    await page.getByText('Register a CA').click();
    await page.getByLabel('Name', { exact: true }).fill('Console Maker CA');
    await page.getByLabel('CA certificate (PEM)').fill('-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----');
    await page.getByRole('button', { name: 'Register CA' }).click();
    await page.locator('textarea[name="pem"][aria-invalid="true"] + .field-error').waitFor();
    await page.getByLabel('CA certificate (PEM)').fill(maker.certPem);
    await page.getByRole('button', { name: 'Register CA' }).click();
    await page.getByRole('cell', { name: 'Console Maker CA', exact: true }).waitFor();
    const caRow = page.locator('tr', { has: page.getByRole('cell', { name: 'Console Maker CA', exact: true }) });
    assert.match(await caRow.innerText(), /CN=Console Maker CA[\s\S]*enabled/);
    assert.equal(await page.locator('textarea[name="pem"][aria-invalid="true"]').count(), 0, 'the problem is gone');

    const groupForm = page.locator('form', { has: page.getByRole('button', { name: 'Create group' }) });
    await groupForm.getByLabel('Group name').fill('line-3');
    await groupForm.getByLabel('Manufacturer CA').selectOption({ label: 'Console Maker CA' });
    await groupForm.getByLabel('Category (optional)').fill('meters');
    await groupForm.getByLabel('May provision again after a factory reset').check();
    await page.getByRole('button', { name: 'Create group' }).click();
    const groupRow = page.getByRole('row', { name: /line-3/ });
    await groupRow.waitFor();
    assert.match(await groupRow.innerText(), /line-3\s+acme\s+Console Maker CA\s+meters\s+yes\s+enabled/);
    const groups = await fixture.api<{ items: { name: string; category: string | null; reprovisionAllowed: boolean; enabled: boolean }[] }>(
      'GET',
      `/enrollment-groups?accountId=${accountId}`,
    );
    assert.deepEqual(
      groups.body.items.map(({ name, category, reprovisionAllowed, enabled }) => ({ name, category, reprovisionAllowed, enabled })),
      [{ name: 'line-3', category: 'meters', reprovisionAllowed: true, enabled: true }],
    );

    await page.getByRole('button', { name: 'Disable line-3' }).click();
    await page
      .getByRole('row', { name: /line-3/ })
      .getByText('disabled')
      .waitFor();
    const after = await fixture.api<{ items: { enabled: boolean }[] }>('GET', `/enrollment-groups?accountId=${accountId}`);
    assert.equal(after.body.items[0]?.enabled, false);
  });

  it('Should fit a phone-sized window: no horizontal scroll of the page', async (t) => {
    if (skipped(t)) return;
    await page.setViewportSize({ width: 390, height: 844 });
    for (const view of ['Codes', 'Enrollment', 'Rollout']) {
      await go(view);
      const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
      assert.ok(overflow <= 0, `${view} scrolls sideways by ${overflow}px at 390 px`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
