import { useMemo, useState } from 'react';
import { logDomain } from '../../charts/domains';
import { createHeatmap, type HeatmapData, type HeatmapOptions } from '../../charts/heatmap';
import type { SeriesStyle } from '../../charts/seriesStyles';
import type { StudioRun } from '../../studio/types';
import { attentionColumns, attentionDomain } from '../attentionData';
import { tokenLabels } from '../probeData';
import { ROLE_STYLES } from '../roles';
import { useChart } from '../useChart';
import { ChartExportButtons } from './ChartExportButtons';
import { RunSwatch } from './ResultsTable';

export interface ProbeRun {
  run: StudioRun;
  label: string;
  style: SeriesStyle;
}

/** Content of one side: Δ per layer for Mamba, attention weights per layer for a Transformer. */
type SideKind = 'delta' | 'attention';

function ProbeHeatmap({ kind, label, layer, data }: { kind: SideKind; label: string; layer: number; data: HeatmapData }) {
  const options = useMemo<HeatmapOptions>(
    () =>
      kind === 'delta'
        ? {
            label: `Δ heatmap of ${label}, layer ${layer + 1}`,
            xLabel: 'position in the probe sequence',
            rowName: 'channel',
            valueName: 'Δ',
            color: 'log-sequential',
            roles: ROLE_STYLES,
          }
        : {
            label: `Attention weights of ${label}, layer ${layer + 1}`,
            xLabel: 'key position (the token attended to)',
            rowName: 'query position',
            rowBase: 0,
            valueName: 'weight',
            color: 'log-sequential',
            roles: ROLE_STYLES,
          },
    [kind, label, layer],
  );
  const ref = useChart(createHeatmap, options, data);
  const title = `${kind === 'delta' ? 'Δ' : 'attention'} of ${label}, layer ${layer + 1}`;
  return (
    <figure className="heatmap-figure">
      <figcaption>
        <span>Layer {layer + 1}</span>
        <ChartExportButtons host={ref} title={title} />
      </figcaption>
      <div ref={ref} className="chart-host" />
    </figure>
  );
}

/** Heatmap data of one run's probe, before the shared colour domain is set. */
function sideLayers(run: StudioRun): { kind: SideKind; layers: Float32Array[] } | null {
  const probe = run.probe;
  if (!probe) return null;
  if (probe.architecture === 'transformer') {
    const l = probe.tokens.length;
    return { kind: 'attention', layers: probe.attention.map((weights) => attentionColumns(weights, l, probe.n_head, 'mean')) };
  }
  return { kind: 'delta', layers: probe.delta };
}

function ProbeSide({ side, layers, domain }: { side: ProbeRun; layers: ReturnType<typeof sideLayers>; domain: [number, number] | null }) {
  const { run, label, style } = side;
  const probe = run.probe;
  const labels = useMemo(() => (probe ? tokenLabels(run.config.task, probe) : []), [run.config.task, probe]);
  const data = useMemo<HeatmapData[]>(() => {
    if (!probe || !layers || !domain) return [];
    const rows = layers.kind === 'delta' ? probe.d_inner : probe.tokens.length;
    return layers.layers.map((values) => ({ columns: probe.tokens.length, rows, values, domain, columnLabels: labels }));
  }, [probe, layers, domain, labels]);

  return (
    <div className="probe-side" data-run-id={run.id}>
      <h3>
        <RunSwatch style={style} /> {label}
        {probe && <span className="run-meta"> at step {probe.step}</span>}
      </h3>
      {!probe || !layers ? (
        <p className="empty-note">No probe yet: train this run, and its Δ on the probe sequence appears here.</p>
      ) : (
        <>
          {layers.kind === 'attention' && (
            <p className="panel-help">
              Δ does not exist for a Transformer, which has no state space model. Its attention weights on its probe
              sequence, averaged over the {probe.n_head} heads, show where each position looks instead.
            </p>
          )}
          {data.map((layerData, layer) => (
            <ProbeHeatmap key={layer} kind={layers.kind} label={label} layer={layer} data={layerData} />
          ))}
        </>
      )}
    </div>
  );
}

function RunSelect({ label, runs, value, onChange }: { label: string; runs: ProbeRun[]; value: string; onChange(id: string): void }) {
  return (
    <label className="inline-select">
      {label}{' '}
      <select aria-label={label} value={value} onChange={(event) => onChange(event.target.value)}>
        {runs.map(({ run, label: runLabel }) => (
          <option key={run.id} value={run.id}>
            {runLabel}
          </option>
        ))}
      </select>
    </label>
  );
}

function sameSequence(a: StudioRun, b: StudioRun): boolean {
  if (!a.probe || !b.probe) return true;
  const x = a.probe.tokens;
  const y = b.probe.tokens;
  return x.length === y.length && x.every((token, i) => token === y[i]);
}

/**
 * Δ of two chosen runs side by side on their probe sequences, on one colour scale, so
 * that S6 against S4 or d_state 1 against 16 reads at a glance. A Transformer side
 * shows its attention weights instead, on a scale shared only with another Transformer.
 */
export function ProbeComparison({ runs }: { runs: ProbeRun[] }) {
  const [leftId, setLeftId] = useState<string | null>(null);
  const [rightId, setRightId] = useState<string | null>(null);
  const find = (id: string | null, fallback: number) => runs.find((r) => r.run.id === id) ?? runs[Math.min(fallback, runs.length - 1)];
  const left = find(leftId, 0);
  const right = find(rightId, 1);

  const leftLayers = useMemo(() => (left ? sideLayers(left.run) : null), [left]);
  const rightLayers = useMemo(() => (right ? sideLayers(right.run) : null), [right]);
  const domains = useMemo(() => {
    const domainOf = (kind: SideKind, arrays: Float32Array[]) => (kind === 'delta' ? logDomain(arrays) : attentionDomain(arrays));
    if (leftLayers && rightLayers && leftLayers.kind === rightLayers.kind) {
      const shared = domainOf(leftLayers.kind, [...leftLayers.layers, ...rightLayers.layers]);
      return { left: shared, right: shared };
    }
    return {
      left: leftLayers ? domainOf(leftLayers.kind, leftLayers.layers) : null,
      right: rightLayers ? domainOf(rightLayers.kind, rightLayers.layers) : null,
    };
  }, [leftLayers, rightLayers]);

  return (
    <section className="panel compare-probes" aria-labelledby="compare-probes-title">
      <div className="panel-header">
        <h2 id="compare-probes-title">Δ side by side</h2>
        {runs.length > 0 && (
          <span className="run-selects">
            <RunSelect label="left run" runs={runs} value={left.run.id} onChange={setLeftId} />
            <RunSelect label="right run" runs={runs} value={right.run.id} onChange={setRightId} />
          </span>
        )}
      </div>
      <p className="panel-help">
        Δ is each channel&apos;s step size at each token of the probe sequence: large Δ (yellow) writes the token into the
        state, small Δ (purple) lets it pass. Both sides share one colour scale. With fixed Δ (S4), Δ does not depend on
        the token, so each channel&apos;s row has one colour.
      </p>
      {runs.length === 0 ? (
        <p className="empty-note">No runs to show: add runs to compare their Δ.</p>
      ) : (
        <>
          {runs.length === 1 && <p className="empty-note">Add a second run to compare two side by side.</p>}
          {left && right && left !== right && !sameSequence(left.run, right.run) && (
            <p className="compare-note" role="note">
              The two runs were probed on different sequences, because their task, sequence length or seed differ. Compare
              the patterns around the marked tokens, not the columns.
            </p>
          )}
          <div className="probe-grid">
            <ProbeSide key={`left-${left.run.id}`} side={left} layers={leftLayers} domain={domains.left} />
            {right !== left && <ProbeSide key={`right-${right.run.id}`} side={right} layers={rightLayers} domain={domains.right} />}
          </div>
        </>
      )}
    </section>
  );
}
