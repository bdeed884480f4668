/** Bounds of every remote storage operation, in seconds (config `storage.timeouts`). */
export interface StorageTimeouts {
  connectSeconds: number;
  /** No bytes (or no response) for this long fails the attempt. */
  idleSeconds: number;
  /** Whole resolve (listing, every retry, every file); then the model fails. */
  totalSeconds: number;
}

export const DEFAULT_STORAGE_TIMEOUTS: Readonly<StorageTimeouts> = { connectSeconds: 10, idleSeconds: 60, totalSeconds: 3600 };
