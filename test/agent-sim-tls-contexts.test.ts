import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { trustOnlyTls } from '../agent-sim/tls-contexts.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import { openTestCa, removeTemporaryDirectories, temporaryDirectory } from './support/ca-test-kit.ts';

/** A TLS server with a CA's server certificate; remembers whether each handshake resumed a session. */
async function tlsServer(ca: CertificateAuthority): Promise<{ port: number; resumed: boolean[]; close: () => Promise<void> }> {
  const resumed: boolean[] = [];
  const server = tls.createServer({ key: ca.serverCredentials.keyPem, cert: ca.serverCredentials.certPem }, (socket) => {
    resumed.push(socket.isSessionReused());
    socket.end('ok'); // data after the handshake carries the session tickets a client could resume with
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    resumed,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Connects as agent-sim does to the provision broker: 'authorized' once the server has closed, or the TLS error. */
function connectAs(port: number, trustedRootPem: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: 'localhost', port, ...trustOnlyTls(trustedRootPem) });
    socket.on('secureConnect', () => socket.resume());
    socket.on('close', () => resolve(socket.authorized ? 'authorized' : 'closed'));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('agent-sim TLS to the provision broker with one context per trusted root', () => {
  let platform: CertificateAuthority;
  let stranger: CertificateAuthority;
  before(async () => {
    platform = await openTestCa(await temporaryDirectory());
    stranger = await openTestCa(await temporaryDirectory());
  });
  after(removeTemporaryDirectories);

  it('Should verify the broker every time with a full handshake, never a resumed session', async () => {
    const server = await tlsServer(platform);
    try {
      for (let i = 0; i < 3; i += 1) assert.equal(await connectAs(server.port, platform.rootCertificatePem), 'authorized');
      assert.deepEqual(server.resumed, [false, false, false]);
    } finally {
      await server.close();
    }
  });

  it('Should refuse a broker whose certificate does not chain to the root, after trusting another', async () => {
    const genuine = await tlsServer(platform);
    const impostor = await tlsServer(stranger);
    try {
      assert.equal(await connectAs(genuine.port, platform.rootCertificatePem), 'authorized');
      assert.equal(await connectAs(impostor.port, platform.rootCertificatePem), 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
      assert.equal(await connectAs(impostor.port, stranger.rootCertificatePem), 'authorized');
    } finally {
      await Promise.all([genuine.close(), impostor.close()]);
    }
  });

  it('Should share one context between the devices that trust the same root', () => {
    assert.equal(trustOnlyTls(platform.rootCertificatePem).secureContext, trustOnlyTls(`${platform.rootCertificatePem}`).secureContext);
    assert.notEqual(trustOnlyTls(platform.rootCertificatePem).secureContext, trustOnlyTls(stranger.rootCertificatePem).secureContext);
  });
});
