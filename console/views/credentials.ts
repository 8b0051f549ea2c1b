import { button, h } from '../dom.ts';

export interface Credentials {
  readonly username: string;
  readonly password: string;
  readonly activationKey?: string;
}

/** Copies `text` to the clipboard and says so in `status` (or why not: the page may not be allowed to). */
export async function copyText(text: string, status: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied.';
  } catch {
    status.textContent = 'Copying is not allowed here: select the value and copy it.';
  }
}

/**
 * A new request's credentials, shown this once: the platform keeps only their hashes, so the
 * panel says so, offers a copy button per value, and is gone once dismissed or left.
 */
export function credentialsPanel(clientId: string, credentials: Credentials, onDone: () => void): HTMLElement {
  const status = h('span', { class: 'copy-status', 'aria-live': 'polite' });
  const item = (label: string, value: string) =>
    h(
      'div',
      { class: 'credential' },
      h('dt', {}, label),
      h(
        'dd',
        {},
        h('code', { 'data-credential': label.toLowerCase().replace(/\s+/g, '-') }, value),
        button(`Copy ${label.toLowerCase()}`, () => void copyText(value, status)),
      ),
    );
  const panel = h(
    'section',
    { class: 'card credentials', role: 'region', 'aria-label': `Credentials of ${clientId}` },
    h('h2', {}, `Credentials of ${clientId}`),
    h('p', { class: 'warning', role: 'alert' }, 'Shown once: copy them now. The platform keeps only their hashes and cannot show them again.'),
    h(
      'dl',
      {},
      item('Username', credentials.username),
      item('Password', credentials.password),
      credentials.activationKey ? item('Activation key', credentials.activationKey) : null,
    ),
    status,
    button('I have copied them', () => {
      panel.remove();
      onDone();
    }),
  );
  return panel;
}
