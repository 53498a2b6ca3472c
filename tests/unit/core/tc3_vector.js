// Produces the TC3-HMAC-SHA256 vector that tc3_test.cpp checks, with the official
// tencentcloud-sdk-nodejs doing all the signing. Nothing here reimplements the algorithm:
// the request goes through the SDK's own TatClient and HttpConnection, and only the last
// step (the network call) is replaced by a stub that records what would have been sent.
//
// Run:   NODE_PATH=/path/to/node_modules node tests/unit/core/tc3_vector.js
// Copy the printed values into tc3_test.cpp when the SDK's signing changes.
"use strict";

// A fixed clock, one second before a UTC midnight, so that a verifier taking the credential
// date from local time instead of UTC fails the vector.
const kFixedMs = 1732579199 * 1000;  // 2024-11-25T23:59:59Z
const RealDate = Date;
globalThis.Date = class extends RealDate {
  constructor(...args) {
    if (args.length === 0) {
      super(kFixedMs);
    } else {
      super(...args);
    }
  }
  static now() {
    return kFixedMs;
  }
};

const fetchModule = require("tencentcloud-sdk-nodejs/tencentcloud/common/http/fetch");
let captured = null;
fetchModule.default = async (url, config) => {
  captured = { url, config };
  return {
    status: 200,
    headers: { get: () => null },
    json: async () => ({ Response: { RequestId: "00000000-0000-4000-8000-000000000000" } }),
  };
};

const { Client } = require("tencentcloud-sdk-nodejs/tencentcloud/services/tat/v20201028/tat_client");

async function main() {
  const client = new Client({
    credential: {
      secretId: "AKIDferryTESTvector0000000000000000",
      secretKey: "ferryTESTvectorSecretKey00000000",
    },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: "tat.ferry.test:8443", protocol: "http://" } },
  });
  await client.RunCommand({
    Content: Buffer.from("echo hello").toString("base64"),
    InstanceIds: ["ins-12345678"],
    Description: "说明",
    Timeout: 60,
  });
  const h = captured.config.headers;
  const out = {
    url: captured.url,
    method: captured.config.method,
    host: h.Host,
    content_type: h["Content-Type"],
    action: h["X-TC-Action"],
    version: h["X-TC-Version"],
    region: h["X-TC-Region"],
    timestamp: h["X-TC-Timestamp"],
    body: captured.config.body,
    body_utf8_hex: Buffer.from(captured.config.body, "utf8").toString("hex"),
    authorization: h.Authorization,
  };
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
