/**
 * A heatmap with time on the x axis and a row index on the y axis. Cells are drawn on a
 * canvas at one pixel per cell and scaled up. SVG on top draws the axes, a band that
 * marks the role of each column's token, the token labels and a colour legend.
 *
 * The root element carries data-cells, the number of cells with a colour, and
 * data-domain, the colour domain as "min,max", so tests can check what was drawn
 * without reading pixels.
 */
import * as d3 from 'd3';
import { createChartRoot, observeWidth, PLOT_MARGIN_X, widthOf, xTickCount, type Chart, type Margin } from './chart';
import { buildColorTable, colorPosition, colorTableIndex, interpolatorFor, type ColorKind } from './colors';
import { formatTick, integerTicks, logTicks } from './ticks';

export interface ColumnLabel {
  text: string;
  /** A key into HeatmapOptions.roles. */
  role: string;
}

export interface HeatmapData {
  columns: number;
  rows: number;
  /** Value of column c and row r at values[c * rows + r]. */
  values: Float32Array;
  /** Colour domain [min, max] in value units; shared across panels by the caller. */
  domain: [number, number];
  /** One label per column, printed under it; optional. */
  columnLabels?: ColumnLabel[];
}

export interface RoleStyle {
  /** Legend text, such as "data token". */
  name: string;
  color: string;
  /** Prints the token label in bold and in the role's colour. */
  emphasize: boolean;
}

export interface HeatmapOptions {
  /** aria-label of the chart, such as "Δ heatmap, layer 1". */
  label: string;
  xLabel: string;
  /** Name of one row, such as "channel"; used on the y axis and in the readout. */
  rowName: string;
  /** Name of a value in the readout and the legend, such as "Δ". */
  valueName: string;
  color: ColorKind;
  /** Styles by column role; roles without a style are drawn in grey. */
  roles?: Record<string, RoleStyle>;
  /** Called with zero-based indices when the person clicks a cell. */
  onCellClick?: (column: number, row: number) => void;
  /**
   * Number of the first row on the axis and in the readout: 1 for channels and state
   * components (the default), 0 for rows that are positions, so they match the columns.
   */
  rowBase?: 0 | 1;
  /** Plot height in CSS pixels; by default it grows with the row count. */
  height?: number;
}

const MARGIN: Margin = { top: 6, bottom: 8, ...PLOT_MARGIN_X };
const BAND_HEIGHT = 8;
const BAND_GAP = 3;
const LABEL_ROW_HEIGHT = 16;
const AXIS_HEIGHT = 34;
const LEGEND_HEIGHT = 40;
/** Height of each row of role swatches that wraps under the colour bar. */
const ROLE_ROW_HEIGHT = 18;
const ROLE_ITEM_GAP = 14;
/** Space the colour bar's tick labels need each, such as "0.002" or "1e-4". */
const LEGEND_TICK_SPACING = 44;
/** Narrowest column, in CSS pixels, that gets its token label when labels are dense. */
const MIN_LABEL_WIDTH = 9;
const FALLBACK_ROLE_COLOR = '#9ca3af';

export function createHeatmap(element: HTMLElement, options: HeatmapOptions): Chart<HeatmapData> {
  const rowBase = options.rowBase ?? 1;
  const root = createChartRoot(element, options.label, 'heatmap');
  root.dataset.cells = '0';
  const roles = options.roles ?? {};
  const colorTable = buildColorTable(options.color);
  const gradientId = `heatmap-gradient-${Math.random().toString(36).slice(2)}`;

  const canvas = document.createElement('canvas');
  canvas.className = 'heatmap-cells';
  root.appendChild(canvas);
  const context = canvas.getContext('2d');

  const svg = d3.select(root).append('svg').attr('class', 'chart-svg heatmap-overlay');
  const band = svg.append('g').attr('class', 'role-band');
  const labels = svg.append('g').attr('class', 'token-labels');
  const axisX = svg.append('g').attr('class', 'axis axis-x');
  const axisY = svg.append('g').attr('class', 'axis axis-y');
  const xTitle = svg.append('text').attr('class', 'axis-title').attr('text-anchor', 'middle').text(options.xLabel);
  const yTitle = svg.append('text').attr('class', 'axis-title').attr('text-anchor', 'middle').text(options.rowName);
  const hitArea = svg.append('rect').attr('class', 'hit-area').attr('fill', 'transparent');
  const highlight = svg.append('rect').attr('class', 'cell-highlight').attr('fill', 'none').attr('display', 'none');
  const legend = svg.append('g').attr('class', 'legend');
  const gradient = svg.append('defs').append('linearGradient').attr('id', gradientId);
  const readout = document.createElement('div');
  readout.className = 'heatmap-readout';
  // The readout follows the SVG in the flow and starts where the plot does.
  readout.style.paddingLeft = `${MARGIN.left}px`;
  root.appendChild(readout);

  let data: HeatmapData | null = null;
  let hovered: { column: number; row: number } | null = null;
  let width = widthOf(element);

  function plotRect(): { x: number; y: number; width: number; height: number } {
    const rows = data?.rows ?? 1;
    const height = options.height ?? Math.min(280, Math.max(96, rows * 6));
    return {
      x: MARGIN.left,
      y: MARGIN.top + BAND_HEIGHT + BAND_GAP,
      width: width - MARGIN.left - MARGIN.right,
      height,
    };
  }

  function drawCells(d: HeatmapData): number {
    if (!context) return 0;
    canvas.width = Math.max(1, d.columns);
    canvas.height = Math.max(1, d.rows);
    const image = context.createImageData(canvas.width, canvas.height);
    let drawn = 0;
    for (let c = 0; c < d.columns; c++) {
      for (let r = 0; r < d.rows; r++) {
        const t = colorPosition(options.color, d.domain, d.values[c * d.rows + r]);
        if (Number.isNaN(t)) continue;
        const k = colorTableIndex(t) * 3;
        const p = (r * d.columns + c) * 4;
        image.data[p] = colorTable[k];
        image.data[p + 1] = colorTable[k + 1];
        image.data[p + 2] = colorTable[k + 2];
        image.data[p + 3] = 255;
        drawn++;
      }
    }
    context.putImageData(image, 0, 0);
    return drawn;
  }

  function render(): void {
    const rect = plotRect();
    const labelTop = rect.y + rect.height + 2;
    const axisTop = labelTop + LABEL_ROW_HEIGHT;
    const legendTop = axisTop + AXIS_HEIGHT;
    const setHeight = (legendHeight: number) => svg.attr('height', legendTop + legendHeight + MARGIN.bottom);
    svg.attr('width', width);
    setHeight(LEGEND_HEIGHT);
    Object.assign(canvas.style, {
      left: `${rect.x}px`,
      top: `${rect.y}px`,
      width: `${rect.width}px`,
      height: `${rect.height}px`,
    });
    hitArea.attr('x', rect.x).attr('y', rect.y).attr('width', rect.width).attr('height', rect.height);
    xTitle.attr('x', rect.x + rect.width / 2).attr('y', axisTop + AXIS_HEIGHT - 4);
    yTitle.attr('transform', `translate(12,${rect.y + rect.height / 2}) rotate(-90)`);

    const d = data;
    if (!d || d.columns === 0 || d.rows === 0) {
      canvas.style.visibility = 'hidden';
      root.dataset.cells = '0';
      return;
    }
    canvas.style.visibility = 'visible';
    root.dataset.cells = String(drawCells(d));
    root.dataset.columns = String(d.columns);
    root.dataset.rows = String(d.rows);
    root.dataset.domain = `${d.domain[0]},${d.domain[1]}`;

    const x = d3.scaleBand<number>().domain(d3.range(d.columns)).range([rect.x, rect.x + rect.width]).padding(0);
    const y = d3.scaleBand<number>().domain(d3.range(d.rows)).range([rect.y, rect.y + rect.height]).padding(0);

    drawBand(d, x);
    drawLabels(d, x, labelTop);

    // Positions count from 0 like token indices. Each tick sits at the centre of its
    // column, as the token labels do. Rows count from 1 as in the selects.
    const positionTicks = d3.scaleLinear().domain([-0.5, d.columns - 0.5]).range([rect.x, rect.x + rect.width]);
    axisX.attr('transform', `translate(0,${axisTop})`).call(
      d3
        .axisBottom(positionTicks)
        .tickValues(integerTicks([0, d.columns - 1], xTickCount(rect.width)))
        .tickFormat((v) => String(v)),
    );
    const rowStep = Math.max(1, Math.ceil(d.rows / Math.max(2, Math.floor(rect.height / 18))));
    axisY
      .attr('transform', `translate(${rect.x},0)`)
      .call(
        d3
          .axisLeft(y)
          .tickValues(d3.range(0, d.rows, rowStep))
          .tickFormat((r) => String(Number(r) + rowBase)),
      );

    setHeight(drawLegend(d, rect, legendTop));
  }

  function drawBand(d: HeatmapData, x: d3.ScaleBand<number>): void {
    const columnLabels = d.columnLabels ?? [];
    band
      .selectAll<SVGRectElement, ColumnLabel>('rect')
      .data(columnLabels)
      .join('rect')
      .attr('class', (label) => `band-cell role-${label.role}`)
      .attr('x', (_, i) => x(i) ?? 0)
      .attr('y', MARGIN.top)
      .attr('width', Math.max(1, x.bandwidth()))
      .attr('height', BAND_HEIGHT)
      .attr('fill', (label) => roles[label.role]?.color ?? FALLBACK_ROLE_COLOR);
  }

  function drawLabels(d: HeatmapData, x: d3.ScaleBand<number>, top: number): void {
    const columnLabels = d.columnLabels ?? [];
    const dense = x.bandwidth() < MIN_LABEL_WIDTH;

    // With narrow columns only emphasised tokens get a label, and only where it does
    // not overlap the previous one. The band above still marks every column.
    let lastEnd = -Infinity;
    const shown = columnLabels.map((label, i) => {
      const style = roles[label.role];
      if (!dense) return true;
      if (!style?.emphasize) return false;
      const center = (x(i) ?? 0) + x.bandwidth() / 2;
      if (center - MIN_LABEL_WIDTH / 2 < lastEnd) return false;
      lastEnd = center + MIN_LABEL_WIDTH / 2;
      return true;
    });

    labels
      .selectAll<SVGTextElement, ColumnLabel>('text')
      .data(columnLabels)
      .join('text')
      .attr('class', (label) => `token-label role-${label.role}${roles[label.role]?.emphasize ? ' emphasized' : ''}`)
      .attr('x', (_, i) => (x(i) ?? 0) + x.bandwidth() / 2)
      .attr('y', top + 11)
      .attr('text-anchor', 'middle')
      .attr('display', (_, i) => (shown[i] ? null : 'none'))
      .style('fill', (label) => (roles[label.role]?.emphasize ? roles[label.role].color : null))
      .text((label) => label.text);
  }

  /**
   * Draws the colour bar and one swatch per role present, and returns the legend's
   * height. The swatches sit right of the bar when they fit there. Otherwise they wrap in
   * rows under it, and the bar takes the whole width so that its tick labels have room.
   */
  function drawLegend(d: HeatmapData, rect: { x: number; width: number }, top: number): number {
    legend.attr('transform', `translate(${rect.x},${top})`);
    const swatchWidths = drawRoleSwatches(d);
    const sideBySideBar = Math.min(260, rect.width * 0.45);
    const swatchesStart = sideBySideBar + 32;
    const inline = swatchesStart + swatchWidths.reduce((sum, w) => sum + w, 0) <= rect.width;
    const barWidth = inline ? sideBySideBar : Math.min(260, rect.width);
    drawColorBar(d, barWidth);
    const rows = placeRoleSwatches(swatchWidths, inline ? swatchesStart : null, rect.width);
    return LEGEND_HEIGHT + rows * ROLE_ROW_HEIGHT;
  }

  function drawColorBar(d: HeatmapData, barWidth: number): void {
    const interpolate = interpolatorFor(options.color);
    gradient
      .selectAll('stop')
      .data(d3.range(0, 1.0001, 0.1))
      .join('stop')
      .attr('offset', (t) => `${t * 100}%`)
      .attr('stop-color', (t) => interpolate(t));

    const scale =
      options.color === 'log-sequential'
        ? d3.scaleLog().domain(d.domain).range([0, barWidth])
        : d3.scaleLinear().domain(d.domain).range([0, barWidth]);
    legend
      .selectAll('text.legend-title')
      .data([options.valueName])
      .join('text')
      .attr('class', 'legend-title')
      .attr('x', 0)
      .attr('y', 9)
      .text((name) => (options.color === 'log-sequential' ? `${name} (log scale)` : name));
    legend
      .selectAll('rect.legend-bar')
      .data([0])
      .join('rect')
      .attr('class', 'legend-bar')
      .attr('x', 0)
      .attr('y', 13)
      .attr('width', barWidth)
      .attr('height', 8)
      .attr('fill', `url(#${gradientId})`);
    legend
      .selectAll<SVGGElement, number>('g.legend-axis')
      .data([0])
      .join('g')
      .attr('class', 'axis legend-axis')
      .attr('transform', 'translate(0,21)')
      .call(
        d3
          .axisBottom(scale)
          .tickValues(legendTickValues(d.domain, barWidth))
          .tickFormat((v) => formatTick(Number(v)))
          .tickSize(3),
      );
  }

  /** Tick values of the colour bar, spaced so that their labels do not overlap. */
  function legendTickValues(domain: [number, number], barWidth: number): number[] {
    const max = Math.max(2, Math.floor(barWidth / LEGEND_TICK_SPACING));
    if (options.color === 'log-sequential') return logTicks(domain, max);
    return d3.scaleLinear().domain(domain).ticks(max);
  }

  /** Draws a swatch and a name per role present; returns the width each takes, with the gap after it. */
  function drawRoleSwatches(d: HeatmapData): number[] {
    const present = Array.from(new Set((d.columnLabels ?? []).map((label) => label.role))).filter((role) => roles[role]);
    const items = legend
      .selectAll<SVGGElement, string>('g.role-item')
      .data(present)
      .join('g')
      .attr('class', 'role-item');
    items
      .selectAll('rect')
      .data((role) => [role])
      .join('rect')
      .attr('width', 10)
      .attr('height', 10)
      .attr('rx', 2)
      .attr('fill', (role) => roles[role].color);
    items
      .selectAll('text')
      .data((role) => [role])
      .join('text')
      .attr('x', 14)
      .attr('y', 9)
      .text((role) => roles[role].name);

    // Text width is known only once drawn; a hidden chart measures 0, so estimate then.
    return items.nodes().map((node, i) => {
      const text = node.querySelector('text');
      const measured = text ? text.getComputedTextLength() : 0;
      return 14 + (measured > 0 ? measured : roles[present[i]].name.length * 6.5) + ROLE_ITEM_GAP;
    });
  }

  /**
   * Moves the swatches into one row starting at `inlineStart`, or, when it is null, into
   * rows under the colour bar that wrap at `width`. Returns the number of rows added
   * under the bar.
   */
  function placeRoleSwatches(widths: number[], inlineStart: number | null, width: number): number {
    let x = inlineStart ?? 0;
    let row = 0;
    const positions = widths.map((w) => {
      if (inlineStart === null && x > 0 && x + w - ROLE_ITEM_GAP > width) {
        x = 0;
        row++;
      }
      const position = { x, y: inlineStart === null ? LEGEND_HEIGHT + row * ROLE_ROW_HEIGHT : 4 };
      x += w;
      return position;
    });
    legend.selectAll<SVGGElement, string>('g.role-item').attr('transform', (_, i) => `translate(${positions[i].x},${positions[i].y})`);
    return inlineStart !== null || widths.length === 0 ? 0 : row + 1;
  }

  function cellAt(event: MouseEvent): { column: number; row: number } | null {
    if (!data || data.columns === 0 || data.rows === 0) return null;
    const rect = plotRect();
    const [px, py] = d3.pointer(event, svg.node());
    const column = Math.floor(((px - rect.x) / rect.width) * data.columns);
    const row = Math.floor(((py - rect.y) / rect.height) * data.rows);
    if (column < 0 || column >= data.columns || row < 0 || row >= data.rows) return null;
    return { column, row };
  }

  function showReadout(cell: { column: number; row: number } | null): void {
    if (!data || data.columns === 0) {
      highlight.attr('display', 'none');
      readout.textContent = 'No probe yet.';
      return;
    }
    if (!cell) {
      highlight.attr('display', 'none');
      readout.textContent = options.onCellClick ? `Hover a cell to read its value; click to choose its ${options.rowName}.` : 'Hover a cell to read its value.';
      return;
    }
    const rect = plotRect();
    const cellWidth = rect.width / data.columns;
    const cellHeight = rect.height / data.rows;
    highlight
      .attr('display', null)
      .attr('x', rect.x + cell.column * cellWidth)
      .attr('y', rect.y + cell.row * cellHeight)
      .attr('width', cellWidth)
      .attr('height', cellHeight);
    const label = data.columnLabels?.[cell.column];
    const token = label ? ` · token ${label.text}${roles[label.role] ? ` (${roles[label.role].name})` : ''}` : '';
    const value = data.values[cell.column * data.rows + cell.row];
    readout.textContent = `position ${cell.column}${token} · ${options.rowName} ${cell.row + rowBase} · ${options.valueName} = ${d3.format('.4~g')(value)}`;
  }

  hitArea.on('mousemove', (event: MouseEvent) => {
    hovered = cellAt(event);
    showReadout(hovered);
  });
  hitArea.on('mouseleave', () => {
    hovered = null;
    showReadout(null);
  });
  if (options.onCellClick) {
    const onCellClick = options.onCellClick;
    hitArea.style('cursor', 'pointer');
    hitArea.on('click', (event: MouseEvent) => {
      const cell = cellAt(event);
      if (cell) onCellClick(cell.column, cell.row);
    });
  }

  const stopObserving = observeWidth(element, (w) => {
    width = w;
    render();
  });
  render();
  showReadout(null);

  return {
    update(next: HeatmapData) {
      data = next;
      render();
      // Keep the readout on the hovered cell, which now shows the new value.
      showReadout(hovered && hovered.column < next.columns && hovered.row < next.rows ? hovered : null);
    },
    dispose() {
      stopObserving();
      root.remove();
    },
  };
}
