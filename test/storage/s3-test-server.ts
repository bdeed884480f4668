import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** s3rver's fixed key pair (it checks signatures against it). */
export const S3RVER_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface TestS3 {
  endpoint: string;
  /** Every request the server received, as `METHOD path?query`. */
  requests: string[];
  /** Requests that fetched object bodies (GET of a key, not a listing). */
  objectGets(): string[];
  put(bucket: string, key: string, body: Buffer | string): Promise<void>;
  close(): Promise<void>;
}

/** A real S3-compatible server (s3rver, files on disk) on a free port. */
export async function startS3(buckets: string[] = ['models']): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'inferd-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  const requests: string[] = [];
  server.httpServer!.on('request', (req: { method?: string; url?: string }) => requests.push(`${req.method} ${req.url}`));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_KEY });
  return {
    endpoint,
    requests,
    objectGets: () => requests.filter((r) => r.startsWith('GET ') && !/[?&](list-type|prefix|delimiter)=/.test(r) && !/^GET \/[^/?]+\/?(\?|$)/.test(r)),
    async put(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

