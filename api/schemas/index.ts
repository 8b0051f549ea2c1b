import type { Static, TSchema } from '@sinclair/typebox';
import { accountListQuerySchema, accountPageSchema, accountPatchSchema, accountSchema, newAccountSchema } from './accounts.ts';
import { apiTokenListSchema, apiTokenSchema, createdApiTokenSchema, newApiTokenSchema } from './api-tokens.ts';
import { auditEventListQuerySchema, auditEventPageSchema, auditEventSchema, eventStreamQuerySchema } from './audit-events.ts';
import { bundleDownloadQuerySchema, bundleListQuerySchema, bundlePageSchema, bundleSchema, bundleUploadQuerySchema } from './bundles.ts';
import { categoryListQuerySchema, categoryPageSchema, categoryPatchSchema, categorySchema, newCategorySchema } from './categories.ts';
import { certificateRenewalSchema, newCertificateRenewalSchema } from './certificate-renewals.ts';
import { certificateListQuerySchema, certificatePageSchema, certificateSchema, revocationSchema } from './certificates.ts';
import { problemSchema } from './common.ts';
import {
  configurationEditSchema,
  configurationListQuerySchema,
  configurationPageSchema,
  configurationSchema,
  configurationVersionListQuerySchema,
  configurationVersionPageSchema,
  configurationVersionSchema,
  newConfigurationSchema,
} from './configurations.ts';
import { deviceAssignmentInputSchema, deviceAssignmentListQuerySchema, deviceAssignmentPageSchema, deviceAssignmentSchema } from './device-assignments.ts';
import { deviceDetailSchema, deviceListQuerySchema, devicePageSchema, devicePatchSchema, deviceSchema } from './devices.ts';
import {
  enrollmentGroupListQuerySchema,
  enrollmentGroupPageSchema,
  enrollmentGroupPatchSchema,
  enrollmentGroupSchema,
  newEnrollmentGroupSchema,
} from './enrollment-groups.ts';
import {
  factoryCertificateBlockListQuerySchema,
  factoryCertificateBlockPageSchema,
  factoryCertificateBlockSchema,
  manufacturerCaListSchema,
  manufacturerCaPatchSchema,
  manufacturerCaSchema,
  newFactoryCertificateBlockSchema,
  newManufacturerCaSchema,
} from './manufacturer-cas.ts';
import {
  createdProvisionRequestSchema,
  newProvisionRequestSchema,
  provisionRequestBatchResultSchema,
  provisionRequestBatchQuerySchema,
  provisionRequestBatchSchema,
  provisionRequestListQuerySchema,
  provisionRequestPageSchema,
  provisionRequestPatchSchema,
  provisionRequestSchema,
} from './provision-requests.ts';
import {
  createdProvisioningCodesSchema,
  newProvisioningCodesSchema,
  provisioningCodeListQuerySchema,
  provisioningCodePageSchema,
  provisioningCodeSchema,
} from './provisioning-codes.ts';
import {
  jobDeviceListQuerySchema,
  jobDevicePageSchema,
  newUpdateJobSchema,
  updateJobDetailSchema,
  updateJobListQuerySchema,
  updateJobPageSchema,
  updateJobSchema,
} from './update-jobs.ts';
import {
  newWebhookSchema,
  webhookAttemptListQuerySchema,
  webhookAttemptListSchema,
  webhookListSchema,
  webhookPatchSchema,
  webhookRedeliverySchema,
  webhookSchema,
} from './webhooks.ts';

/**
 * Every named schema of the API. The validators compile these objects and the OpenAPI
 * document publishes them as components.schemas under the same names: one source of truth.
 */
export const componentSchemas = {
  Problem: problemSchema,
  Account: accountSchema,
  AccountPage: accountPageSchema,
  AccountListQuery: accountListQuerySchema,
  NewAccount: newAccountSchema,
  AccountPatch: accountPatchSchema,
  NewApiToken: newApiTokenSchema,
  CreatedApiToken: createdApiTokenSchema,
  ApiToken: apiTokenSchema,
  ApiTokenList: apiTokenListSchema,
  ProvisionRequest: provisionRequestSchema,
  ProvisionRequestPage: provisionRequestPageSchema,
  ProvisionRequestListQuery: provisionRequestListQuerySchema,
  NewProvisionRequest: newProvisionRequestSchema,
  CreatedProvisionRequest: createdProvisionRequestSchema,
  ProvisionRequestBatch: provisionRequestBatchSchema,
  ProvisionRequestBatchQuery: provisionRequestBatchQuerySchema,
  ProvisionRequestBatchResult: provisionRequestBatchResultSchema,
  ProvisionRequestPatch: provisionRequestPatchSchema,
  Configuration: configurationSchema,
  ConfigurationPage: configurationPageSchema,
  ConfigurationListQuery: configurationListQuerySchema,
  NewConfiguration: newConfigurationSchema,
  ConfigurationEdit: configurationEditSchema,
  ConfigurationVersion: configurationVersionSchema,
  ConfigurationVersionPage: configurationVersionPageSchema,
  ConfigurationVersionListQuery: configurationVersionListQuerySchema,
  Category: categorySchema,
  CategoryPage: categoryPageSchema,
  CategoryListQuery: categoryListQuerySchema,
  NewCategory: newCategorySchema,
  CategoryPatch: categoryPatchSchema,
  Bundle: bundleSchema,
  BundlePage: bundlePageSchema,
  BundleListQuery: bundleListQuerySchema,
  BundleUploadQuery: bundleUploadQuerySchema,
  BundleDownloadQuery: bundleDownloadQuerySchema,
  Certificate: certificateSchema,
  CertificatePage: certificatePageSchema,
  CertificateListQuery: certificateListQuerySchema,
  Revocation: revocationSchema,
  NewCertificateRenewal: newCertificateRenewalSchema,
  CertificateRenewal: certificateRenewalSchema,
  AuditEvent: auditEventSchema,
  AuditEventPage: auditEventPageSchema,
  AuditEventListQuery: auditEventListQuerySchema,
  EventStreamQuery: eventStreamQuerySchema,
  Device: deviceSchema,
  DeviceDetail: deviceDetailSchema,
  DevicePage: devicePageSchema,
  DeviceListQuery: deviceListQuerySchema,
  DevicePatch: devicePatchSchema,
  NewUpdateJob: newUpdateJobSchema,
  UpdateJob: updateJobSchema,
  UpdateJobDetail: updateJobDetailSchema,
  UpdateJobPage: updateJobPageSchema,
  UpdateJobListQuery: updateJobListQuerySchema,
  JobDevicePage: jobDevicePageSchema,
  JobDeviceListQuery: jobDeviceListQuerySchema,
  Webhook: webhookSchema,
  WebhookList: webhookListSchema,
  NewWebhook: newWebhookSchema,
  WebhookPatch: webhookPatchSchema,
  WebhookAttemptList: webhookAttemptListSchema,
  WebhookAttemptListQuery: webhookAttemptListQuerySchema,
  WebhookRedelivery: webhookRedeliverySchema,
  ManufacturerCa: manufacturerCaSchema,
  ManufacturerCaList: manufacturerCaListSchema,
  NewManufacturerCa: newManufacturerCaSchema,
  ManufacturerCaPatch: manufacturerCaPatchSchema,
  FactoryCertificateBlock: factoryCertificateBlockSchema,
  FactoryCertificateBlockPage: factoryCertificateBlockPageSchema,
  FactoryCertificateBlockListQuery: factoryCertificateBlockListQuerySchema,
  NewFactoryCertificateBlock: newFactoryCertificateBlockSchema,
  EnrollmentGroup: enrollmentGroupSchema,
  EnrollmentGroupPage: enrollmentGroupPageSchema,
  EnrollmentGroupListQuery: enrollmentGroupListQuerySchema,
  NewEnrollmentGroup: newEnrollmentGroupSchema,
  EnrollmentGroupPatch: enrollmentGroupPatchSchema,
  ProvisioningCode: provisioningCodeSchema,
  ProvisioningCodePage: provisioningCodePageSchema,
  ProvisioningCodeListQuery: provisioningCodeListQuerySchema,
  NewProvisioningCodes: newProvisioningCodesSchema,
  CreatedProvisioningCodes: createdProvisioningCodesSchema,
  DeviceAssignment: deviceAssignmentSchema,
  DeviceAssignmentPage: deviceAssignmentPageSchema,
  DeviceAssignmentListQuery: deviceAssignmentListQuerySchema,
  DeviceAssignmentInput: deviceAssignmentInputSchema,
} as const satisfies Record<string, TSchema>;

export type SchemaName = keyof typeof componentSchemas;

/** A request part as a handler gets it: checked against the schema named N, defaults filled in; no schema, undefined. */
export type Validated<N extends SchemaName | undefined> = N extends SchemaName ? Readonly<Static<(typeof componentSchemas)[N]>> : undefined;
