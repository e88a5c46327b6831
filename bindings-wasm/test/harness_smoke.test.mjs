// Proves the JavaScript side of the test harness: MinIO is reachable and accepts a SigV4
// signed request made with aws4fetch (the same fetch-only world the wasm binding lives in).
import { test } from "node:test";
import assert from "node:assert/strict";
import { AwsClient } from "aws4fetch";
import { minio, freshBucketName } from "./harness.mjs";

test("MinIO harness answers signed requests", async () => {
  const m = await minio();
  const aws = new AwsClient({
    accessKeyId: m.accessKeyId,
    secretAccessKey: m.secretAccessKey,
    region: m.region,
    service: "s3",
  });
  const bucket = `${m.endpoint}/${freshBucketName()}`;

  const created = await aws.fetch(bucket, { method: "PUT" });
  assert.equal(created.status, 200, await created.text());

  const put = await aws.fetch(`${bucket}/hello.txt`, { method: "PUT", body: "hello s3keep" });
  assert.equal(put.status, 200, await put.text());

  const list = await aws.fetch(`${bucket}?list-type=2`);
  const xml = await list.text();
  assert.equal(list.status, 200, xml);
  assert.match(xml, /<Key>hello\.txt<\/Key>/);
  assert.match(xml, /<KeyCount>1<\/KeyCount>/);

  // A wrong secret must be refused: the server really checks signatures.
  const bad = new AwsClient({
    accessKeyId: m.accessKeyId,
    secretAccessKey: "wrong-secret",
    region: m.region,
    service: "s3",
  });
  const refused = await bad.fetch(`${bucket}?list-type=2`);
  assert.equal(refused.status, 403, await refused.text());
});
