import type { PlatformConfig } from '../config/config.ts';

/**
 * What one device may make the platform do per unit of time (issue 20 §2), each counted per
 * process: provisioning messages (provision-rate-limit.ts), birth messages and configuration
 * pushes (birth-throttle.ts, birth-handler.ts). docs/PROTOCOL.md §2 and §10 say what a device
 * meets beyond them.
 */
export type DeviceRateLimitSettings = Pick<
  PlatformConfig,
  'provisionMessageBurst' | 'provisionMessagesPerMinute' | 'birthIntervalSeconds' | 'configurationResendIntervalSeconds'
>;
