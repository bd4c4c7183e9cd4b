/** Saves generated files through the browser's download mechanism: a Blob behind an object URL and a link with `download`. */

export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.style.display = 'none';
  document.body.appendChild(link);
  link.click();
  link.remove();
  // The browser may read the URL after click() returns, so it is revoked later.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Saves text as a file of the given MIME type, such as 'text/csv'. */
export function downloadText(text: string, fileName: string, type: string): void {
  downloadBlob(new Blob([text], { type: `${type};charset=utf-8` }), fileName);
}
