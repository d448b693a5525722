// WeCom limits content in UTF-8 bytes (2048 for text and app markdown, 4096 for robot markdown; wecom-api.md §5.1)
// and truncates or refuses what is longer. Long messages are split on line boundaries, and a line longer than the
// limit on grapheme boundaries, so no character (or emoji sequence) is ever cut.

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** UTF-8 length, counted in JavaScript: Buffer.byteLength costs a native call per grapheme. */
function bytes(text: string): number {
  let total = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) total += 1;
    else if (unit < 0x800) total += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      total += 4;
      i++;
    } else total += 3;
  }
  return total;
}

/** Segmenting a window at a time: V8's segmenter slows down quadratically on one long string (60 KB took minutes). */
const WINDOW = 2048;

/** The grapheme clusters of a text, in time linear in its length. */
function* graphemes(text: string): Generator<string> {
  let start = 0;
  while (start < text.length) {
    const end = Math.min(start + WINDOW, text.length);
    const segments = [...segmenter.segment(text.slice(start, end))];
    // The window's last cluster may continue past its end: it is segmented again as the start of the next one.
    const keep = end < text.length && segments.length > 1 ? segments.length - 1 : segments.length;
    for (let i = 0; i < keep; i++) yield segments[i]!.segment;
    start += keep === segments.length ? end - start : segments[keep]!.index;
  }
}

export function splitUtf8(text: string, limit: number): string[] {
  const chunks: string[] = [];
  let current = '';
  const push = () => {
    if (current.trim()) chunks.push(current);
    current = '';
  };
  for (const line of text.split('\n')) {
    const joined = current ? `${current}\n${line}` : line;
    if (bytes(joined) <= limit) {
      current = joined;
      continue;
    }
    push();
    if (bytes(line) <= limit) {
      current = line;
      continue;
    }
    let piece = '';
    let pieceBytes = 0;
    for (const segment of graphemes(line)) {
      const size = bytes(segment);
      if (pieceBytes + size > limit) {
        chunks.push(piece);
        piece = '';
        pieceBytes = 0;
      }
      piece += segment;
      pieceBytes += size;
    }
    current = piece;
  }
  push();
  return chunks;
}

/** Splits and numbers the parts "(1/3)" so a reader knows more follows; every part stays within the limit. */
export function paginate(text: string, limit: number): string[] {
  const whole = splitUtf8(text, limit);
  if (whole.length <= 1) return whole;
  const marker = (index: number, total: number) => `\n(${index}/${total})`;
  let parts = splitUtf8(text, limit - bytes(marker(whole.length + 1, whole.length + 1)));
  // Numbering takes bytes, which can add a part; one more pass settles it.
  parts = splitUtf8(text, limit - bytes(marker(parts.length, parts.length)));
  return parts.map((part, index) => part + marker(index + 1, parts.length));
}
