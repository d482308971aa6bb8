/**
 * Streaming UTF-8 validation for text messages (RFC 6455 8.1), whose bytes arrive in pieces: across reads
 * and across fragments, a character can be split anywhere. A small state machine carries what is still
 * expected from one piece to the next and fails at the first byte that no valid text could contain
 * (overlong forms, surrogates, code points above U+10FFFF), without waiting for the rest of the message.
 * Whole stretches are checked by Node's native validator; the state machine only handles their edges.
 */

import { isUtf8 } from 'node:buffer';

/** Between characters: the only state a message may end in. */
export const UTF8_ACCEPT = 0;
/** An impossible byte was seen: the text is invalid whatever follows. */
export const UTF8_REJECT = 1;

// States after a lead byte: how many continuation bytes are still due, and for the leads whose second byte
// is narrowed (E0, ED, F0, F4) which range it must be in.
const NEED1 = 2;
const NEED2 = 3;
const NEED3 = 4;
const AFTER_E0 = 5; // A0-BF: no overlong 3-byte forms
const AFTER_ED = 6; // 80-9F: no surrogates D800-DFFF
const AFTER_F0 = 7; // 90-BF: no overlong 4-byte forms
const AFTER_F4 = 8; // 80-8F: nothing above U+10FFFF
const STATES = 9;

// Byte classes.
const ASCII = 0;
const CONT_80_8F = 1;
const CONT_90_9F = 2;
const CONT_A0_BF = 3;
const INVALID = 4; // C0, C1, F5-FF
const LEAD2 = 5; // C2-DF
const LEAD_E0 = 6;
const LEAD3 = 7; // E1-EC, EE-EF
const LEAD_ED = 8;
const LEAD_F0 = 9;
const LEAD4 = 10; // F1-F3
const LEAD_F4 = 11;
const CLASSES = 12;

const byteClass = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  byteClass[b] =
    b < 0x80
      ? ASCII
      : b < 0x90
        ? CONT_80_8F
        : b < 0xa0
          ? CONT_90_9F
          : b < 0xc0
            ? CONT_A0_BF
            : b < 0xc2
              ? INVALID
              : b < 0xe0
                ? LEAD2
                : b === 0xe0
                  ? LEAD_E0
                  : b === 0xed
                    ? LEAD_ED
                    : b < 0xf0
                      ? LEAD3
                      : b === 0xf0
                        ? LEAD_F0
                        : b < 0xf4
                          ? LEAD4
                          : b === 0xf4
                            ? LEAD_F4
                            : INVALID;
}

/** next state = transitions[state * CLASSES + class]; everything not listed rejects. */
const transitions = new Uint8Array(STATES * CLASSES).fill(UTF8_REJECT);
function allow(state: number, classes: number[], next: number): void {
  for (const c of classes) transitions[state * CLASSES + c] = next;
}
const ANY_CONT = [CONT_80_8F, CONT_90_9F, CONT_A0_BF];
allow(UTF8_ACCEPT, [ASCII], UTF8_ACCEPT);
allow(UTF8_ACCEPT, [LEAD2], NEED1);
allow(UTF8_ACCEPT, [LEAD_E0], AFTER_E0);
allow(UTF8_ACCEPT, [LEAD3], NEED2);
allow(UTF8_ACCEPT, [LEAD_ED], AFTER_ED);
allow(UTF8_ACCEPT, [LEAD_F0], AFTER_F0);
allow(UTF8_ACCEPT, [LEAD4], NEED3);
allow(UTF8_ACCEPT, [LEAD_F4], AFTER_F4);
allow(NEED1, ANY_CONT, UTF8_ACCEPT);
allow(NEED2, ANY_CONT, NEED1);
allow(NEED3, ANY_CONT, NEED2);
allow(AFTER_E0, [CONT_A0_BF], NEED1);
allow(AFTER_ED, [CONT_80_8F, CONT_90_9F], NEED1);
allow(AFTER_F0, [CONT_90_9F, CONT_A0_BF], NEED2);
allow(AFTER_F4, [CONT_80_8F], NEED2);

/**
 * Takes in the next `bytes` of a text, starting in `state` (UTF8_ACCEPT at the start of a message), and
 * returns the state after them: UTF8_REJECT as soon as the text cannot be valid, UTF8_ACCEPT when they
 * end on a character boundary, another state when a character continues in the next piece.
 */
export function continueUtf8(state: number, bytes: Buffer): number {
  const length = bytes.length;
  let i = 0;
  // Finish a character left open by the previous piece.
  while (state > UTF8_REJECT && i < length) state = step(state, bytes[i++] as number);
  if (state !== UTF8_ACCEPT || i === length) return state;
  if (isUtf8(i === 0 ? bytes : bytes.subarray(i))) return UTF8_ACCEPT;
  // Invalid, or only cut off mid-character at the end: the state machine tells which.
  for (; i < length; i++) {
    state = step(state, bytes[i] as number);
    if (state === UTF8_REJECT) return UTF8_REJECT;
  }
  return state;
}

function step(state: number, byte: number): number {
  return transitions[state * CLASSES + (byteClass[byte] as number)] as number;
}
