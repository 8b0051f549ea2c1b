import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { metricsRegistry, startProcessMetrics } from '../metrics/metrics.ts';
import { parseExposition } from './support/prometheus-text.ts';

/**
 * The Grafana dashboard and the Prometheus configuration of ops/ (issue 17 §1) against what the
 * platform exposes: every metric a panel queries is one /metrics serves (the registry's families,
 * with a histogram's _bucket, _sum and _count), every label a panel groups by is one that metric
 * has (or one Prometheus adds), and Prometheus scrapes every provisio process of docker-compose.yml.
 */
interface Panel {
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly uid?: string };
  readonly targets?: readonly { readonly expr: string }[];
}

const dashboard = JSON.parse(readFileSync(new URL('../ops/grafana/provisio-dashboard.json', import.meta.url), 'utf8')) as { panels: Panel[] };
const datasources = readFileSync(new URL('../ops/grafana/provisioning/datasources/prometheus.yml', import.meta.url), 'utf8');
const prometheusConfig = readFileSync(new URL('../ops/prometheus.yml', import.meta.url), 'utf8');
const compose = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');
/** Labels Prometheus adds to every series it scrapes (ops/prometheus.yml), and a histogram's bucket bound. */
const addedLabels = new Set(['instance', 'job', 'service', 'le']);

/** Metric name (a sample name as queried) → the label names its samples carry. */
async function exposedSamples(): Promise<Map<string, Set<string>>> {
  startProcessMetrics();
  const families = parseExposition(await metricsRegistry.metrics());
  const exposed = new Map<string, Set<string>>();
  for (const metric of await metricsRegistry.getMetricsAsJSON()) {
    const labels = new Set(families.get(metric.name)?.samples.flatMap((sample) => Object.keys(sample.labels)) ?? []);
    const declared = (metricsRegistry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? [];
    for (const label of declared) labels.add(label);
    const names = String(metric.type) === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => `${metric.name}${suffix}`) : [metric.name];
    for (const name of names) exposed.set(name, labels);
  }
  return exposed;
}

const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));

describe('ops/: the Grafana dashboard and the Prometheus configuration', () => {
  it('queries only metrics the platform exposes, grouped by labels they have', async () => {
    const exposed = await exposedSamples();
    assert.ok(queries.length >= 15, 'a dashboard with its queries');
    const queried = new Set<string>();
    for (const { panel, expr } of queries) {
      const names = expr.match(/\bprovisio_[a-z0-9_]+/g) ?? [];
      assert.ok(names.length > 0, `${panel}: ${expr} queries no provisio metric`);
      for (const name of names) {
        assert.ok(exposed.has(name), `${panel}: ${name} is not exposed by /metrics`);
        queried.add(name.replace(/_(bucket|sum|count)$/, ''));
        for (const grouping of expr.matchAll(/\bby \(([^)]*)\)/g)) {
          for (const label of grouping[1]!.split(',').map((part) => part.trim())) {
            assert.ok(addedLabels.has(label) || exposed.get(name)!.has(label), `${panel}: ${name} has no label ${label}`);
          }
        }
      }
    }
    // Each metric of the platform's own is on the dashboard (process metrics: a few of them).
    const own = [...exposed.keys()].filter((name) => !/^provisio_(process|nodejs)_/.test(name)).map((name) => name.replace(/_(bucket|sum|count)$/, ''));
    assert.deepEqual(
      [...new Set(own)].filter((name) => !queried.has(name)),
      [],
      'a metric no panel shows',
    );
  });

  it('uses the data source Grafana is provisioned with', () => {
    const uid = /uid: (\S+)/.exec(datasources)?.[1];
    assert.ok(uid);
    for (const panel of dashboard.panels.filter((candidate) => candidate.type !== 'row')) assert.equal(panel.datasource?.uid, uid, panel.title);
  });

  it('scrapes the health port of every provisio process of docker-compose.yml', () => {
    const healthPort = /PROVISIO_HEALTH_PORT: "(\d+)"/.exec(compose)?.[1];
    assert.ok(healthPort);
    const services = [...compose.matchAll(/^ {2}([a-z0-9-]+):\n {4}<<: \*provisio-service/gm)].map((match) => match[1]!);
    assert.deepEqual(services.sort(), ['api', 'broker-1', 'broker-2', 'provisioner-1', 'provisioner-2']);
    for (const service of services) assert.ok(prometheusConfig.includes(`"${service}:${healthPort}"`), `${service} is not scraped`);
  });
});
