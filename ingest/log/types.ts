// The durable log at the centre of ingest (issue "One durable log at the centre"). The broker's
// publish hook appends each raw publish and acknowledges it once the append is durable; everything
// after that (validation, quality, the InfluxDB writer, alerts, the live stream, rollups) is a
// consumer that reads the log in order from its own durable checkpoint.
//
// Two implementations share these interfaces: the file log (ingest/log/file-log.ts: segments, CRC,
// group commit with fdatasync, on the broker's machine) and, in cluster mode, a NATS JetStream
// stream (replicated). Consumers only see LogReader and CheckpointStore, so they do not change
// when the log does.

/** A place in the log. Ordered: a later record has a larger position. Opaque to consumers. */
export type LogPosition = number;

/** One MQTT publish as the broker received it, before any validation. */
export interface RawPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1;
  /** The authenticated gateway of the publishing client (undefined when anonymous). */
  readonly gatewayId?: string | undefined;
  readonly clientId?: string | undefined;
  /** When the broker received it, epoch ms. */
  readonly receivedAt: number;
}

export interface LogEntry {
  /** Where the record starts. */
  readonly position: LogPosition;
  /** Where the next record starts: the checkpoint to save once this record is done with. */
  readonly next: LogPosition;
  /**
   * The record's body as appended (ingest/log/records.ts: a publish, a clock tick or an officer's
   * command); decodeRecord() reads it. A view that the next read may reuse: copy what you keep.
   */
  readonly body: Buffer;
}

/** The producer side, on the broker's thread (file log) or an edge (JetStream). */
export interface LogAppender {
  /**
   * Resolves once the record is durable (file: fdatasync'd; JetStream: stored on a quorum), with a
   * position at or after the record's end.
   */
  append(publish: RawPublish): Promise<LogPosition>;
  /** At or past the log's bound: the caller holds the acknowledgement until waitForSpace(). */
  isFull(): boolean;
  waitForSpace(): Promise<void>;
  close(): Promise<void>;
}

/** The consumer side: reads committed records in order. */
export interface LogReader {
  /** The oldest position still held. */
  start(): LogPosition;
  /** The end of what is committed (durable) so far. */
  end(): LogPosition;
  /** Up to maxRecords committed records from `from` (a position returned earlier as `next`). */
  read(from: LogPosition, maxRecords: number): Promise<{ entries: LogEntry[]; next: LogPosition }>;
  /** Resolves once end() > position (or at once when it is already), or when the reader closes. */
  waitBeyond(position: LogPosition): Promise<void>;
}

/** Named consumers' checkpoints: durable, one per consumer. */
export interface CheckpointStore {
  load(consumer: string): Promise<LogPosition | undefined>;
  /** Durable when it resolves. */
  save(consumer: string, position: LogPosition): Promise<void>;
}
