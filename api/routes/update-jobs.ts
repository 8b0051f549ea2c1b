import { PlatformError } from '../../errors/platform-error.ts';
import type { UpdateJob, UpdateJobState } from '../../store/types.ts';
import { listScope, requireWriteAccess, visibleOrNotFound } from '../access.ts';
import type { Principal } from '../auth.ts';
import { viewCsvLayout } from '../csv-cells.ts';
import { invalid } from '../problem.ts';
import { ReferenceChecker } from '../reference-checker.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import { countMatchingDevices, tellOnlineTargets } from '../update-job-targets.ts';
import { jobDeviceView, updateJobDetailView, updateJobView } from '../update-job-view.ts';
import { pageView } from '../views.ts';
import { sendCsv, wantsCsv, withCsvAnswer } from './csv-export.ts';

const tag = 'update-jobs';
const base = `${apiPrefix}/update-jobs`;
const idParam = { id: idSchema };

/** Compare-and-set attempts of a state change before it gives up with VERSION_CONFLICT (the failure threshold may stop a job meanwhile). */
const stateChangeAttempts = 5;

/** What each operator action does to a job's state: from which states, to which, and its audit event. */
const actions = {
  pause: { from: ['RUNNING'], to: 'PAUSED', audit: 'job.paused', summary: 'Pause an update job: no device is sent it until it is resumed' },
  resume: { from: ['PAUSED'], to: 'RUNNING', audit: 'job.resumed', summary: 'Resume a paused update job: its online devices are sent it at once' },
  cancel: { from: ['RUNNING', 'PAUSED'], to: 'CANCELLED', audit: 'job.cancelled', summary: 'Cancel an update job for good: no device is sent it any more' },
} as const satisfies Record<string, { from: readonly UpdateJobState[]; to: UpdateJobState; audit: string; summary: string }>;

type Action = keyof typeof actions;

/** update-jobs.csv: every field of the JSON view (tags, clientIds and bundleIds joined by ';'). */
const jobsCsv = viewCsvLayout('UpdateJob', updateJobView);

/**
 * The admin API of update jobs (issue 15 §4, docs/PROTOCOL.md "Update jobs (JOB-V1)"). A job is
 * created RUNNING; its online matching devices are told at once (through the broker side, which
 * sends each its latest matching job), the others get it when they next connect. A device's status
 * in a job appears when the job is sent to it; the job's detail also counts the devices that match
 * it now.
 */
export function updateJobRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;

  async function detail(job: UpdateJob) {
    const [counts, matching] = await Promise.all([store.countJobDevices(job.id), countMatchingDevices(store, job)]);
    return updateJobDetailView(job, counts, matching);
  }

  /** Tells the job's online devices (created or resumed); a failure to tell is logged: those devices get it at their next birth. */
  async function tellOnline(job: UpdateJob): Promise<number> {
    const account = await store.getAccount(job.accountId);
    if (!account) return 0;
    try {
      return await tellOnlineTargets(store, deps.fleetUpdates, account, job);
    } catch (error) {
      deps.log.warn({ err: error, jobId: job.id }, 'update job: online devices not told; they get it at their next birth');
      return 0;
    }
  }

  /** The action's compare-and-set, read again on a conflict. A job already in the target state is answered as it is (a repeated call). */
  async function changeState(principal: Principal, id: string, action: Action): Promise<{ job: UpdateJob; changed: boolean }> {
    const { from, to } = actions[action];
    for (let attempt = 0; attempt < stateChangeAttempts; attempt += 1) {
      const job = visibleOrNotFound(principal, await store.getUpdateJob(id), 'update job');
      requireWriteAccess(principal, job.accountId);
      if (job.state === to) return { job, changed: false };
      if (!(from as readonly UpdateJobState[]).includes(job.state)) {
        throw new PlatformError('JOB_WRONG_STATE', { detail: `the job is ${job.state}: only a job that is ${from.join(' or ')} can be made ${to}` });
      }
      try {
        return { job: await store.updateUpdateJobState(job.id, job.version, to), changed: true };
      } catch (error) {
        if (error instanceof PlatformError && error.code === 'VERSION_CONFLICT') continue;
        throw error;
      }
    }
    throw new PlatformError('VERSION_CONFLICT', { detail: 'the job kept changing; read it again and retry' });
  }

  function stateRoute(action: Action): ApiRoute {
    return defineRoute({
      method: 'post',
      path: `${base}/{id}/${action}`,
      operationId: `${action}UpdateJob`,
      summary: actions[action].summary,
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 200: { description: 'The job in its new state (or unchanged, when it was in that state already).', schema: 'UpdateJob' } },
      problems: [409],
      handler: async ({ principal, params }) => {
        const { job, changed } = await changeState(principal, params['id']!, action);
        if (changed) {
          const devicesTold = action === 'resume' ? await tellOnline(job) : 0;
          await deps.audit({
            type: actions[action].audit,
            actor: principal.actor,
            accountId: job.accountId,
            clientId: null,
            provisionRequestId: null,
            detail: { jobId: job.id, name: job.name, ...(action === 'resume' ? { devicesTold } : {}) },
          });
        }
        return { status: 200, body: updateJobView(job) };
      },
    });
  }

  return [
    defineRoute({
      method: 'post',
      path: base,
      operationId: 'createUpdateJob',
      summary: 'Create an update job: bundles and/or a configuration version for the devices of an account that match a target',
      description:
        'The job starts RUNNING: the matching devices online now are sent it at once, the others when they next connect (each device gets the ' +
        'latest RUNNING job that matches it). A configurationId fixes its current version into the job.',
      tag,
      auth: 'bearer',
      body: { kind: 'json', schema: 'NewUpdateJob' },
      responses: { 201: { description: 'Created.', schema: 'UpdateJobDetail' } },
      handler: async ({ principal, body: input }) => {
        requireWriteAccess(principal, input.accountId);
        if (input.bundleIds.length === 0 && input.configurationId === undefined) {
          throw invalid('body/bundleIds', 'must name at least one bundle when there is no configurationId');
        }
        await new ReferenceChecker(store).check('body', {
          accountId: input.accountId,
          configurationId: input.configurationId ?? null,
          bundleIds: input.bundleIds,
          category: input.category ?? null,
        });
        const configuration = input.configurationId === undefined ? null : await store.getConfiguration(input.configurationId);
        if (input.configurationId !== undefined && !configuration) throw invalid('body/configurationId', 'names no configuration of this account');
        const job = await store.createUpdateJob({
          accountId: input.accountId,
          name: input.name,
          category: input.category ?? null,
          tags: [...new Set(input.tags)].sort(),
          clientIds: [...input.clientIds],
          bundleIds: [...input.bundleIds],
          configurationId: configuration?.id ?? null,
          configurationVersion: configuration?.version ?? null,
          failureThreshold: input.failureThreshold ?? null,
          createdBy: principal.actor,
        });
        const devicesTold = await tellOnline(job);
        await deps.audit({
          type: 'job.created',
          actor: principal.actor,
          accountId: job.accountId,
          clientId: null,
          provisionRequestId: null,
          detail: {
            jobId: job.id,
            name: job.name,
            bundleIds: job.bundleIds,
            configurationId: job.configurationId,
            configurationVersion: job.configurationVersion,
            devicesTold,
          },
        });
        return { status: 201, body: await detail(job) };
      },
    }),
    defineRoute({
      method: 'get',
      path: base,
      operationId: 'listUpdateJobs',
      summary: 'List update jobs, the newest first; a page as JSON, or every match as CSV',
      tag,
      auth: 'bearer',
      query: 'UpdateJobListQuery',
      responses: { 200: withCsvAnswer({ description: 'A page of update jobs.', schema: 'UpdateJobPage' }, 'update-jobs.csv', jobsCsv.columns) },
      handler: async ({ principal, query, req, res }) => {
        const accountId = listScope(principal, query.accountId);
        const selection = {
          ...(accountId !== undefined ? { accountId } : {}),
          ...(query.state !== undefined ? { states: [query.state] } : {}),
        };
        const page = (offset: number, limit: number) => store.listUpdateJobs({ ...selection, offset, limit });
        if (wantsCsv(req)) return sendCsv({ filename: 'update-jobs.csv', noun: 'update jobs', ...jobsCsv, page }, res);
        return { status: 200, body: pageView(await page(query.offset, query.limit), updateJobView) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{id}`,
      operationId: 'getUpdateJob',
      summary: 'Get an update job with how many of its devices are in each state',
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 200: { description: 'The job.', schema: 'UpdateJobDetail' } },
      handler: async ({ principal, params }) => ({
        status: 200,
        body: await detail(visibleOrNotFound(principal, await store.getUpdateJob(params['id']!), 'update job')),
      }),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{id}/devices`,
      operationId: 'listUpdateJobDevices',
      summary: 'List the devices of an update job with where each stands (a device appears once the job is sent to it)',
      tag,
      auth: 'bearer',
      params: idParam,
      query: 'JobDeviceListQuery',
      responses: { 200: { description: 'A page of the devices of the job.', schema: 'JobDevicePage' } },
      handler: async ({ principal, params, query }) => {
        const job = visibleOrNotFound(principal, await store.getUpdateJob(params['id']!), 'update job');
        const page = await store.listJobDevices(job.id, {
          ...(query.state !== undefined ? { state: query.state } : {}),
          offset: query.offset,
          limit: query.limit,
        });
        return { status: 200, body: pageView(page, jobDeviceView) };
      },
    }),
    stateRoute('pause'),
    stateRoute('resume'),
    stateRoute('cancel'),
  ];
}
