/**
 * One table of clientIds for both sides of the one rule (protocol/topics.ts isAcceptableClientId):
 * each refused case must get CONNACK 2 from the brokers and 400 from the admin API, each accepted
 * one must be accepted by both. test/client-id-rule.test.ts runs it against a whole platform.
 */
export interface ClientIdCase {
  /** What the case is about, for the test name. */
  readonly label: string;
  readonly clientId: string;
  readonly acceptable: boolean;
}

const emoji = '\u{1F600}'; // 4 bytes of UTF-8, 2 UTF-16 code units, 1 code point

export const clientIdCases: readonly ClientIdCase[] = [
  { label: 'a MAC address', clientId: 'AABBCCDDEEFF', acceptable: true },
  { label: '128 ASCII characters (128 bytes)', clientId: 'x'.repeat(128), acceptable: true },
  { label: '32 emoji (128 bytes)', clientId: emoji.repeat(32), acceptable: true },
  { label: 'letters of several scripts, in NFC', clientId: 'gerät-ü-設備-é', acceptable: true },
  { label: "a '$' after the first character", clientId: 'dev$1', acceptable: true },
  { label: 'a plain space inside', clientId: 'dev 1', acceptable: true },

  { label: 'empty', clientId: '', acceptable: false },
  { label: '129 ASCII characters', clientId: 'x'.repeat(129), acceptable: false },
  { label: '33 emoji (132 bytes)', clientId: emoji.repeat(33), acceptable: false },
  { label: '100 emoji (400 bytes, 100 code points)', clientId: emoji.repeat(100), acceptable: false },
  { label: "65 'é' (65 code points, 130 bytes)", clientId: '\u00e9'.repeat(65), acceptable: false },
  { label: "a '/'", clientId: 'a/b', acceptable: false },
  { label: "a '+'", clientId: 'dev+', acceptable: false },
  { label: "a '#'", clientId: 'dev#', acceptable: false },
  { label: "a leading '$'", clientId: '$dev', acceptable: false },
  { label: 'NUL', clientId: 'a\u0000b', acceptable: false },
  { label: 'a tab (C0)', clientId: 'tab\tid', acceptable: false },
  { label: 'DEL', clientId: 'del\u007f', acceptable: false },
  { label: 'NEL (C1)', clientId: 'c1\u0085', acceptable: false },
  { label: 'a right-to-left override (U+202E)', clientId: 'invoice\u202Efdp.exe', acceptable: false },
  { label: 'a left-to-right mark (U+200E)', clientId: '\u200Edev-1', acceptable: false },
  { label: 'a zero-width space (U+200B)', clientId: 'dev\u200B1', acceptable: false },
  { label: 'a zero-width joiner (U+200D)', clientId: 'dev\u200D1', acceptable: false },
  { label: 'a zero-width non-joiner (U+200C)', clientId: 'dev\u200C1', acceptable: false },
  { label: 'a word joiner (U+2060)', clientId: 'dev\u20601', acceptable: false },
  { label: 'a byte order mark (U+FEFF)', clientId: '\uFEFFdev-1', acceptable: false },
  { label: 'a soft hyphen (U+00AD)', clientId: 'de\u00ADv-1', acceptable: false },
  { label: 'a variation selector (U+FE0F)', clientId: 'dev-1\uFE0F', acceptable: false },
  { label: 'a Hangul filler (U+3164, invisible)', clientId: 'dev\u31641', acceptable: false },
  { label: 'a no-break space (U+00A0)', clientId: 'dev\u00A01', acceptable: false },
  { label: 'an ideographic space (U+3000)', clientId: 'dev\u30001', acceptable: false },
  { label: 'a line separator (U+2028)', clientId: 'dev\u20281', acceptable: false },
  { label: 'NFD: e + combining acute (the NFC twin is accepted)', clientId: 'gera\u0308t-ü-設備-e\u0301', acceptable: false },
  { label: 'a noncharacter (U+FFFF)', clientId: 'dev\uFFFF', acceptable: false },
  { label: 'a noncharacter (U+FDD0)', clientId: 'dev\uFDD0', acceptable: false },
  { label: 'a noncharacter (U+1FFFE)', clientId: 'dev\u{1FFFE}', acceptable: false },
  { label: 'the replacement character (U+FFFD)', clientId: 'dev\uFFFD', acceptable: false },
  { label: 'a lone surrogate (U+D800)', clientId: 'dev\uD800', acceptable: false },
];
