import { Api, ApiError, type Page, type Principal } from './api.ts';
import type { Account, AuditEvent, ConsoleContext } from './context.ts';
import { button, field, h, input, replaceChildren, select } from './dom.ts';
import { runForm } from './problems.ts';
import { views, type View } from './views/index.ts';

/**
 * The web console: sign in with an API token, then the views of views/index.ts under a header
 * with the navigation, the account switcher (the admin only) and sign-out. The token is held in
 * this module's memory alone (see api.ts): reload or sign out and it is gone.
 */

interface Session {
  readonly api: Api;
  readonly principal: Principal;
  accounts: Account[];
  accountId: string | null;
  readonly events: AbortController;
  readonly listeners: Set<(event: AuditEvent) => void>;
  live: boolean;
}

const root = document.getElementById('app')!;
let session: Session | null = null;

function signInPage(): void {
  document.title = 'Sign in — provisio console';
  const token = input('token', { type: 'password', required: true, autocomplete: 'off', spellcheck: 'false' });
  const form = h(
    'form',
    { class: 'sign-in card', novalidate: true },
    h('h1', {}, 'provisio console'),
    h('p', {}, 'Sign in with an API token: the admin token (written to data/admin-token at the first start) or an account token.'),
    field('API token', token),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    h('p', { class: 'hint' }, 'The token stays in this tab’s memory only: reloading the page or signing out forgets it.'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void runForm(form, async () => {
      const api = new Api(token.value.trim());
      const principal = await api.get<Principal>('/whoami');
      token.value = '';
      await startSession(api, principal);
    });
  });
  replaceChildren(root, h('main', { class: 'centered' }, form));
  token.focus();
}

async function loadAccounts(api: Api, principal: Principal): Promise<Account[]> {
  if (principal.kind === 'admin') return (await api.get<Page<Account>>('/accounts', { limit: 1000 })).items;
  return principal.accountId ? [await api.get<Account>(`/accounts/${encodeURIComponent(principal.accountId)}`)] : [];
}

async function startSession(api: Api, principal: Principal): Promise<void> {
  const accounts = await loadAccounts(api, principal);
  const current: Session = {
    api,
    principal,
    accounts,
    accountId: principal.kind === 'admin' ? null : principal.accountId,
    events: new AbortController(),
    listeners: new Set(),
    live: false,
  };
  session = current;
  void api
    .follow(
      (data) => {
        for (const listener of current.listeners) listener(data as AuditEvent);
      },
      current.events.signal,
      (connected) => {
        current.live = connected;
        document.getElementById('live-state')?.replaceChildren(connected ? 'live' : 'reconnecting…');
      },
    )
    .catch(() => signOut());
  if (!location.hash || location.hash === '#') location.hash = '#/rollout';
  else void render();
}

function signOut(): void {
  session?.events.abort();
  session = null;
  signInPage();
}

function parseHash(): { view: View; path: string[]; query: URLSearchParams } {
  const [route = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name = '', ...path] = route.split('/').map((part) => decodeURIComponent(part));
  const view = views.find((candidate) => candidate.name === name) ?? views[0]!;
  return { view, path, query: new URLSearchParams(search) };
}

function header(current: Session, active: View): HTMLElement {
  const isAdmin = current.principal.kind === 'admin';
  const switcher = isAdmin
    ? select('account', [['', 'All accounts'], ...current.accounts.map((account) => [account.id, account.name] as const)], current.accountId ?? '')
    : null;
  switcher?.addEventListener('change', () => {
    current.accountId = switcher.value || null;
    void render();
  });
  const own = isAdmin ? null : current.accounts[0];
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/rollout' }, 'provisio'),
    h(
      'nav',
      { 'aria-label': 'Views' },
      h(
        'ul',
        {},
        ...views
          .filter((view) => (isAdmin || !view.adminOnly) && (current.principal.scope !== 'read' || !view.writeOnly))
          .map((view) => h('li', {}, h('a', { href: `#/${view.name}`, 'aria-current': view === active ? 'page' : null }, view.label))),
      ),
    ),
    h(
      'div',
      { class: 'session' },
      switcher ? field('Account', switcher) : h('span', { class: 'account-name' }, `Account: ${own?.name ?? current.principal.accountId ?? ''}`),
      h('span', { id: 'live-state', class: 'live-state', 'aria-live': 'polite' }, current.live ? 'live' : 'connecting…'),
      button('Sign out', () => signOut(), { class: 'sign-out' }),
    ),
  );
}

let renderCount = 0;

async function render(): Promise<void> {
  const current = session;
  if (!current) return;
  const thisRender = ++renderCount;
  current.listeners.clear();
  const { view, path, query } = parseHash();
  document.title = `${view.label} — provisio console`;
  const main = h('main', { id: 'main', tabindex: '-1' }, h('p', { class: 'loading' }, 'Loading…'));
  // A button, not a link to #main: the hash is the view's address.
  const skip = button('Skip to content', () => main.focus(), { class: 'skip' });
  replaceChildren(root, skip, header(current, view), main);
  const context: ConsoleContext = {
    api: current.api,
    principal: current.principal,
    isAdmin: current.principal.kind === 'admin',
    canWrite: current.principal.scope !== 'read',
    canAdminister: current.principal.kind === 'admin' && current.principal.scope === 'admin',
    accounts: current.accounts,
    accountId: current.accountId,
    path,
    query,
    navigate: (hash) => {
      if (location.hash === hash) void render();
      else location.hash = hash;
    },
    refreshAccounts: async () => {
      current.accounts = await loadAccounts(current.api, current.principal);
      await render();
    },
    onAuditEvent: (listener) => {
      if (thisRender === renderCount) current.listeners.add(listener);
    },
  };
  try {
    const content = await view.render(context);
    if (thisRender === renderCount) replaceChildren(main, content);
  } catch (error) {
    if (error instanceof ApiError && error.problem.status === 401) return signOut();
    if (thisRender !== renderCount) return;
    const problem = error instanceof ApiError ? error.problem : { title: 'The view failed', detail: String(error) };
    replaceChildren(main, h('div', { class: 'problem', role: 'alert' }, h('strong', {}, problem.title), problem.detail ? ` — ${problem.detail}` : ''));
  }
}

window.addEventListener('hashchange', () => void render());
signInPage();
