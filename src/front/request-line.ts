/**
 * The first request line of a connection, read before Node's HTTP parser sees it. That parser (llhttp)
 * takes any run of spaces between method, target and version as one (`GET  / HTTP/1.1` is `GET /`), and
 * hands on nothing but the parsed parts: the spacing can only be judged on the bytes. RFC 9112 section 3
 * separates them by one SP; a front proxy that splits the line otherwise sees another request (a
 * request-smuggling shape), so such a line is refused. Later requests of a keep-alive connection are
 * parsed by Node alone.
 */
import type { Duplex } from 'node:stream';

/** Past this many bytes without a line end, the parser's own limits decide. */
const MAX_SNIFF_BYTES = 16 * 1024;

/**
 * Reads from `socket` until its first request line (after the empty lines RFC 9112 lets a client send
 * first) is complete, puts every byte back, pauses the socket and calls `done` with that line, or with
 * undefined when the line was too long to wait for. A socket that ends first is destroyed.
 */
export function readFirstRequestLine(socket: Duplex, done: (line: string | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  /** Where the line starts, once a byte other than CR and LF has arrived. */
  let start = -1;
  // Each chunk is scanned once and joined only at the end: a client sending a byte at a time costs no more.
  const onData = (chunk: Buffer) => {
    let from = 0;
    if (start < 0) {
      while (from < chunk.length && (chunk[from] === 0x0d || chunk[from] === 0x0a)) from++;
      if (from < chunk.length) start = size + from;
    }
    const lineFeed = start < 0 ? -1 : chunk.indexOf(0x0a, from);
    const end = lineFeed < 0 ? -1 : size + lineFeed;
    chunks.push(chunk);
    size += chunk.length;
    if (end < 0 && size < MAX_SNIFF_BYTES) return;
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.pause();
    const bytes = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
    socket.unshift(bytes);
    done(end < 0 ? undefined : bytes.subarray(start, end).toString('latin1').replace(/\r$/, ''));
  };
  const onEnd = () => socket.destroy();
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.resume();
}

/** True when a request line separates its parts by more than one space. */
export function hasLenientSpacing(line: string): boolean {
  return line.includes('  ');
}
