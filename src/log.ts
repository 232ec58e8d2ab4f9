// The runtime's logger: pino JSON lines on stderr (pretty when a person watches a TTY), and a
// tap that hands info-and-above lines to `log` subscribers of the control channel.
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogLine = Record<string, unknown> & { level: number; time: number; msg?: string };
export type LogTap = EventEmitter<{ line: [LogLine] }>;

export interface LoggerOptions {
  level?: string;
  /** Receives every line at info level and above. */
  tap?: LogTap;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.TABVISOR_LOG_LEVEL ?? 'info';
  const out = process.stderr.isTTY ? pretty({ destination: 2, colorize: true, sync: true }) : pino.destination({ dest: 2, sync: false });
  const streams: pino.StreamEntry[] = [{ level: level as pino.Level, stream: out }];
  const tap = options.tap;
  if (tap) {
    streams.push({
      level: 'info',
      stream: {
        write(chunk: string) {
          // Parse only when somebody listens: the hot path stays a plain write.
          if (tap.listenerCount('line') > 0) tap.emit('line', JSON.parse(chunk) as LogLine);
        },
      },
    });
  }
  return pino({ level: minLevel(level, tap ? 'info' : level) }, pino.multistream(streams));
}

/** For tests and embedding: a logger that writes nothing. */
export const silentLogger = (): Logger => pino({ level: 'silent' });

function minLevel(a: string, b: string): string {
  const values = pino.levels.values;
  return (values[a] ?? 30) <= (values[b] ?? 30) ? a : b;
}
