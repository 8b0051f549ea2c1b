import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

/** The README says "a few seconds"; a demo that hangs is killed and fails here instead of holding the suite up. */
const limitMs = 60_000;

describe('npm run demo', () => {
  it('shows a device provisioned end to end, each step printed', { timeout: limitMs + 10_000 }, async () => {
    const output = await new Promise<{ code: number | null; timedOut: boolean; text: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', new URL('../platform/demo.ts', import.meta.url).pathname]);
      let text = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, limitMs);
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', (error) => (text += `\n${error.message}`));
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, timedOut, text });
      });
    });
    assert.equal(output.timedOut, false, `still running after ${limitMs / 1000} s, killed; its output:\n${output.text}`);
    assert.equal(output.code, 0, output.text);
    assert.match(output.text, /reply \(200\)/);
    assert.match(output.text, /is online on its account broker mqtts:\/\/localhost:\d+ as acme\/AABBCCDDEEFF/);
    assert.match(output.text, /jobStatus COMPLETED, status DISABLED/);
  });
});
