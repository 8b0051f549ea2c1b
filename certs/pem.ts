/** PEM armour (RFC 7468) for DER blobs. */

export function toPem(label: string, der: Buffer): string {
  const base64 = der.toString('base64');
  let body = '';
  for (let i = 0; i < base64.length; i += 64) body += `${base64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*)-----END \1-----/;

/**
 * The DER of the first PEM block in `text` when its label is one of `labels`; undefined when
 * there is no such block or its base64 is malformed. Text around the block is ignored.
 */
export function fromPem(text: string, labels: readonly string[]): Buffer | undefined {
  const match = pemBlock.exec(text);
  if (!match || !labels.includes(match[1] as string)) return undefined;
  const base64 = (match[2] as string).replace(/\s+/g, '');
  if (base64.length === 0 || base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
  return Buffer.from(base64, 'base64');
}
