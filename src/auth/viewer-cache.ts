import { LRUCache } from 'lru-cache';
import type { TokenLookup } from './authenticate.js';
import type { Viewer } from './viewer.js';

/** Tokens remembered per process; past this many, the least recently used are dropped. */
export const VIEWER_CACHE_MAX = 10_000;

interface Entry {
  readonly viewer: Viewer;
  /** Epoch ms (the app's clock) from which the database must be asked again. */
  readonly until: number;
}

/**
 * Token hash → viewer on this process, so a request usually authenticates without a statement.
 * An entry stands until the token's expiry or its next touch is due (TokenLookup.until), so the
 * once-a-minute touch still happens; committed changes evict it sooner (`evict`). The raw token
 * is never kept, and a token the database refused is never remembered.
 */
export class ViewerCache {
  /** `answered` hears where each lookup of a token was answered from (for metrics). */
  constructor(private readonly answered: (from: 'cache' | 'database') => void = () => undefined) {}

  private readonly entries = new LRUCache<string, Entry>({ max: VIEWER_CACHE_MAX });
  /**
   * Advanced by every eviction: a lookup that overlapped one may have read the state from
   * before the change, so its answer is used once but not kept.
   */
  private generation = 0;
  /** Off while the event listener is down: evictions from other instances would not arrive. */
  private following = true;

  /** The cached viewer for `hash` at `now`, else `lookup`'s (kept when nothing was evicted meanwhile). */
  async resolve(hash: string, now: Date, lookup: () => Promise<TokenLookup | null>): Promise<Viewer | null> {
    const entry = this.following ? this.entries.get(hash) : undefined;
    if (entry && now.getTime() < entry.until) {
      this.answered('cache');
      return entry.viewer;
    }
    if (entry) this.entries.delete(hash);
    this.answered('database');
    const generation = this.generation;
    const found = await lookup();
    if (!found) return null;
    if (this.following && generation === this.generation) {
      this.entries.set(hash, { viewer: found.viewer, until: found.until.getTime() });
    }
    return found.viewer;
  }

  /** Drops the viewers `which` matches (their token was revoked or their user changed). */
  evict(which: (viewer: Viewer) => boolean): void {
    this.generation++;
    const gone: string[] = [];
    for (const [hash, entry] of this.entries.entries()) if (which(entry.viewer)) gone.push(hash);
    for (const hash of gone) this.entries.delete(hash);
  }

  /**
   * Whether the event listener is connected. Either way the cache starts empty: while it is
   * down every request asks the database; once back, nothing kept from before is trusted.
   */
  setFollowing(following: boolean): void {
    this.following = following;
    this.generation++;
    this.entries.clear();
  }

  /** Entries held. */
  size(): number {
    return this.entries.size;
  }
}
