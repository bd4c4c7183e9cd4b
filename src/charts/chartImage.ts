/**
 * Turns a drawn chart into an image file: standalone SVG text with every style written
 * inline, or a PNG. A chart's root (see createChartRoot) contains one SVG, and a heatmap
 * also contains a canvas of cells under that SVG; both exports compose the two. Needs a
 * DOM with layout, so it runs in the browser only.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Presentation properties copied from the computed style of each element, so that the
 * file looks as the page does without the page's stylesheet and CSS variables.
 */
const INLINE_PROPERTIES = [
  'display', 'visibility', 'opacity', 'fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-opacity', 'stroke-dasharray',
  'stroke-linecap', 'stroke-linejoin', 'font-family', 'font-size', 'font-weight', 'font-style', 'text-anchor',
  'dominant-baseline', 'stop-color', 'stop-opacity', 'shape-rendering',
] as const;

/** Page background drawn under the chart, so that the image reads on any viewer. */
export const IMAGE_BACKGROUND = '#ffffff';

/** Size of a chart image in CSS pixels, and the heatmap cells' place in it. */
interface ChartLayout {
  svg: SVGSVGElement;
  width: number;
  height: number;
  /** The heatmap's canvas and its rectangle relative to the SVG; null for other charts. */
  cells: { canvas: HTMLCanvasElement; x: number; y: number; width: number; height: number } | null;
}

function chartLayout(root: HTMLElement): ChartLayout {
  const svg = root.querySelector<SVGSVGElement>(':scope > svg');
  if (!svg) throw new Error('the chart has no SVG to export: draw the chart before exporting it');
  const box = svg.getBoundingClientRect();
  const width = Number(svg.getAttribute('width')) || box.width;
  const height = Number(svg.getAttribute('height')) || box.height;

  const canvas = root.querySelector<HTMLCanvasElement>(':scope > canvas');
  let cells: ChartLayout['cells'] = null;
  if (canvas && getComputedStyle(canvas).visibility !== 'hidden' && canvas.width > 0 && canvas.height > 0) {
    const rect = canvas.getBoundingClientRect();
    cells = { canvas, x: rect.left - box.left, y: rect.top - box.top, width: rect.width, height: rect.height };
  }
  return { svg, width, height, cells };
}

/**
 * Copies the live SVG with each element's computed presentation style written into
 * its style attribute. Elements pair up by position, because the copy is a deep clone.
 */
function cloneWithInlineStyles(svg: SVGSVGElement): SVGSVGElement {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  const live = [svg, ...svg.querySelectorAll('*')];
  const copies = [copy, ...copy.querySelectorAll('*')];
  live.forEach((element, i) => {
    const target = copies[i];
    if (!(target instanceof SVGElement)) return;
    const computed = getComputedStyle(element);
    const declarations = INLINE_PROPERTIES.map((property) => [property, computed.getPropertyValue(property)] as const)
      .filter(([, value]) => value !== '')
      .map(([property, value]) => `${property}:${value}`);
    target.setAttribute('style', declarations.join(';'));
  });
  copy.removeAttribute('class');
  return copy;
}

/**
 * Returns the chart as standalone SVG text: the chart's SVG with inline styles on a
 * white background, and for a heatmap its cells as an embedded PNG image under the
 * axes, scaled without smoothing.
 */
export function chartToSvg(root: HTMLElement): string {
  const layout = chartLayout(root);
  const copy = cloneWithInlineStyles(layout.svg);
  copy.setAttribute('xmlns', SVG_NS);
  copy.setAttribute('width', String(layout.width));
  copy.setAttribute('height', String(layout.height));
  copy.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
  const label = root.getAttribute('aria-label');
  if (label) {
    const title = document.createElementNS(SVG_NS, 'title');
    title.textContent = label;
    copy.insertBefore(title, copy.firstChild);
  }

  const underlays: Element[] = [];
  const background = document.createElementNS(SVG_NS, 'rect');
  background.setAttribute('width', '100%');
  background.setAttribute('height', '100%');
  background.setAttribute('fill', IMAGE_BACKGROUND);
  underlays.push(background);
  if (layout.cells) {
    const image = document.createElementNS(SVG_NS, 'image');
    image.setAttribute('class', 'heatmap-cells');
    image.setAttribute('x', String(layout.cells.x));
    image.setAttribute('y', String(layout.cells.y));
    image.setAttribute('width', String(layout.cells.width));
    image.setAttribute('height', String(layout.cells.height));
    image.setAttribute('preserveAspectRatio', 'none');
    image.setAttribute('style', 'image-rendering:pixelated');
    image.setAttribute('href', layout.cells.canvas.toDataURL('image/png'));
    underlays.push(image);
  }
  // The background and the cells go first, so that the axes and labels paint over them.
  const anchor = copy.querySelector(':scope > title')?.nextSibling ?? copy.firstChild;
  for (const element of underlays) copy.insertBefore(element, anchor);

  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(copy)}\n`;
}

/**
 * Renders the chart to a PNG at `scale` device pixels per CSS pixel: the background,
 * then a heatmap's cells drawn from its canvas without smoothing, then the SVG
 * overlay with inline styles on top.
 */
export async function chartToPng(root: HTMLElement, scale = 2): Promise<Blob> {
  const layout = chartLayout(root);
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(layout.width * scale));
  canvas.height = Math.max(1, Math.round(layout.height * scale));
  const context = canvas.getContext('2d');
  if (!context) throw new Error('the browser gave no 2D canvas context, so the chart cannot be drawn as PNG');
  context.scale(scale, scale);
  context.fillStyle = IMAGE_BACKGROUND;
  context.fillRect(0, 0, layout.width, layout.height);
  if (layout.cells) {
    context.imageSmoothingEnabled = false;
    context.drawImage(layout.cells.canvas, layout.cells.x, layout.cells.y, layout.cells.width, layout.cells.height);
  }

  const overlay = cloneWithInlineStyles(layout.svg);
  overlay.setAttribute('xmlns', SVG_NS);
  overlay.setAttribute('width', String(layout.width));
  overlay.setAttribute('height', String(layout.height));
  const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(overlay)], { type: 'image/svg+xml' }));
  try {
    const image = await loadImage(url);
    context.drawImage(image, 0, 0, layout.width, layout.height);
  } finally {
    URL.revokeObjectURL(url);
  }

  return new Promise<Blob>((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the canvas could not be encoded as PNG'))), 'image/png');
  });
}

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('the chart overlay failed to load as an SVG image'));
    image.src = url;
  });
}
