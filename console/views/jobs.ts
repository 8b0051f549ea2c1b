import type { Page } from '../api.ts';
import type { ConsoleContext } from '../context.ts';
import { button, formatTime, h, row, table } from '../dom.ts';
import { showProblem } from '../problems.ts';
import { badge, needsAccount, pager, section, withFilters } from './common.ts';
import { jobDetail } from './job-detail.ts';
import { jobForm } from './job-form.ts';

interface UpdateJob {
  readonly id: string;
  readonly name: string;
  readonly state: 'RUNNING' | 'PAUSED' | 'CANCELLED' | 'STOPPED';
  readonly category: string | null;
  readonly tags: string[];
  readonly clientIds: string[];
  readonly bundleIds: string[];
  readonly configurationId: string | null;
  readonly configurationVersion: number | null;
  readonly failureThreshold: number | null;
  readonly createdOn: string;
  readonly createdBy: string;
}

export interface UpdateJobDetail extends UpdateJob {
  readonly counts: Record<'PENDING' | 'SENT' | 'DOWNLOADING' | 'INSTALLED' | 'FAILED', number>;
  readonly matchingDevices: number;
}

/** Update jobs: create one, their state, how many devices stand where, pause/resume/cancel; a job's page lists its devices. */
export async function jobsView(context: ConsoleContext): Promise<HTMLElement> {
  if (context.path[0]) return jobDetail(context, context.path[0]);
  const choose = needsAccount(context, 'Update jobs');
  if (choose) return choose;
  const accountId = context.accountId ?? context.principal.accountId ?? '';
  const offset = Number(context.query.get('offset') ?? 0);
  const page = await context.api.get<Page<UpdateJob>>('/update-jobs', { accountId: context.accountId, offset, limit: 20 });
  const details = await Promise.all(page.items.map((job) => context.api.get<UpdateJobDetail>(`/update-jobs/${encodeURIComponent(job.id)}`)));
  const newJob = await jobForm(context, accountId, () => context.navigate('#/jobs'));
  const errors = h('div', {});
  const act = (job: UpdateJob, action: 'pause' | 'resume' | 'cancel', label: string) =>
    button(label, () => {
      if (action === 'cancel' && !confirm(`Cancel the job ${job.name}? Devices not yet updated are left as they are.`)) return;
      context.api.call('POST', `/update-jobs/${encodeURIComponent(job.id)}/${action}`).then(
        () => context.navigate(location.hash),
        (error: unknown) => showProblem(errors, error),
      );
    });
  const rows = details.map((job) =>
    row(
      h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name),
      badge(job.state),
      job.category ?? '—',
      `${job.counts.INSTALLED} installed, ${job.counts.FAILED} failed, ${job.counts.PENDING + job.counts.SENT + job.counts.DOWNLOADING} in progress (of ${job.matchingDevices})`,
      formatTime(job.createdOn),
      h(
        'div',
        { class: 'actions' },
        job.state === 'RUNNING' ? act(job, 'pause', 'Pause') : null,
        job.state === 'PAUSED' ? act(job, 'resume', 'Resume') : null,
        job.state === 'RUNNING' || job.state === 'PAUSED' ? act(job, 'cancel', 'Cancel') : null,
      ),
    ),
  );
  return h(
    'div',
    {},
    h('h1', {}, 'Update jobs'),
    section(
      'Jobs',
      errors,
      table(['Name', 'State', 'Category', 'Devices', 'Created', 'Actions'], rows, 'No update job.'),
      pager(page, (to) => context.navigate(withFilters('jobs', { offset: String(to) }))),
    ),
    section('New update job', newJob),
  );
}
