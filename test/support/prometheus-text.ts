import assert from 'node:assert/strict';

/**
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), written here: prom-client has
 * none, and the npm parser there is (parse-prometheus-text-format 1.1.1, unmaintained since 2018)
 * merges the samples of a labelled histogram into one and drops their labels. Every line must be
 * a HELP, a TYPE, a comment, empty, or a sample of the grammar; a family is declared once, before
 * its samples, which come together; a histogram has only _bucket (with le), _sum and _count.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly samples: Sample[];
}

export type MetricFamilies = ReadonlyMap<string, MetricFamily>;

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?$/;
/** What Prometheus reads a value with (Go's strconv.ParseFloat): Inf and NaN in any case (prom-client writes `Nan`). */
const floatText = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;
const types = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** `{a="x",b="y\"z"}` → labels; throws on anything else (unknown escapes, missing quotes, repeated names). */
function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text.slice(1, -1);
  while (rest.length > 0) {
    const match = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(rest);
    assert.ok(match, `bad labels in: ${line}`);
    const [whole, name, raw, comma] = match;
    assert.ok(labelName.test(name!) && !(name! in labels), `bad or repeated label ${name} in: ${line}`);
    labels[name!] = raw!.replace(/\\(.)/g, (_escape, character: string) => (character === 'n' ? '\n' : character));
    rest = rest.slice(whole.length);
    assert.ok(comma === ',' || rest.length === 0, `labels not separated by commas in: ${line}`);
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  assert.match(text, floatText, `bad value in: ${line}`);
  if (/^nan$/i.test(text)) return NaN;
  if (/inf/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** The family a sample name belongs to: itself, or for a histogram or summary its name without the suffix. */
function familyOf(families: Map<string, MetricFamily>, name: string): MetricFamily | undefined {
  for (const suffix of ['', '_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const family = families.get(name.slice(0, name.length - suffix.length));
    if (family && (suffix === '' || family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return family;
  }
  return undefined;
}

export function parseExposition(text: string): MetricFamilies {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  const families = new Map<string, MetricFamily>();
  const finished = new Set<string>();
  let current = null as MetricFamily | null; // set inside declare(): not narrowed to null here
  const declare = (name: string): MetricFamily => {
    assert.match(name, metricName, `bad metric name ${name}`);
    let family = families.get(name);
    if (!family) {
      assert.ok(!finished.has(name), `${name} declared again after other families`);
      family = { name, help: '', type: 'untyped', samples: [] };
      families.set(name, family);
    }
    assert.equal(family.samples.length, 0, `${name}: HELP or TYPE after its samples`);
    if (current && current !== family) finished.add(current.name);
    current = family;
    return family;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.trim() === '') continue;
    const comment = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
    if (comment) {
      const family = declare(comment[2]!);
      if (comment[1] === 'TYPE') {
        assert.ok(types.has(comment[3] ?? ''), `bad type in: ${line}`);
        family.type = comment[3] as MetricFamily['type'];
      } else {
        family.help = comment[3] ?? '';
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const [, name, labelText, valueText] = match;
    const family = familyOf(families, name!);
    assert.ok(family, `${name} has no HELP or TYPE before it`);
    assert.ok(family === current, `the samples of ${family.name} are not together`);
    const labels = labelText ? parseLabels(labelText, line) : {};
    if (family.type === 'histogram') assert.ok(name!.endsWith('_bucket') === 'le' in labels, `le only on _bucket in: ${line}`);
    family.samples.push({ name: name!, labels, value: parseValue(valueText!, line) });
  }
  return families;
}

/** Whether every label of `wanted` has that value in `labels`. */
function matches(labels: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).every(([name, value]) => labels[name] === value);
}

/**
 * The sum of the samples named `sample` (a counter, a gauge, or a histogram's `…_count`) whose
 * labels include `wanted`; 0 when there is none.
 */
export function valueOf(families: MetricFamilies, sample: string, wanted: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const family of families.values()) {
    for (const candidate of family.samples) if (candidate.name === sample && matches(candidate.labels, wanted)) total += candidate.value;
  }
  return total;
}

/** Every label value of every sample: for the check that no device's clientId is one. */
export function labelValuesOf(families: MetricFamilies): Set<string> {
  return new Set([...families.values()].flatMap((family) => family.samples.flatMap((sample) => Object.values(sample.labels))));
}
