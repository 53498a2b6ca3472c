// Produces the Alibaba Cloud signature vectors that acs_signature_test.cpp checks, with the
// official SDKs doing all the signing: @alicloud/ecs20140526 (over @alicloud/openapi-core) for
// ACS3-HMAC-SHA256 and for its signature v1 (signatureAlgorithm "v2"), and @alicloud/pop-core
// for signature v1 over GET and POST. Nothing here reimplements an algorithm: each request goes
// through the SDK's own client, and only the network call is replaced by a stub that records
// what would have been sent.
//
// Run:   NODE_PATH=tests/acs/node_modules node tests/unit/core/acs_vector.js
// Copy the printed values into acs_signature_test.cpp when the SDKs' signing changes.
"use strict";

// A fixed clock, so that the timestamps in the vectors are stable.
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

const { Readable } = require("stream");
const daraCore = require("@darabonba/typescript/dist/core");
let captured = null;
daraCore.doAction = async (request) => {
  captured = request;
  return {
    statusCode: 200,
    statusMessage: "OK",
    headers: {},
    body: Readable.from([Buffer.from('{"RequestId":"00000000-0000-4000-8000-000000000000"}')]),
  };
};

const httpx = require("httpx");
let capturedPop = null;
httpx.request = async (url, opts) => {
  capturedPop = { url, opts };
  return { statusCode: 200, headers: {}, req: { getHeaders: () => opts.headers } };
};
httpx.read = async () => Buffer.from('{"RequestId":"00000000-0000-4000-8000-000000000000"}');

const { Config } = require("@alicloud/openapi-core/dist/utils");
const Ecs = require("@alicloud/ecs20140526");
const RPCClient = require("@alicloud/pop-core");

const kAccessKeyId = "LTAIferryTESTvector00000";
const kAccessKeySecret = "ferryTESTvectorSecret0000000000";

function ecsClient(signatureAlgorithm) {
  const config = new Config({
    accessKeyId: kAccessKeyId,
    accessKeySecret: kAccessKeySecret,
    endpoint: "ecs.ferry.test:8443",
    protocol: "http",
    regionId: "cn-hangzhou",
  });
  if (signatureAlgorithm) {
    config.signatureAlgorithm = signatureAlgorithm;
  }
  return new Ecs.default(config);
}

function runCommandRequest() {
  // Characters that RFC 3986 encoding treats differently from other encoders: space, '*', '~',
  // '!', quotes, parentheses, '+', '/', '=', '&' and UTF-8.
  return new Ecs.RunCommandRequest({
    regionId: "cn-hangzhou",
    type: "RunShellScript",
    commandContent: "echo 'a b' * ~/x! (y) +z=1&w \u8bf4\u660e",
    instanceId: ["i-ferry0001", "i-ferry0002"],
    tag: [new Ecs.RunCommandRequestTag({ key: "team", value: "ops" })],
    parameters: { name: "v" },
    timeout: 60,
  });
}

function sdkRequest(r) {
  return {
    method: r.method,
    pathname: r.pathname,
    headers: r.headers,
    query: r.query,
    body: r.body ? r.body.read().toString("utf8") : "",
  };
}

async function main() {
  const out = {};
  await ecsClient(null).runCommand(runCommandRequest());
  out.acs3 = sdkRequest(captured);
  await ecsClient("v2").runCommand(runCommandRequest());
  out.ecs_v1 = sdkRequest(captured);
  const pop = new RPCClient({
    accessKeyId: kAccessKeyId,
    accessKeySecret: kAccessKeySecret,
    endpoint: "http://ecs.ferry.test:8443",
    apiVersion: "2014-05-26",
  });
  const popParams = {
    RegionId: "cn-hangzhou",
    CommandContent: "echo 'a b' * ~/x! (y) +z=1&w \u8bf4\u660e",
    "InstanceId.1": "i-ferry0001",
  };
  await pop.request("RunCommand", popParams, { method: "GET" });
  out.pop_get = { url: capturedPop.url, headers: capturedPop.opts.headers };
  await pop.request("RunCommand", popParams, { method: "POST" });
  out.pop_post = {
    url: capturedPop.url,
    headers: capturedPop.opts.headers,
    body: capturedPop.opts.data,
  };
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
