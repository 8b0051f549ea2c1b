import type { ConsoleContext } from '../context.ts';
import { accountsView } from './accounts.ts';
import { auditView } from './audit.ts';
import { batchView } from './batch.ts';
import { catalogView } from './catalog.ts';
import { certificatesView } from './certificates.ts';
import { codesView } from './codes.ts';
import { devicesView } from './devices.ts';
import { enrollmentView } from './enrollment.ts';
import { jobsView } from './jobs.ts';
import { requestsView } from './requests.ts';
import { rolloutView } from './rollout.ts';

/** One page of the console: its address (#/name), its name in the navigation, and how it is drawn. */
export interface View {
  readonly name: string;
  readonly label: string;
  /** Shown to the admin token only (an account token would get 403). */
  readonly adminOnly?: boolean;
  /** Only changes things: not shown to a read-only token. */
  readonly writeOnly?: boolean;
  render(context: ConsoleContext): Promise<HTMLElement>;
}

/** The navigation, in order; the first is the default. */
export const views: readonly View[] = [
  { name: 'rollout', label: 'Rollout', render: rolloutView },
  { name: 'requests', label: 'Requests', render: requestsView },
  { name: 'import', label: 'Import CSV', render: batchView, writeOnly: true },
  { name: 'codes', label: 'Codes', render: codesView },
  { name: 'enrollment', label: 'Enrollment', render: enrollmentView },
  { name: 'devices', label: 'Devices', render: devicesView },
  { name: 'certificates', label: 'Certificates', render: certificatesView },
  { name: 'catalog', label: 'Configurations & bundles', render: catalogView },
  { name: 'jobs', label: 'Update jobs', render: jobsView },
  { name: 'audit', label: 'Audit log', render: auditView },
  { name: 'accounts', label: 'Accounts', render: accountsView },
];
