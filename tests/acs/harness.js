'use strict';
// What the Cloud Assistant tests share: a real ferry-server on loopback with one credential
// (tests/sdk/ferry_server.js), the official Alibaba Cloud SDKs pointed at it unchanged (the
// current @alicloud/ecs20140526 client, signing ACS3 or its "v2" signature v1, and the older
// @alicloud/pop-core over GET or POST), and the checks and summary of tests/sdk/harness.js.
// Action tests add sections of their own: const h = require('./harness'); h.run(async () => {
// const s = await h.startServer(); const ecs = h.ecsClient(s); ... }, () => h.killAll()).

const fs = require('node:fs');
const path = require('node:path');

const sdkHarness = require('../sdk/harness');
const { FerryServer } = require('../sdk/ferry_server');

const MODULES = path.join(__dirname, 'node_modules');
const CREDENTIALS = { secretId: 'LTAIferryACStest0001', secretKey: 'ferryACSsecretKey0000000000000000' };

function refuse(message) {
  console.error(`acs tests: ${message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// The SDKs, and the ferry-server binary from FERRY_SERVER; a run without them fails at once and
// says why.
function setUp() {
  for (const pkg of ['@alicloud/ecs20140526', '@alicloud/pop-core']) {
    if (!fs.existsSync(path.join(MODULES, pkg, 'package.json'))) {
      refuse(
        `tests/acs/node_modules lacks ${pkg}.\n` +
          'Run scripts/test, or: npm ci --prefix tests/acs --no-audit --no-fund',
      );
    }
  }
  const binary = process.env.FERRY_SERVER;
  if (!binary || !fs.existsSync(binary)) {
    refuse(`set FERRY_SERVER to the ferry-server binary (got '${binary || ''}')`);
  }
  // The SDKs' HTTP goes through a proxy when one is set; the server is on loopback.
  for (const v of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY']) delete process.env[v];
  return { binary };
}

const started = [];

// A ferry-server with the test credential and `config` (server.json), started and listening.
async function startServer(config = {}) {
  const { binary } = setUp();
  const server = new FerryServer(binary, { ...CREDENTIALS, config });
  started.push(server);
  await server.start();
  return server;
}

const killAll = () => started.forEach((s) => s.kill());

async function stopAll() {
  await Promise.all(started.map((s) => s.stop()));
}

// The current SDK's EcsClient. `signatureAlgorithm`: undefined for ACS3-HMAC-SHA256 (the
// default), 'v2' for signature v1. `credentials` overrides the server's.
function ecsClient(server, { signatureAlgorithm, accessKeyId, accessKeySecret } = {}) {
  const { Config } = require(path.join(MODULES, '@alicloud/openapi-core/dist/utils'));
  const Ecs = require(path.join(MODULES, '@alicloud/ecs20140526'));
  const config = new Config({
    accessKeyId: accessKeyId || CREDENTIALS.secretId,
    accessKeySecret: accessKeySecret || CREDENTIALS.secretKey,
    endpoint: `127.0.0.1:${server.port}`,
    protocol: 'http',
    regionId: 'cn-hangzhou',
  });
  if (signatureAlgorithm) config.signatureAlgorithm = signatureAlgorithm;
  return { client: new Ecs.default(config), Ecs };
}

// pop-core's RPCClient; request(action, params, { method: 'GET' | 'POST' }).
function popClient(server, { accessKeyId, accessKeySecret } = {}) {
  const RPCClient = require(path.join(MODULES, '@alicloud/pop-core'));
  return new RPCClient({
    accessKeyId: accessKeyId || CREDENTIALS.secretId,
    accessKeySecret: accessKeySecret || CREDENTIALS.secretKey,
    endpoint: `http://127.0.0.1:${server.port}`,
    apiVersion: '2014-05-26',
  });
}

// The error code an SDK call failed with: the current SDK's error has `code`, pop-core's too
// (and `data`, the body). Throws when the call succeeded.
async function errorCode(promise) {
  try {
    await promise;
  } catch (e) {
    return { code: e.code, statusCode: e.statusCode, data: e.data, message: e.message };
  }
  throw new Error('the call succeeded');
}

module.exports = {
  CREDENTIALS,
  setUp,
  startServer,
  killAll,
  stopAll,
  ecsClient,
  popClient,
  errorCode,
  check: sdkHarness.check,
  section: sdkHarness.section,
  run: sdkHarness.run,
  sleep: sdkHarness.sleep,
};
