/**
 * Fair shares of a bounded resource that strangers can claim: connections in
 * their handshake, and connections being turned away.
 *
 * A plain cap ("at most 32 at once; refuse the rest") lets one address that
 * opens connections and stalls keep everyone else out. So, as OpenSSH does
 * with `PerSourceMaxStartups`, each source address has a cap of its own, and
 * a newcomer is never the one refused: when its source is at its cap, that
 * source's oldest entry is evicted; when everything is taken, the oldest
 * entry of the source holding the most is. A client from an address of its
 * own therefore always gets a place, and keeps it unless the pool is shared
 * out one entry per source: a stranger's stalled connections can only crowd
 * out each other.
 *
 * Sources are IPv4 addresses, and IPv6 /64 networks (what one machine, or
 * one customer of a provider, usually has to itself).
 *
 * @module
 */

import { parseIp } from "./address.ts";

/** Options for {@linkcode Admission}. */
export interface AdmissionOptions {
  /** Most entries at once. */
  max: number;
  /** Most entries from one source at once; `max` when not given. */
  maxPerSource?: number;
}

/** A place taken in an {@linkcode Admission}: release it when the work is done. */
export interface Place extends Disposable {
  /** Gives the place back; calling it again, or after an eviction, does nothing. */
  release(): void;
}

interface Entry {
  source: string;
  evict: () => void;
}

/** Admits everyone, evicting the longest-held places of the heaviest sources when full. */
export class Admission {
  #max: number;
  #maxPerSource: number;
  /** Every entry, oldest first. */
  #entries = new Set<Entry>();
  /** The entries of each source, oldest first. */
  #bySource = new Map<string, Set<Entry>>();
  #evictions = 0;

  /** Creates an empty pool. */
  constructor(options: AdmissionOptions) {
    const perSource = options.maxPerSource ?? options.max;
    if (!(options.max >= 1) || !(perSource >= 1)) throw new RangeError("max and maxPerSource must be at least 1");
    this.#max = options.max;
    this.#maxPerSource = Math.min(perSource, options.max);
  }

  /** Places taken now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Places evicted so far, in all. */
  get evictions(): number {
    return this.#evictions;
  }

  /** Places taken now by `source`. */
  countFrom(source: string): number {
    return this.#bySource.get(source)?.size ?? 0;
  }

  /**
   * Takes a place for `source`, evicting another first when there is no
   * room: `evict` is called (at once, synchronously) if this place is taken
   * away in turn, and the place is then free.
   */
  admit(source: string, evict: () => void): Place {
    const same = this.#bySource.get(source);
    if (same !== undefined && same.size >= this.#maxPerSource) this.#evict(first(same));
    else if (this.#entries.size >= this.#max) this.#evict(this.#oldestOfHeaviest());
    const entry: Entry = { source, evict };
    this.#entries.add(entry);
    const group = this.#bySource.get(source) ?? new Set();
    group.add(entry);
    this.#bySource.set(source, group);
    const release = () => this.#remove(entry);
    return { release, [Symbol.dispose]: release };
  }

  #evict(entry: Entry): void {
    this.#remove(entry);
    this.#evictions++;
    entry.evict();
  }

  #remove(entry: Entry): void {
    if (!this.#entries.delete(entry)) return;
    const group = this.#bySource.get(entry.source)!;
    group.delete(entry);
    if (group.size === 0) this.#bySource.delete(entry.source);
  }

  /** The oldest entry of the source with the most; among equals, the source whose oldest is oldest. */
  #oldestOfHeaviest(): Entry {
    let heaviest: Set<Entry> | undefined;
    // Groups are scanned in the order of their oldest entry, so the first of equals wins.
    for (const entry of this.#entries) {
      const group = this.#bySource.get(entry.source)!;
      if (heaviest === undefined || group.size > heaviest.size) heaviest = group;
    }
    return first(heaviest!);
  }
}

/**
 * The source a remote address counts for: an IPv4 address (IPv4-mapped IPv6
 * included) as it is, an IPv6 address as its /64 network.
 */
export function sourceOf(addr: Deno.Addr): string {
  if (!("hostname" in addr)) return addr.transport;
  const ip = parseIp(addr.hostname);
  if (ip === undefined) return addr.hostname;
  if (ip.length === 4) return ip.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((ip[i] << 8) | ip[i + 1]).toString(16));
  // The URL parser writes the network in its canonical, shortest form.
  return `${new URL(`http://[${groups.join(":")}::]/`).hostname.slice(1, -1)}/64`;
}

function first<T>(set: Set<T>): T {
  return set.values().next().value!;
}
