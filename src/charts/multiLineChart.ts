/**
 * A line chart in SVG with several series on shared axes and a legend inside the SVG,
 * so that an exported image names its lines. Used to overlay the loss and accuracy
 * curves of compared runs.
 *
 * The root element carries data-series (the number of series) and data-points (the
 * points drawn over all series), so tests can check what was drawn.
 */
import * as d3 from 'd3';
import { createChartRoot, observeWidth, PLOT_MARGIN_X, widthOf, xTickCount, type Chart, type Margin } from './chart';
import { lineXDomain, lineYDomain, thinTicks } from './domains';
import type { LinePoint } from './lineChart';
import { formatTick, integerTicks, logTicks } from './ticks';

export interface LineSeries {
  /** Legend text, such as "d_state = 16". */
  name: string;
  points: LinePoint[];
  color: string;
  /** SVG stroke-dasharray; empty or absent for a solid line. */
  dash?: string;
}

export interface MultiLineChartOptions {
  /** aria-label of the chart; the series names are added after it. */
  label: string;
  xLabel: string;
  yLabel: string;
  yScale: 'linear' | 'log';
  /** A fixed y domain, such as [0, 1] for accuracy; otherwise it follows the data. */
  yDomain?: [number, number];
  /** Formats y values on the axis; formatTick by default. */
  formatY?: (y: number) => string;
  /** Plot height in CSS pixels, without the axes and the legend. */
  height?: number;
  /** Text shown in the plot while no series has a point. */
  emptyText?: string;
}

const MARGIN: Margin = { top: 10, bottom: 34, ...PLOT_MARGIN_X };
const LEGEND_ROW_HEIGHT = 18;
const LEGEND_SWATCH_WIDTH = 22;
const LEGEND_ITEM_GAP = 18;

export function createMultiLineChart(element: HTMLElement, options: MultiLineChartOptions): Chart<LineSeries[]> {
  const root = createChartRoot(element, options.label, 'line-chart multi-line-chart');
  const plotHeight = options.height ?? 200;
  const formatY = options.formatY ?? formatTick;

  const svg = d3.select(root).append('svg').attr('class', 'chart-svg');
  const plot = svg.append('g').attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);
  const gridY = plot.append('g').attr('class', 'grid');
  const axisX = plot.append('g').attr('class', 'axis axis-x').attr('transform', `translate(0,${plotHeight})`);
  const axisY = plot.append('g').attr('class', 'axis axis-y');
  const lines = plot.append('g').attr('class', 'series');
  const xTitle = svg.append('text').attr('class', 'axis-title').attr('text-anchor', 'middle').text(options.xLabel);
  svg
    .append('text')
    .attr('class', 'axis-title')
    .attr('text-anchor', 'middle')
    .attr('transform', `translate(14,${MARGIN.top + plotHeight / 2}) rotate(-90)`)
    .text(options.yLabel);
  const empty = svg
    .append('text')
    .attr('class', 'empty-note')
    .attr('text-anchor', 'middle')
    .attr('y', MARGIN.top + plotHeight / 2)
    .text(options.emptyText ?? 'No data yet');
  const legend = svg.append('g').attr('class', 'legend series-legend');

  let series: LineSeries[] = [];
  let width = widthOf(element);

  /** Points that the y scale can place: finite, and positive on a log axis. */
  function drawable(points: LinePoint[]): LinePoint[] {
    return points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (options.yScale !== 'log' || p.y > 0));
  }

  function render(): void {
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const drawn = series.map((s) => drawable(s.points));
    const all = drawn.flat();
    root.dataset.series = String(series.length);
    root.dataset.points = String(all.length);
    root.setAttribute('aria-label', series.length > 0 ? `${options.label}: ${series.map((s) => s.name).join('; ')}` : options.label);
    empty.attr('display', all.length === 0 ? null : 'none').attr('x', MARGIN.left + plotWidth / 2);

    const xDomain = lineXDomain(all.map((p) => p.x));
    const x = d3.scaleLinear().domain(xDomain).range([0, plotWidth]);
    const yDomain = options.yDomain ?? lineYDomain(all.map((p) => p.y), options.yScale);
    const y = options.yScale === 'log' ? d3.scaleLog().domain(yDomain).range([plotHeight, 0]) : d3.scaleLinear().domain(yDomain).range([plotHeight, 0]);

    axisX.call(d3.axisBottom(x).tickValues(integerTicks(xDomain, xTickCount(plotWidth))).tickFormat((v) => formatTick(Number(v))));
    const yTickMax = Math.max(2, Math.floor(plotHeight / 28));
    const yTickValues =
      options.yScale === 'log' ? logTicks(yDomain, yTickMax) : thinTicks(y.ticks(Math.max(2, Math.floor(plotHeight / 40))), yTickMax);
    axisY.call(d3.axisLeft(y).tickValues(yTickValues).tickFormat((v) => formatY(Number(v))));
    gridY.call(d3.axisLeft(y).tickValues(yTickValues).tickSize(-plotWidth).tickFormat(() => ''));

    const line = d3
      .line<LinePoint>()
      .x((p) => x(p.x))
      .y((p) => y(p.y));
    const groups = lines
      .selectAll<SVGGElement, LineSeries>('g.series-line')
      .data(series)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'series-line');
        g.append('path').attr('class', 'line').attr('fill', 'none');
        g.append('circle').attr('class', 'last-dot').attr('r', 3);
        return g;
      });
    groups.attr('data-name', (s) => s.name);
    groups
      .select<SVGPathElement>('path')
      .style('stroke', (s) => s.color)
      .style('stroke-dasharray', (s) => s.dash || null)
      .attr('d', (_, i) => (drawn[i].length > 0 ? line(drawn[i]) : null));
    groups
      .select<SVGCircleElement>('circle')
      .style('fill', (s) => s.color)
      .attr('display', (_, i) => (drawn[i].length > 0 ? null : 'none'))
      .attr('cx', (_, i) => (drawn[i].length > 0 ? x(drawn[i][drawn[i].length - 1].x) : 0))
      .attr('cy', (_, i) => (drawn[i].length > 0 ? y(drawn[i][drawn[i].length - 1].y) : 0));

    const legendTop = plotHeight + MARGIN.top + MARGIN.bottom + 4;
    xTitle.attr('x', MARGIN.left + plotWidth / 2).attr('y', plotHeight + MARGIN.top + MARGIN.bottom - 2);
    const rows = drawLegend(plotWidth);
    legend.attr('transform', `translate(${MARGIN.left},${legendTop})`);
    svg.attr('width', width).attr('height', legendTop + rows * LEGEND_ROW_HEIGHT + 2);
  }

  /** Draws one swatch and name per series, wrapping at the plot's width; returns the number of rows. */
  function drawLegend(plotWidth: number): number {
    const items = legend
      .selectAll<SVGGElement, LineSeries>('g.legend-item')
      .data(series)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'legend-item');
        g.append('line').attr('x1', 0).attr('x2', LEGEND_SWATCH_WIDTH).attr('y1', 6).attr('y2', 6).style('stroke-width', 2.5);
        g.append('text').attr('x', LEGEND_SWATCH_WIDTH + 5).attr('y', 10);
        return g;
      });
    items
      .select('line')
      .style('stroke', (s) => s.color)
      .style('stroke-dasharray', (s) => s.dash || null);
    items.select('text').text((s) => s.name);

    // Text width is known only once drawn; a hidden chart measures 0, so estimate then.
    let x = 0;
    let row = 0;
    items.each(function (s) {
      const measured = this.querySelector('text')?.getComputedTextLength() ?? 0;
      const itemWidth = LEGEND_SWATCH_WIDTH + 5 + (measured > 0 ? measured : s.name.length * 6.5);
      if (x > 0 && x + itemWidth > plotWidth) {
        x = 0;
        row++;
      }
      this.setAttribute('transform', `translate(${x},${row * LEGEND_ROW_HEIGHT})`);
      x += itemWidth + LEGEND_ITEM_GAP;
    });
    return series.length > 0 ? row + 1 : 0;
  }

  const stopObserving = observeWidth(element, (w) => {
    width = w;
    render();
  });
  render();

  return {
    update(data: LineSeries[]) {
      series = data;
      render();
    },
    dispose() {
      stopObserving();
      root.remove();
    },
  };
}
