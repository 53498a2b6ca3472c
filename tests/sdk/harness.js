'use strict';
// What the SDK tests share: the official SDK and the binaries they need, checks counted and
// reported one line each, a few codecs, bounded polling, and the SDK's TatClient paced the way a
// well-behaved caller paces itself.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const SDK_DIR = path.join(__dirname, 'node_modules', 'tencentcloud-sdk-nodejs');

// --- what a run needs ------------------------------------------------------------------------

function refuse(test, message) {
  console.error(`${test}: ${message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// The SDK's TatClient and version, and the binaries named by the environment: {FERRY_SERVER:
// 'ferry-server', ...} gives {FERRY_SERVER: path, ...}. A run without them fails at once and
// says why.
function setUp(test, binaries) {
  if (!fs.existsSync(path.join(SDK_DIR, 'package.json'))) {
    refuse(
      test,
      'tests/sdk/node_modules is missing (the official Node SDK is not installed).\n' +
        'Run scripts/test, or: npm ci --prefix tests/sdk --no-audit --no-fund',
    );
  }
  const found = {};
  for (const [name, what] of Object.entries(binaries)) {
    const value = process.env[name];
    if (!value || !fs.existsSync(value)) {
      refuse(test, `set ${name} to the ${what} binary (got '${value || ''}')`);
    }
    found[name] = value;
  }
  // The SDK's fetch goes through http_proxy when set; the server is on loopback.
  for (const v of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY']) delete process.env[v];
  const tencentcloud = require('tencentcloud-sdk-nodejs');
  return {
    TatClient: tencentcloud.tat.v20201028.Client,
    sdkVersion: require(path.join(SDK_DIR, 'package.json')).version,
    ...found,
  };
}

// Upper bounds on elapsed time are checked only without sanitizers (FERRY_SANITIZED=1, set by
// tests/sdk/CMakeLists.txt for the asan preset), which slow the server and the agent several
// times over. The bounds that stay are the point of their check: a timeout that must fire, a
// cancel that must not wait.
const CHECK_TIME_BOUNDS = process.env.FERRY_SANITIZED !== '1';

// --- checks ----------------------------------------------------------------------------------

let passed = 0;
let failed = 0;
const failures = [];

function pass(name) {
  passed += 1;
  console.log(`ok ${passed + failed} - ${name}`);
}

function fail(name, e) {
  failed += 1;
  const msg = e && e.message ? e.message : String(e);
  failures.push(`${name}: ${msg}`);
  console.log(`not ok ${passed + failed} - ${name}\n  ${msg.split('\n').join('\n  ')}`);
}

// An SDK error says its code; an assertion says what it compared.
function described(e) {
  return e && e.code && !(e instanceof assert.AssertionError)
    ? new Error(`${e.code}: ${e.message}`)
    : e;
}

// A check: `fn` asserts (sync or async). A failure is counted and the run goes on.
async function check(name, fn) {
  try {
    await fn();
    pass(name);
    return true;
  } catch (e) {
    fail(name, described(e));
    return false;
  }
}

// A check of an upper bound on elapsed time; left out under sanitizers (CHECK_TIME_BOUNDS).
async function checkTimeBound(name, fn) {
  if (!CHECK_TIME_BOUNDS) {
    console.log(`# not checked under sanitizers: ${name}`);
    return true;
  }
  return check(name, fn);
}

// A section runs checks that build on each other; an unexpected throw (an SDK call that failed)
// counts as one failure and the next section runs.
async function section(name, fn) {
  console.log(`# ${name}`);
  try {
    await fn();
  } catch (e) {
    fail(`${name}: aborted`, described(e));
  }
}

const anyFailed = () => failed > 0;

// Runs `main`, then prints the failures and "N passed, N failed" and sets the exit code. On
// ctest's timeout or a Ctrl-C, `onInterrupt` (which kills what the run started) comes first.
function run(main, onInterrupt) {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      onInterrupt();
      console.log(`${passed} passed, ${failed + 1} failed`);
      process.exit(1);
    });
  }
  main()
    .catch((e) => fail('the run', e))
    .finally(() => {
      if (failures.length) {
        console.log(`# failures:\n#   ${failures.join('\n#   ')}`);
      }
      console.log(`${passed} passed, ${failed} failed`);
      process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
    });
}

// --- values ----------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s) => Buffer.from(s, 'base64').toString('utf8');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The region both tests' servers serve (their RegionSet entry).
const GUANGZHOU = {
  Region: 'ap-guangzhou',
  RegionName: 'South China(Guangzhou)',
  RegionState: 'AVAILABLE',
};

// Invoker times. The server shows them in UTC, whole seconds ("2026-12-07T03:00:00Z"); the tests
// give them with an offset ("2026-12-07T11:00:00+08:00"), as RFC 3339 allows.
const zTime = (ms) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
function offsetTime(ms, offsetMinutes) {
  const local = new Date(ms + offsetMinutes * 60000).toISOString().slice(0, 19);
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${offsetMinutes < 0 ? '-' : '+'}${hh}:${mm}`;
}
// The first whole second at least `aheadMs` from now: a ONCE invoker's time.
const wholeSecondAhead = (aheadMs) => Math.ceil((Date.now() + aheadMs) / 1000) * 1000;

// Polls `probe` until it returns a truthy value, which it returns; bounded. `last` (optional)
// describes the last value seen, for the timeout message.
async function waitFor(what, probe, timeoutMs = 5000, intervalMs = 100, last = () => '') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) {
      const seen = last();
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${seen ? `; ${seen}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}

// --- clients ---------------------------------------------------------------------------------

// The server allows 20 requests per second per SecretId and action (the documented TAT limit,
// the server's default). The test clients keep to it the way a well-behaved caller does: at
// most PACE calls of one action in any second. performance.now(), not Date: a clock test
// replaces Date.
const PACE = 18;
const recentCalls = new Map(); // "SecretId/Action" -> times of the calls in the last second

async function pace(key) {
  const times = recentCalls.get(key) || [];
  recentCalls.set(key, times);
  for (;;) {
    const now = performance.now();
    while (times.length && now - times[0] >= 1000) times.shift();
    if (times.length < PACE) {
      times.push(now);
      return;
    }
    await sleep(1000 - (now - times[0]) + 1);
  }
}

// The SDK's TatClient, unchanged but for its endpoint ("127.0.0.1:PORT") and protocol.
function rawClient(TatClient, endpoint, { secretId, secretKey, region }) {
  return new TatClient({
    credential: { secretId, secretKey },
    region,
    profile: { httpProfile: { endpoint, protocol: 'http://', reqTimeout: 30 } },
  });
}

// A rawClient whose action methods (and the generic request) wait for their turn first; the
// calls themselves are the SDK's, unchanged.
function makeClient(TatClient, endpoint, credentials) {
  const client = rawClient(TatClient, endpoint, credentials);
  const { secretId } = credentials;
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'request') {
        return async (action, ...rest) => {
          await pace(`${secretId}/${action}`);
          return value.call(target, action, ...rest);
        };
      }
      if (typeof prop === 'string' && /^[A-Z]/.test(prop)) {
        return async (...args) => {
          await pace(`${secretId}/${prop}`);
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
}

// --- tasks -----------------------------------------------------------------------------------

// The one task of an invocation, through DescribeInvocationTasks.
async function taskOf(tat, invocationId, hideOutput = true) {
  const r = await tat.DescribeInvocationTasks({
    Filters: [{ Name: 'invocation-id', Values: [invocationId] }],
    HideOutput: hideOutput,
  });
  assert.equal(r.TotalCount, 1, `one task for ${invocationId}`);
  return r.InvocationTaskSet[0];
}

async function invocationOf(tat, invocationId) {
  const r = await tat.DescribeInvocations({ InvocationIds: [invocationId] });
  assert.equal(r.TotalCount, 1, `the invocation ${invocationId}`);
  return r.InvocationSet[0];
}

// The task as a timeout message shows it.
const describeTask = (t) =>
  t
    ? `last seen ${t.TaskStatus}, ExitCode ${t.TaskResult.ExitCode}, ` +
      `Output ${JSON.stringify(unb64(t.TaskResult.Output).slice(0, 200))}, ` +
      `ErrorInfo ${JSON.stringify(t.ErrorInfo)}`
    : '';

// Polls the task (its output included) until `pred(task)` holds; the task. On timeout the
// message says what was seen last.
async function taskWhen(tat, invocationId, what, pred, timeoutMs, intervalMs = 100) {
  let t = null;
  return waitFor(
    what,
    async () => {
      t = await taskOf(tat, invocationId, false);
      return pred(t) ? t : null;
    },
    timeoutMs,
    intervalMs,
    () => describeTask(t),
  );
}

// --- invokers --------------------------------------------------------------------------------

// Every record of DescribeInvokerRecords(`fields`), page by page (`limit` a page, 100 at most);
// checks that each page says the same TotalCount and that the pages add up to it.
async function allInvokerRecords(tat, fields = {}, limit = 100) {
  const records = [];
  let total = null;
  for (let offset = 0; total === null || offset < total; offset += limit) {
    const r = await tat.DescribeInvokerRecords({ ...fields, Offset: offset, Limit: limit });
    if (total !== null) assert.equal(r.TotalCount, total, 'TotalCount is the same on every page');
    total = r.TotalCount;
    assert.ok(r.InvokerRecordSet.length <= limit, `at most ${limit} on a page`);
    if (offset < total) assert.ok(r.InvokerRecordSet.length > 0, `a page at offset ${offset}`);
    records.push(...r.InvokerRecordSet);
  }
  assert.equal(records.length, total, 'the pages hold TotalCount records');
  return records;
}

// The one invoker `id`, through DescribeInvokers.
async function invokerOf(tat, id) {
  const r = await tat.DescribeInvokers({ InvokerIds: [id] });
  assert.equal(r.TotalCount, 1, `the invoker ${id}`);
  return r.InvokerSet[0];
}

// --- the server ------------------------------------------------------------------------------

// Starts the server: the check "ferry-server starts" passes or fails (with the server's last
// log lines). Whether it is up.
async function startServer(server, sdkVersion) {
  try {
    await server.start();
  } catch (e) {
    fail('ferry-server starts', new Error(`${e.message}\n${server.logTail()}`));
    server.kill();
    return false;
  }
  pass(`ferry-server starts (${server.url}), SDK tencentcloud-sdk-nodejs ${sdkVersion}`);
  return true;
}

// Starts one more server of the run (another on a shared data dir, or one again on the data dir
// it kept): the check "`label` starts" passes or fails (with its last log lines). Whether it is
// up.
async function startAnotherServer(server, label) {
  return check(`${label} starts`, async () => {
    try {
      await server.start();
    } catch (e) {
      server.kill();
      throw new Error(`${e.message}\n${server.logTail()}`);
    }
  });
}

// Stops the server with SIGTERM: it must exit 0. After a failed run its last log lines follow.
// `label` names it when a test runs several; `keepData` keeps its data dir to start it again.
async function stopServer(server, { label = 'ferry-server', keepData = false } = {}) {
  const status = await server.stop(5000, { keepData });
  await check(`${label} stops on SIGTERM with status 0`, () => {
    assert.deepEqual(status, { code: 0, signal: null });
  });
  if (anyFailed()) {
    console.log(`# ${label} log (last lines):\n${server.logTail()}`);
  }
}

module.exports = {
  setUp,
  check,
  checkTimeBound,
  pass,
  fail,
  section,
  anyFailed,
  run,
  UUID,
  RFC3339,
  b64,
  unb64,
  sleep,
  GUANGZHOU,
  zTime,
  offsetTime,
  wholeSecondAhead,
  waitFor,
  rawClient,
  makeClient,
  taskOf,
  invocationOf,
  taskWhen,
  allInvokerRecords,
  invokerOf,
  startServer,
  startAnotherServer,
  stopServer,
};
