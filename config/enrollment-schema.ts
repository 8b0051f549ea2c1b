/** Settings of zero-touch onboarding (issue 18; docs/PROTOCOL.md §17–§19, docs/SECURITY.md "Provisioning codes"). */
import { Type } from '@sinclair/typebox';

export const enrollmentSettings = {
  provisioningCodeValidityDays: Type.Integer({
    minimum: 1,
    maximum: 31,
    default: 7,
    description: 'How long a provisioning code is valid when its request names no validity; a code not used by then is deleted.',
  }),
  provisioningCodeFailuresPerMinute: Type.Integer({
    minimum: 1,
    maximum: 100000,
    default: 30,
    description:
      'Wrong provisioning codes a provision broker process takes per minute, from all addresses together; while the budget is spent every code CONNECT is refused with CONNACK 5 (docs/SECURITY.md).',
  }),
  discoveryPort: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 8444,
    description:
      'HTTPS port of the discovery service (mutual TLS: a factory or operational certificate asks where it belongs; docs/PROTOCOL.md §19), in the all-in-one process and each API process of a cluster.',
  }),
  provisionBrokerUrl: Type.Optional(
    Type.String({
      pattern: '^mqtts://',
      description:
        'Provision broker URL discovery hands to factory devices that no assignment or enrollment group sends elsewhere. Unset: mqtts://{first public host name}:{PROVISIO_PROVISION_MQTTS_PORT}; set it when a load balancer or DNS name fronts several brokers.',
    }),
  ),
};
