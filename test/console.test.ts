/**
 * The web console (issue 16 §1) in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core, which downloads no browser) against a real platform: sign-in, accounts,
 * requests (credentials shown once), a CSV import with its credentials download, the live
 * rollout moved by agent-sim devices without a reload, a validation error next to its field,
 * revoking a certificate (the device is refused), the audit log, sign-out, a phone-sized window,
 * and the web holes: security headers, no request to another origin, no token kept anywhere.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { runDevice } from '../agent-sim/device-agent.ts';
import { buildConsole } from '../scripts/build-console.ts';
import { missingPrograms, skipUnlessInstalled } from './support/external-tools.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

const install = 'apt-get install -y chromium';
const requiredBy = 'PROVISIO_TEST_REQUIRE_CHROMIUM';
const chromiumMissing = missingPrograms(['chromium']).length > 0;

function skipped(t: TestContext): boolean {
  return skipUnlessInstalled(t, ['chromium'], install, requiredBy);
}

describe('web console in headless Chromium', { timeout: 240_000 }, () => {
  let fixture: TestPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin = '';
  const requested: string[] = [];
  let credentialsCsv = '';

  before(async () => {
    buildConsole();
    fixture = await startTestPlatform();
    origin = new URL(fixture.apiUrl).origin;
    if (chromiumMissing) return;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('request', (request) => requested.push(request.url()));
    page.on('dialog', (dialog) => void dialog.accept());
  });
  after(async () => {
    await browser?.close();
    await fixture?.close();
  });

  async function signIn(token: string): Promise<void> {
    await page.goto(`${origin}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function go(view: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: view, exact: true }).click();
    await page.locator('main h1, main .problem').first().waitFor();
    const problem = page.locator('main > .problem');
    if ((await problem.count()) > 0) assert.fail(`${view}: ${await problem.innerText()}`);
  }

  it('Should serve the console at / with a strict Content-Security-Policy, no framing, no sniffing and no caching', async () => {
    const response = await fetch(`${origin}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline script allowed');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const html = await response.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script is a file of this origin');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
    const script = await fetch(`${origin}/console/main.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(`${origin}/console/nothing.js`)).status, 404);
  });

  it('Should show the 401 problem for a wrong token', async (t) => {
    if (skipped(t)) return;
    await signIn('not-the-token');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /Unauthenticated|token|authenticat/i);
    assert.ok(await page.getByLabel('API token').isVisible());
  });

  it('Should sign in with the admin token (kept nowhere but memory) and create an account', async (t) => {
    if (skipped(t)) return;
    await signIn(fixture.adminToken);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await go('Accounts');
    await page.getByLabel('Name').fill('acme');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('cell', { name: 'acme' }).waitFor();
    const accounts = await fixture.api<{ items: { name: string }[] }>('GET', '/accounts');
    assert.deepEqual(
      accounts.body.items.map((account) => account.name),
      ['acme'],
    );
    // Expressions run in the page (this file is type-checked without the DOM library).
    const kept = (await page.evaluate('({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie, url: location.href })')) as {
      local: number;
      session: number;
      cookie: string;
      url: string;
    };
    assert.deepEqual({ local: kept.local, session: kept.session, cookie: kept.cookie }, { local: 0, session: 0, cookie: '' });
    assert.ok(!kept.url.includes(fixture.adminToken), 'the token is never in the URL');
  });

  it('Should show a validation error next to its field', async (t) => {
    if (skipped(t)) return;
    await go('Requests');
    await page.getByLabel('Client id', { exact: true }).first().fill('bad/client');
    await page.getByRole('button', { name: 'Create request' }).click();
    const problem = page.locator('.problem');
    await problem.waitFor();
    assert.match(await problem.innerText(), /not valid/);
    const fieldError = page.locator('input[name="clientId"][aria-invalid="true"] + .field-error');
    await fieldError.waitFor();
    assert.ok((await fieldError.innerText()).length > 0);
  });

  it('Should create a request and show its credentials once, with copy buttons and a warning', async (t) => {
    if (skipped(t)) return;
    await go('Requests');
    await page.locator('form.inline-form input[name="clientId"]').fill('CONSOLE-ONE');
    await page.getByLabel('Generate an activation key').check();
    await page.getByRole('button', { name: 'Create request' }).click();
    const panel = page.getByRole('region', { name: 'Credentials of CONSOLE-ONE' });
    await panel.waitFor();
    assert.match(await panel.innerText(), /Shown once/);
    const password = await panel.locator('[data-credential="password"]').innerText();
    assert.ok(password.length >= 16);
    await panel.getByRole('button', { name: 'Copy password' }).click();
    await panel.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), password);
    await panel.getByRole('button', { name: 'I have copied them' }).click();
    await page.getByRole('cell', { name: 'CONSOLE-ONE' }).waitFor();
    assert.equal(await page.getByText(password).count(), 0, 'gone once dismissed');
  });

  it('Should import a CSV of 50 devices, download their credentials, and watch the rollout move them to online without a reload', async (t) => {
    if (skipped(t)) return;
    await go('Import CSV');
    const clientIds = Array.from({ length: 50 }, (_, index) => `ROLL-${String(index).padStart(3, '0')}`);
    await page.getByLabel(/Devices \(CSV/).fill(['clientId', ...clientIds].join('\n'));
    await page.getByRole('button', { name: 'Create requests' }).click();
    await page.getByRole('heading', { name: '50 created, 0 failed' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Download credentials \(50\)/ }).click()]);
    credentialsCsv = await readFile((await download.path())!, 'utf8');
    const lines = credentialsCsv.trim().split(/\r?\n/);
    assert.equal(lines[0], 'clientId,username,password,activationKey');
    assert.equal(lines.length, 51);

    await go('Rollout');
    await page.locator('tr[data-client-id="ROLL-000"][data-stage="created"]').waitFor();
    await page.evaluate('window.notReloaded = true');
    const devices = [];
    for (const line of lines.slice(1, 4)) {
      const [clientId = '', username = '', password = ''] = line.split(',');
      const state = await newSimulatedDevice(fixture, { clientId, username, password });
      const result = await runDevice(state);
      assert.equal(result.status, 'online');
      devices.push({ clientId, state, result });
    }
    for (const { clientId } of devices) await page.locator(`tr[data-client-id="${clientId}"][data-stage="online"]`).waitFor({ timeout: 20_000 });
    await page.locator('[data-stage="online"] .number', { hasText: '3' }).waitFor();
    assert.equal(await page.evaluate('window.notReloaded'), true, 'no reload');
    for (const { result } of devices) if (result.status === 'online') await result.accountClient.endAsync();

    // Revoke the first device's certificate from its page; the account broker then refuses it.
    const first = devices[0]!;
    await page.locator('header').getByLabel('Account').selectOption({ label: 'acme' });
    await go('Devices');
    await page.getByRole('link', { name: first.clientId }).click();
    await page.getByRole('heading', { name: `Device ${first.clientId}` }).waitFor();
    await page.getByRole('button', { name: 'Revoke…' }).click();
    await page.getByLabel(/Reason to revoke/).fill('lost in transit');
    await page.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByText('REVOKED').first().waitFor();
    const again = await runDevice(first.state).then(
      (result) => {
        if (result.status === 'online') void result.accountClient.endAsync();
        return result.status;
      },
      () => 'refused',
    );
    assert.notEqual(again, 'online', 'a revoked certificate no longer connects');
  });

  it('Should create a configuration, upload a bundle and attach both to a category, then pause and resume an update job', async (t) => {
    if (skipped(t)) return;
    await go('Configurations & bundles');
    await page.getByLabel('Content (JSON object)').fill('{ not json');
    await page
      .locator('form', { has: page.getByLabel('Content (JSON object)') })
      .getByLabel('Name')
      .fill('base');
    await page.getByRole('button', { name: 'Create configuration' }).click();
    await page.locator('textarea[name="content"][aria-invalid="true"] + .field-error').waitFor();
    await page.getByLabel('Content (JSON object)').fill('{ "interval": 60 }');
    await page.getByRole('button', { name: 'Create configuration' }).click();
    await page.getByRole('cell', { name: 'base', exact: true }).waitFor();

    const bundleForm = page.locator('form', { has: page.getByRole('button', { name: 'Upload bundle' }) });
    await bundleForm.getByLabel('Name').fill('telemetry-app');
    await bundleForm.getByLabel('Version').fill('1.0.0');
    await bundleForm.getByLabel('File').setInputFiles({ name: 'app.bin', mimeType: 'application/octet-stream', buffer: Buffer.from('bundle bytes') });
    await page.getByRole('button', { name: 'Upload bundle' }).click();
    await page.getByRole('cell', { name: 'telemetry-app', exact: true }).waitFor();

    const categoryForm = page.locator('form', { has: page.getByRole('button', { name: 'Attach to category' }) });
    await categoryForm.getByLabel('Category').fill('phones');
    await categoryForm.getByLabel('Configuration').selectOption({ label: 'base (v1)' });
    await categoryForm.getByLabel('telemetry-app 1.0.0').check();
    await page.getByRole('button', { name: 'Attach to category' }).click();
    await page.getByRole('cell', { name: 'phones', exact: true }).waitFor();
    const categories = await fixture.api<{ items: { name: string; configurationId: string | null; bundleIds: string[] }[] }>(
      'GET',
      `/categories?accountId=${(await fixture.api<{ items: { id: string }[] }>('GET', '/accounts')).body.items[0]!.id}`,
    );
    const phones = categories.body.items.find((category) => category.name === 'phones');
    assert.ok(phones?.configurationId && phones.bundleIds.length === 1, JSON.stringify(categories.body));

    const accountId = (await fixture.api<{ items: { id: string }[] }>('GET', '/accounts')).body.items[0]!.id;
    const bundles = await fixture.api<{ items: { id: string }[] }>('GET', `/bundles?accountId=${accountId}`);
    const job = await fixture.api('POST', '/update-jobs', { accountId, name: 'roll-1', category: 'phones', bundleIds: [bundles.body.items[0]!.id] });
    assert.equal(job.status, 201, JSON.stringify(job.body));
    await go('Update jobs');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText('PAUSED').waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByText('RUNNING').waitFor();
  });

  it('Should read the audit log with a filter', async (t) => {
    if (skipped(t)) return;
    await go('Audit log');
    await page.getByLabel('Event type').fill('certificate.revoked');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('certificate.revoked').first().waitFor();
    assert.match(await page.locator('.pager').innerText(), /of 1\b/);
  });

  it('Should be usable in a phone-sized window: no horizontal scroll of the page', async (t) => {
    if (skipped(t)) return;
    await page.setViewportSize({ width: 390, height: 844 });
    for (const view of ['Rollout', 'Requests', 'Import CSV', 'Devices', 'Certificates', 'Configurations & bundles', 'Update jobs', 'Audit log', 'Accounts']) {
      await go(view);
      const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
      assert.ok(overflow <= 0, `${view} scrolls sideways by ${overflow}px at 390 px`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('Should honour an account token: its own account only, no account switcher, no admin action', async (t) => {
    if (skipped(t)) return;
    const accountId = (await fixture.api<{ items: { id: string }[] }>('GET', '/accounts')).body.items[0]!.id;
    const token = await fixture.api<{ token: string }>('POST', '/api-tokens', { accountId });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    await signIn(token.body.token);
    await page.getByText('Account: acme').waitFor();
    assert.equal(await page.locator('header select[name="account"]').count(), 0, 'no account switcher');
    await go('Accounts');
    assert.equal(await page.getByRole('button', { name: 'Create account' }).count(), 0, 'no admin-only action');
    await go('Devices');
    await page.getByRole('link', { name: 'ROLL-001' }).waitFor();
    await go('Requests');
    await page.getByRole('cell', { name: 'CONSOLE-ONE' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
  });

  it('Should honour a read-only token: lists shown, no button that would change anything', async (t) => {
    if (skipped(t)) return;
    const accountId = (await fixture.api<{ items: { id: string }[] }>('GET', '/accounts')).body.items[0]!.id;
    const token = await fixture.api<{ token: string }>('POST', '/api-tokens', { accountId, scope: 'read' });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    await signIn(token.body.token);
    await page.getByText('Account: acme').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Import CSV' }).count(), 0, 'no import view');
    await go('Requests');
    await page.getByRole('cell', { name: 'CONSOLE-ONE' }).waitFor();
    for (const name of ['Create request', 'Disable', 'Enable', 'Delete']) {
      assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `no ${name} button`);
    }
    await page.getByRole('link', { name: 'Audit trail' }).first().waitFor();
    await go('Certificates');
    assert.equal(await page.getByRole('button', { name: 'Revoke…' }).count(), 0, 'no revoke button');
    await go('Accounts');
    assert.equal(await page.getByRole('button', { name: 'Create account' }).count(), 0, 'no account creation');
    await page.getByRole('button', { name: 'Sign out' }).click();
  });

  it('Should forget the token on sign-out and on reload', async (t) => {
    if (skipped(t)) return;
    await page.reload();
    await page.getByLabel('API token').waitFor();
    await signIn(fixture.adminToken);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    await page.reload();
    await page.getByLabel('API token').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
  });

  it('Should make no request to any other origin', (t) => {
    if (skipped(t)) return;
    assert.ok(requested.length > 10);
    const foreign = requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith(`blob:${origin}/`) && !url.startsWith('data:'));
    assert.deepEqual(foreign, []);
  });
});
