/**
 * Counting a process's open file descriptors (Linux /proc), to prove that connections are released:
 * every socket the bridge keeps is one descriptor.
 */
import { readdirSync } from 'node:fs';

/** How many descriptors process `pid` has open (this process by default). */
export function openFds(pid: number = process.pid): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
