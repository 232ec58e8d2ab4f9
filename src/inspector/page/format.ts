// Words and numbers as the page shows them: states in a fixed order, durations, times.

/** The reported states, in the order of an actor's life; their colours are in app.css (`.st-<state>`). */
export const STATES = ['spawning', 'healthy', 'degraded', 'recovering', 'failed', 'stopping', 'stopped'] as const;

export function stateClass(state: string): string {
  return (STATES as readonly string[]).includes(state) ? `st-${state}` : 'st-unknown';
}

/** 950 ms, 12 s, 3 m 04 s, 2 h 05 m, 3 d 4 h. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(s % 60).padStart(2, '0')} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${String(m % 60).padStart(2, '0')} m`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Short duration for axes and rows: 45s, 12m, 3h, 2d. */
export function shortDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export type TimeMode = 'relative' | 'absolute';

export function clock(at: number, withMs = false): string {
  const d = new Date(at);
  const hms = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return withMs ? `${hms}.${String(d.getMilliseconds()).padStart(3, '0')}` : hms;
}

/** A moment as the chosen time mode says: `3 m 04 s ago` or `14:03:07.120`. */
export function when(at: number, now: number, mode: TimeMode): string {
  return mode === 'relative' ? `${duration(now - at)} ago` : clock(at, true);
}

export function megabytes(mb: number | null | undefined): string {
  if (mb === null || mb === undefined || !Number.isFinite(mb)) return '– MB';
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${Math.round(mb)} MB`;
}
