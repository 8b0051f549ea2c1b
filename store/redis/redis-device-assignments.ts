import { buildDeviceAssignment } from '../enrollment-records.ts';
import type { DeviceAssignment, DeviceAssignmentInput } from '../enrollment-types.ts';
import { pageWindow } from '../records.ts';
import type { Page, PageOptions } from '../types.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { deleteDeviceAssignmentScript } from './provisioning-code-scripts.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

/** Device assignments: a record by clientId and an index by modifiedOn; a put replaces both at once (MULTI). */
export class RedisDeviceAssignments {
  constructor(private readonly context: RedisContext) {}

  async get(clientId: string): Promise<DeviceAssignment | null> {
    const json = await this.context.redis.get(this.context.keys.deviceAssignment(clientId));
    return json ? parseRecord<DeviceAssignment>(json) : null;
  }

  async put(input: DeviceAssignmentInput): Promise<DeviceAssignment> {
    const { redis, keys } = this.context;
    const assignment = buildDeviceAssignment(input, Date.now());
    await redis
      .multi()
      .set(keys.deviceAssignment(assignment.clientId), JSON.stringify(assignment))
      .zadd(keys.deviceAssignments(), assignment.modifiedOn, assignment.clientId)
      .exec();
    return assignment;
  }

  list(page?: PageOptions): Promise<Page<DeviceAssignment>> {
    const { redis, keys } = this.context;
    return pageFromIndex(
      redis,
      {
        index: keys.deviceAssignments(),
        load: (clientIds) =>
          loadStrings(
            redis,
            clientIds.map((clientId) => keys.deviceAssignment(clientId)),
          ),
        parse: (json) => parseRecord<DeviceAssignment>(json),
      },
      pageWindow(page),
    );
  }

  async delete(clientId: string): Promise<void> {
    const { keys, scripts } = this.context;
    await scripts.run(deleteDeviceAssignmentScript, [keys.deviceAssignment(clientId), keys.deviceAssignments()], [clientId]);
  }
}
