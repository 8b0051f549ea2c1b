import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

describe('npm run demo', () => {
  it('shows a device provisioned end to end, each step printed', async () => {
    const output = await new Promise<{ code: number; text: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', new URL('../platform/demo.ts', import.meta.url).pathname]);
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, text }));
    });
    assert.equal(output.code, 0, output.text);
    assert.match(output.text, /reply \(200\)/);
    assert.match(output.text, /is online on its account broker mqtts:\/\/localhost:\d+ as acme\/AABBCCDDEEFF/);
    assert.match(output.text, /jobStatus COMPLETED, status DISABLED/);
  });
});
