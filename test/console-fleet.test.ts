/**
 * The fleet views of the web console (issue 16 §1: configuration push, update jobs, renewal, the
 * CSV batch) in a real headless Chromium (Debian's `chromium` through playwright-core) against a
 * real platform with an agent-sim device online: editing a configuration makes version 2 and lists
 * the versions, bad JSON is named next to its field, an update job is created for a category with
 * a bundle, "renew now" says how many devices were told, and a CSV import is all or nothing (a bad
 * row 3 is named by row and column and creates nothing) and downloads the API's credentials CSV.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runDevice } from '../agent-sim/device-agent.ts';
import { buildConsole } from '../scripts/build-console.ts';
import { missingPrograms, skipUnlessInstalled } from './support/external-tools.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

const chromiumMissing = missingPrograms(['chromium']).length > 0;

function skipped(t: TestContext): boolean {
  return skipUnlessInstalled(t, ['chromium'], 'apt-get install -y chromium', 'PROVISIO_TEST_REQUIRE_CHROMIUM');
}

describe('web console fleet views in headless Chromium', { timeout: 180_000 }, () => {
  let fixture: TestPlatform;
  let browser: Browser;
  let page: Page;
  let origin = '';
  let accountId = '';
  let configurationId = '';
  let device: MqttClient | undefined;

  before(async () => {
    buildConsole();
    fixture = await startTestPlatform();
    origin = new URL(fixture.apiUrl).origin;
    const account = await fixture.api<{ id: string }>('POST', '/accounts', { name: 'fleet' });
    accountId = account.body.id;
    const configuration = await fixture.api<{ id: string }>('POST', '/configurations', { accountId, name: 'base', content: { interval: 60 } });
    configurationId = configuration.body.id;
    const bundle = await fetch(`${fixture.apiUrl}/bundles?accountId=${accountId}&name=telemetry-app&version=1.0.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
      body: 'bundle bytes',
    });
    assert.equal(bundle.status, 201, await bundle.text());
    const category = await fixture.api('POST', '/categories', { accountId, name: 'phones', configurationId, bundleIds: [] });
    assert.equal(category.status, 201, JSON.stringify(category.body));
    const request = await createAccountAndRequest(fixture, 'FLEET-001', { account: 'fleet', extra: { category: 'phones' } });
    const result = await runDevice(await newSimulatedDevice(fixture, request));
    assert.equal(result.status, 'online');
    if (result.status === 'online') device = result.accountClient;
    if (chromiumMissing) return;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })).newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${origin}/`);
    await page.getByLabel('API token').fill(fixture.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('header').getByLabel('Account').selectOption({ label: 'fleet' });
  });
  after(async () => {
    await device?.endAsync();
    await browser?.close();
    await fixture?.close();
  });

  async function go(view: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: view, exact: true }).click();
    await page.locator('main h1, main .problem').first().waitFor();
    const problem = page.locator('main > .problem');
    if ((await problem.count()) > 0) assert.fail(`${view}: ${await problem.innerText()}`);
  }

  it('Should edit a configuration: bad JSON is named next to the field, then version 2 is made and the versions are listed', async (t) => {
    if (skipped(t)) return;
    await go('Configurations & bundles');
    await page.getByRole('link', { name: 'base', exact: true }).click();
    await page.getByRole('heading', { name: 'Configuration base' }).waitFor();
    assert.match(await page.locator('form').innerText(), /sends it at once to the online devices/);
    const content = page.getByLabel('Content (JSON object)');
    await content.fill('{ "interval": ');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    const fieldError = page.locator('textarea[name="content"][aria-invalid="true"] + .field-error');
    await fieldError.waitFor();
    assert.ok((await fieldError.innerText()).length > 0);
    assert.equal((await fixture.api<{ version: number }>('GET', `/configurations/${configurationId}`)).body.version, 1, 'nothing sent');

    await content.fill('{ "interval": 30 }');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.getByText('Version 2, made').waitFor();
    assert.deepEqual(
      await page.locator('ul.versions > li').evaluateAll((items) => items.map((item) => item.getAttribute('data-version'))),
      ['2', '1'],
      'newest first',
    );
    await page.locator('li[data-version="1"] summary').click();
    assert.match(await page.locator('li[data-version="1"] pre').innerText(), /"interval": 60/);
    const stored = await fixture.api<{ version: number; content: unknown }>('GET', `/configurations/${configurationId}`);
    assert.deepEqual([stored.body.version, stored.body.content], [2, { interval: 30 }]);
  });

  it('Should create an update job for a category with a bundle, list it with its counts, and show its devices', async (t) => {
    if (skipped(t)) return;
    await go('Update jobs');
    const jobForm = page.locator('form', { has: page.getByRole('button', { name: 'Create update job' }) });
    await jobForm.getByLabel('Job name').fill('telemetry for phones');
    await jobForm.getByLabel('Category').selectOption('phones');
    await jobForm.getByLabel('telemetry-app 1.0.0').check();
    await jobForm.getByLabel('Failure threshold (optional)').fill('0');
    await page.getByRole('button', { name: 'Create update job' }).click();
    await jobForm.locator('input[name="failureThreshold"][aria-invalid="true"] + .field-error').waitFor();
    await jobForm.getByLabel('Failure threshold (optional)').fill('5');
    await page.getByRole('button', { name: 'Create update job' }).click();
    const listed = page.getByRole('row', { name: /telemetry for phones/ });
    await listed.waitFor();
    assert.match(await listed.innerText(), /RUNNING[\s\S]*phones[\s\S]*\(of 1\)/);
    const jobs = await fixture.api<{ items: { name: string; category: string; bundleIds: string[]; failureThreshold: number }[] }>(
      'GET',
      `/update-jobs?accountId=${accountId}`,
    );
    assert.deepEqual(
      jobs.body.items.map((job) => [job.name, job.category, job.bundleIds.length, job.failureThreshold]),
      [['telemetry for phones', 'phones', 1, 5]],
    );
    await listed.getByRole('link', { name: 'telemetry for phones' }).click();
    await page.getByRole('heading', { name: 'Update job telemetry for phones' }).waitFor();
    await page.locator('tr[data-client-id="FLEET-001"]').waitFor();
  });

  it('Should renew a device certificate now from its page, and a category from the devices view, saying how many devices were told', async (t) => {
    if (skipped(t)) return;
    await go('Devices');
    await page.getByRole('link', { name: 'FLEET-001' }).click();
    await page.getByRole('heading', { name: 'Device FLEET-001' }).waitFor();
    assert.match(await page.locator('.configuration-facts').innerText(), /Expected hash/);
    await page.getByRole('button', { name: 'Renew certificate now' }).click();
    await page.getByText('1 online device was told to renew').waitFor();

    await go('Devices');
    const renewAll = page.locator('form', { has: page.getByRole('button', { name: 'Renew all online devices' }) });
    await renewAll.getByLabel('Category (optional)').fill('phones');
    await renewAll.getByRole('button', { name: 'Renew all online devices' }).click();
    await renewAll.getByText(/^1 online device was told to renew within 300 s/).waitFor();
  });

  it('Should import a CSV all or nothing: a bad row 3 is named next to the text and creates nothing; a good one downloads the credentials', async (t) => {
    if (skipped(t)) return;
    await go('Import CSV');
    const text = page.getByLabel(/Devices \(CSV/);
    await text.fill('clientId,category\nCSV-001,phones\nCSV-002,phones\nbad/id,phones\n');
    await page.getByRole('button', { name: 'Create requests' }).click();
    const fieldError = page.locator('textarea[name="csv"][aria-invalid="true"] + .field-error');
    await fieldError.waitFor();
    assert.match(await fieldError.innerText(), /^Row 3, clientId: /);
    const none = await fixture.api<{ total: number }>('GET', `/provision-requests?accountId=${accountId}&clientId=CSV-001`);
    assert.equal(none.body.total, 0, 'nothing created');

    await text.fill('clientId,category\nCSV-001,phones\nCSV-002,phones\n');
    await page.getByRole('button', { name: 'Create requests' }).click();
    await page.getByRole('heading', { name: '2 created, 0 failed' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Download credentials \(2\)/ }).click()]);
    const lines = (await readFile((await download.path())!, 'utf8')).trim().split(/\r?\n/);
    assert.equal(lines[0], 'clientId,username,password,activationKey');
    assert.deepEqual(
      lines.slice(1).map((line) => line.split(',')[0]),
      ['CSV-001', 'CSV-002'],
    );
  });
});
