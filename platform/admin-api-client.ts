/** The few admin API calls sim-fleet.ts and the benchmarks make: an account, and provision requests in batches. */
import type { DeviceCredentials } from '../agent-sim/credentials-source.ts';
import { parseCredentialsCsv } from '../agent-sim/credentials-source.ts';

// The API's largest batch, and the batches it runs at once (more are answered 429).
import { maxConcurrentBatches } from '../api/routes/provision-requests.ts';
import { maxBatchSize } from '../api/schemas/provision-requests.ts';

export { maxBatchSize, maxConcurrentBatches };

export class AdminApi {
  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
  ) {}

  private async call(method: string, path: string, body: unknown, accept = 'application/json'): Promise<Response> {
    const response = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', accept },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
    return response;
  }

  async createAccount(name: string): Promise<string> {
    const response = await this.call('POST', '/accounts', { name });
    return ((await response.json()) as { id: string }).id;
  }

  /** One batch (≤ 1,000), answered as the fleet credential CSV. */
  async createBatchCsv(accountId: string, clientIds: readonly string[]): Promise<string> {
    const response = await this.call('POST', '/provision-requests/batch', { requests: clientIds.map((clientId) => ({ accountId, clientId })) }, 'text/csv');
    const failed = Number(response.headers.get('x-failed-count') ?? '0');
    if (failed > 0) throw new Error(`batch: ${failed} of ${clientIds.length} requests not created`);
    return response.text();
  }

  /** Provision requests for `clientIds`, batches of 1,000, two at a time; their credentials in order. */
  async createRequests(accountId: string, clientIds: readonly string[]): Promise<DeviceCredentials[]> {
    const batches: string[][] = [];
    for (let i = 0; i < clientIds.length; i += maxBatchSize) batches.push(clientIds.slice(i, i + maxBatchSize));
    const answers: DeviceCredentials[][] = new Array(batches.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const index = next++;
        answers[index] = parseCredentialsCsv(await this.createBatchCsv(accountId, batches[index]!));
      }
    };
    await Promise.all(Array.from({ length: Math.min(maxConcurrentBatches, batches.length) }, worker));
    return answers.flat();
  }
}
