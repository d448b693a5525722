// WeCom limits content in UTF-8 bytes (2048 for text and app markdown, 4096 for robot markdown; wecom-api.md §5.1)
// and truncates or refuses what is longer. Long messages are split on line boundaries, and a line longer than the
// limit on grapheme boundaries, so no character (or emoji sequence) is ever cut.

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

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
    for (const { segment } of graphemes.segment(line)) {
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
