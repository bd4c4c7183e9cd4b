/**
 * A log–log chart of several series, for benchmark sweeps: time or bytes
 * against sequence length. A straight line of slope 1 is linear scaling, slope 2
 * quadratic. Points a series could not measure are listed under the plot.
 */
import * as d3 from 'd3';
import { createChartRoot, observeWidth, widthOf, type Chart, type Margin } from './chart';
import { logLogSlope } from './domains';

export interface LogLogSeries {
  name: string;
  color: string;
  /** Dashed lines mark baselines. */
  dashed?: boolean;
  /** Points with y null were not measured; their x is shown in the skipped note. */
  points: { x: number; y: number | null }[];
}

export interface LogLogChartOptions {
  label: string;
  xLabel: string;
  yLabel: string;
  formatY?: (y: number) => string;
  height?: number;
}

const MARGIN: Margin = { top: 10, right: 16, bottom: 38, left: 60 };

export function createLogLogChart(element: HTMLElement, options: LogLogChartOptions): Chart<LogLogSeries[]> {
  const root = createChartRoot(element, options.label, 'loglog-chart');
  const plotHeight = options.height ?? 260;
  const formatY = options.formatY ?? d3.format('~g');

  const svg = d3.select(root).append('svg').attr('class', 'chart-svg');
  const plot = svg.append('g').attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);
  const gridY = plot.append('g').attr('class', 'grid');
  const axisX = plot.append('g').attr('class', 'axis axis-x').attr('transform', `translate(0,${plotHeight})`);
  const axisY = plot.append('g').attr('class', 'axis axis-y');
  const lines = plot.append('g');
  const xTitle = svg.append('text').attr('class', 'axis-title').attr('text-anchor', 'middle').text(options.xLabel);
  svg
    .append('text')
    .attr('class', 'axis-title')
    .attr('text-anchor', 'middle')
    .attr('transform', `translate(14,${MARGIN.top + plotHeight / 2}) rotate(-90)`)
    .text(options.yLabel);
  const empty = svg.append('text').attr('class', 'empty-note').attr('text-anchor', 'middle').attr('y', MARGIN.top + plotHeight / 2).text('No measurements yet');
  const legend = d3.select(root).append('ul').attr('class', 'chart-legend');

  let series: LogLogSeries[] = [];
  let width = widthOf(element);

  function draw() {
    const innerWidth = Math.max(40, width - MARGIN.left - MARGIN.right);
    svg.attr('width', width).attr('height', plotHeight + MARGIN.top + MARGIN.bottom);
    xTitle.attr('x', MARGIN.left + innerWidth / 2).attr('y', plotHeight + MARGIN.top + MARGIN.bottom - 4);
    empty.attr('x', MARGIN.left + innerWidth / 2);

    const measured = series.flatMap((s) => s.points.filter((p): p is { x: number; y: number } => p.y !== null && p.y > 0));
    empty.style('display', measured.length > 0 ? 'none' : 'inline');
    const allX = series.flatMap((s) => s.points.map((p) => p.x)).filter((x) => x > 0);
    const [x0, x1] = allX.length > 0 ? (d3.extent(allX) as [number, number]) : [1, 10];
    const [y0, y1] = measured.length > 0 ? (d3.extent(measured, (p) => p.y) as [number, number]) : [1, 10];
    const x = d3.scaleLog().domain(x0 === x1 ? [x0 / 2, x1 * 2] : [x0, x1]).range([0, innerWidth]);
    const y = d3.scaleLog().domain(y0 === y1 ? [y0 / 2, y1 * 2] : [y0 / 1.2, y1 * 1.2]).range([plotHeight, 0]).nice();

    // Powers of two label sequence lengths best.
    const xTicks = allX.length > 0 ? [...new Set(allX)].sort((a, b) => a - b) : x.ticks(4);
    const step = Math.ceil(xTicks.length / Math.max(2, Math.floor(innerWidth / 60)));
    axisX.call(d3.axisBottom(x).tickValues(xTicks.filter((_, i) => i % step === 0)).tickFormat(d3.format('d')));
    // Label and grid only the powers of ten, unless the data spans less than a decade.
    const [lo, hi] = y.domain();
    const decades = d3.range(Math.ceil(Math.log10(lo)), Math.floor(Math.log10(hi)) + 1).map((e) => 10 ** e);
    const yTicks = decades.length >= 2 ? decades : y.ticks(3);
    axisY.call(d3.axisLeft(y).tickValues(yTicks).tickFormat((v) => formatY(v as number)));
    gridY.call(d3.axisLeft(y).tickValues(yTicks).tickSize(-innerWidth).tickFormat(() => ''));

    const line = d3
      .line<{ x: number; y: number | null }>()
      .defined((p) => p.y !== null && p.y > 0)
      .x((p) => x(p.x))
      .y((p) => y(p.y as number));
    const groups = lines.selectAll<SVGGElement, LogLogSeries>('g.series').data(series, (s) => s.name);
    groups.exit().remove();
    const entered = groups.enter().append('g').attr('class', 'series');
    entered.append('path').attr('fill', 'none').attr('stroke-width', 2);
    const merged = entered.merge(groups);
    merged
      .select('path')
      .attr('d', (s) => line(s.points))
      .style('stroke', (s) => s.color)
      .attr('stroke-dasharray', (s) => (s.dashed ? '5 4' : null));
    merged
      .selectAll<SVGCircleElement, { x: number; y: number }>('circle')
      .data((s) => s.points.filter((p): p is { x: number; y: number } => p.y !== null && p.y > 0).map((p) => ({ ...p, color: s.color })))
      .join('circle')
      .attr('r', 3)
      .attr('cx', (p) => x(p.x))
      .attr('cy', (p) => y(p.y))
      .style('fill', (p) => (p as { color: string }).color);

    legend
      .selectAll('li')
      .data(series, (s) => (s as LogLogSeries).name)
      .join('li')
      .html('')
      .call((li) => {
        li.append('span').attr('class', 'swatch').style('background', (s) => s.color);
        li.append('span').text((s) => {
          const slope = logLogSlope(s.points);
          const skipped = s.points.filter((p) => p.y === null).map((p) => p.x);
          const parts = [s.name];
          if (slope !== null) parts.push(`slope ${slope.toFixed(2)}`);
          if (skipped.length > 0) parts.push(`not measured at ${skipped.join(', ')}`);
          return parts.join(' · ');
        });
      });
  }

  const stopObserving = observeWidth(element, (w) => {
    width = w;
    draw();
  });
  draw();

  return {
    update(data) {
      series = data;
      draw();
    },
    dispose() {
      stopObserving();
      root.remove();
    },
  };
}
