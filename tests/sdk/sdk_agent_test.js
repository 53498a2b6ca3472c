#!/usr/bin/env node
'use strict';
// A real ferry-agent daemon driven through the official Tencent Cloud Node SDK
// (tencentcloud-sdk-nodejs, pinned in package.json). The test starts a ferry-server on loopback
// (ferry_server.js), makes a register code with the SDK, registers a real ferry-agent into a
// temporary state dir and runs its daemon (ferry_agent.js). From then on everything goes through
// the SDK's TatClient, unchanged: the agent runs the commands for real and the checks compare
// what the public API shows (status, exit code, decoded output) with exact values.
//
// Run by ctest (tests/sdk/CMakeLists.txt) with FERRY_SERVER and FERRY_AGENT set; by hand:
//   FERRY_SERVER=build/bin/ferry-server FERRY_AGENT=build/bin/ferry-agent \
//     node tests/sdk/sdk_agent_test.js
// Prints one line per check and "N passed, N failed" at the end; exits 1 on any failure.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');

const harness = require('./harness');

const { TatClient, sdkVersion, FERRY_SERVER, FERRY_AGENT } = harness.setUp('sdk_agent_test', {
  FERRY_SERVER: 'ferry-server',
  FERRY_AGENT: 'ferry-agent',
});
const { check, section, UUID, RFC3339, b64, unb64, waitFor, invocationOf, taskWhen } = harness;
const { zTime, offsetTime, invokerOf } = harness;
const { FerryServer } = require('./ferry_server');
const { FerryAgent } = require('./ferry_agent');

const SECRET_ID = 'AKIDferrysdkagent000000000000000';
const SECRET_KEY = 'ferrysdkagentsecretkey000000000000000000';
const ACCOUNT_ID = '100087654321';
const REGION = 'ap-guangzhou';
const NAME_PREFIX = 'sdk-agent';
const SERVER_CONFIG = {
  log_level: 'warn',
  account_id: ACCOUNT_ID,
  regions: [harness.GUANGZHOU],
  // Long enough that the agent's own TIMEOUT always comes before the server's TASK_TIMEOUT.
  task_timeout_grace_s: 30,
  sweep_interval_ms: 200,
};
// What the daemon sends in its heartbeat (agent/src/daemon.cpp).
const SUPPORT_FEATURES = [
  'ProcessTree',
  'Process',
  'Parameters',
  'Launcher',
  'LiveOutput',
  'Cancel',
];
// The cap of a task's Output, decoded (docs/protocol.md): the head and the tail, half each.
const MAX_OUTPUT = 24 * 1024;

// --- clients -------------------------------------------------------------------------------

// The SDK's TatClient, paced as a well-behaved caller (harness.js, and sdk_test.js).
const CREDENTIALS = { secretId: SECRET_ID, secretKey: SECRET_KEY, region: REGION };
const makeClient = (endpoint) => harness.makeClient(TatClient, endpoint, CREDENTIALS);

// --- task helpers --------------------------------------------------------------------------

const FINAL = new Set([
  'SUCCESS',
  'FAILED',
  'TIMEOUT',
  'TASK_TIMEOUT',
  'START_FAILED',
  'DELIVER_FAILED',
  'CANCELLED',
  'TERMINATED',
]);

// The one task of an invocation, its output included.
const taskOf = (tat, invocationId, hideOutput = false) =>
  harness.taskOf(tat, invocationId, hideOutput);

// Final: SUCCESS, FAILED, TIMEOUT, ... (FINAL).
const finalTask = (tat, invocationId, timeoutMs = 20000) =>
  taskWhen(
    tat,
    invocationId,
    `a final status of ${invocationId}`,
    (t) => FINAL.has(t.TaskStatus),
    timeoutMs,
  );

// RUNNING with exactly `output` so far.
const runningWith = (tat, invocationId, output, timeoutMs) =>
  taskWhen(
    tat,
    invocationId,
    `RUNNING with ${JSON.stringify(output)}`,
    (t) => t.TaskStatus === 'RUNNING' && unb64(t.TaskResult.Output) === output,
    timeoutMs,
  );

// RunCommand of `content` (base64) on the agent; the invocation counts among the run's tasks.
async function runOnAgent(S, content, fields = {}) {
  const run = await S.tat.RunCommand({ Content: content, InstanceIds: [S.instanceId], ...fields });
  S.tasks.push(run.InvocationId);
  return run;
}

// The check "DescribeInvocations: STATUS".
const checkInvocationStatus = (tat, invocationId, status) =>
  check(`DescribeInvocations: ${status}`, async () => {
    assert.equal((await invocationOf(tat, invocationId)).InvocationStatus, status);
  });

// What outcome() must give for a task whose whole output came back.
const expected = (TaskStatus, ExitCode, Output) => ({ TaskStatus, ExitCode, Output, Dropped: 0 });

// The task as the checks compare it: status, exit code, decoded output, dropped bytes.
const outcome = (t) => ({
  TaskStatus: t.TaskStatus,
  ExitCode: t.TaskResult.ExitCode,
  Output: unb64(t.TaskResult.Output),
  Dropped: t.TaskResult.Dropped,
});

// --- the run -------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const server = new FerryServer(FERRY_SERVER, { ...CREDENTIALS, config: SERVER_CONFIG });
  const agent = new FerryAgent(FERRY_AGENT);
  onInterrupt = () => {
    agent.kill();
    server.kill();
  };
  if (!(await harness.startServer(server, sdkVersion))) {
    agent.kill();
    return;
  }
  const tat = makeClient(`127.0.0.1:${server.port}`);
  const S = { server, agent, tat, tasks: [] }; // state shared by the sections

  try {
    await section('a real agent registers and comes online', () => registration(S));
    if (S.instanceId && S.daemonUp) {
      await section('RunCommand with parameters and built-ins', () => runCommand(S));
      await section('a failing command', () => failingCommand(S));
      await section('a command over its Timeout', () => timeoutCommand(S));
      await section('live output while the task runs', () => liveOutput(S));
      await section('CancelInvocation of a running task', () => cancelRunning(S));
      await section('InvokeCommand of a saved command', () => invokeCommand(S));
      await section('invokers: a ONCE invoker runs its command on the agent', () => invokers(S));
      await section('a large output', () => largeOutput(S));
      await section('the whole run', () => wholeRun(S));
    }
  } finally {
    if (agent.child) {
      const status = await agent.stop();
      await check('ferry-agent stops on SIGTERM with status 0', () => {
        assert.deepEqual(status, { code: 0, signal: null });
      });
      await check('the agent log shows neither the register code value nor a parameter', () => {
        assert.ok(agent.log.length > 0, 'the agent logged something');
        assert.ok(S.codeValue, 'the register code value is known');
        assert.equal(agent.log.includes(S.codeValue), false, 'the register code value');
        assert.equal(agent.log.includes(WORLD), false, 'the parameter value');
      });
    }
    if (harness.anyFailed()) {
      console.log(`# ferry-agent log (last lines):\n${agent.logTail()}`);
    }
    await harness.stopServer(server);
    agent.kill();
  }
  console.log(`# SDK agent tests took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// The address the agent registers as its LocalIp: its first non-loopback address, IPv4 first
// (agent/src/commands.cpp); '' when it has none.
function expectedLocalIps() {
  const v4 = [];
  const v6 = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) {
      if (a.internal) continue;
      if (a.family === 'IPv4' || a.family === 4) v4.push(a.address);
      else if (!/^fe[89ab]/i.test(a.address)) v6.push(a.address);
    }
  }
  return [...v4, ...v6];
}

function machineId() {
  try {
    const id = fs.readFileSync('/etc/machine-id', 'utf8').replace(/[\r\n]+$/, '');
    return id.length <= 128 ? id : '';
  } catch (_) {
    return '';
  }
}

async function registration(S) {
  const { tat, agent, server } = S;
  let version = null;
  await check('ferry-agent --version prints its version', async () => {
    version = await agent.version();
    assert.match(version, /^\d+\.\d+\.\d+/);
  });
  let code;
  await check('CreateRegisterCode returns an id and a value', async () => {
    code = await tat.CreateRegisterCode({
      Description: 'sdk agent test',
      InstanceNamePrefix: NAME_PREFIX,
      RegisterLimit: 1,
      IpAddressRange: '127.0.0.1/32',
    });
    assert.match(code.RegisterCodeId, UUID);
    assert.match(code.RegisterCodeValue, /^[a-z0-9]{32}$/);
  });
  if (!code) throw new Error('no register code');
  S.codeValue = code.RegisterCodeValue;

  let reg;
  await check('ferry-agent register exits 0 and prints only the instance id', async () => {
    reg = await agent.register(server.url, code.RegisterCodeId, code.RegisterCodeValue);
    assert.deepEqual(
      { code: reg.code, signal: reg.signal },
      { code: 0, signal: null },
      `stderr: ${reg.stderr}`,
    );
    assert.match(reg.stdout, /^rins-[a-z0-9]{8}\n$/);
    assert.equal(agent.instanceId, reg.stdout.trim());
  });
  await check('... and never prints the register code value', () => {
    assert.ok(reg, 'registered');
    assert.equal(`${reg.stdout}${reg.stderr}`.includes(code.RegisterCodeValue), false);
  });
  if (!agent.instanceId) throw new Error('the agent did not register');
  const I = agent.instanceId;
  S.instanceId = I;
  await check('DescribeRegisterCodes: RegisteredCount 1', async () => {
    const r = await tat.DescribeRegisterCodes({ RegisterCodeIds: [code.RegisterCodeId] });
    assert.equal(r.TotalCount, 1);
    assert.equal(r.RegisterCodeSet[0].RegisteredCount, 1);
  });
  await check('before its daemon runs the instance is Offline, with no agent version', async () => {
    const r = await tat.DescribeRegisterInstances({ InstanceIds: [I] });
    assert.equal(r.TotalCount, 1);
    assert.equal(r.RegisterInstanceSet[0].Status, 'Offline');
    const a = await tat.DescribeAutomationAgentStatus({ InstanceIds: [I] });
    assert.equal(a.AutomationAgentSet[0].AgentStatus, 'Offline');
    assert.equal(a.AutomationAgentSet[0].Version, '');
  });

  await check('the daemon starts and its push socket comes up', async () => {
    agent.start();
    await agent.waitLog(/push socket up/, 15000);
  });
  S.daemonUp = !agent.exited && /push socket up/.test(agent.log);
  if (!S.daemonUp) throw new Error('the agent daemon is not up');

  await check('DescribeRegisterInstances: Online, with what the agent registered', async () => {
    const r = await tat.DescribeRegisterInstances({ InstanceIds: [I] });
    assert.equal(r.TotalCount, 1);
    const i = r.RegisterInstanceSet[0];
    assert.equal(i.InstanceId, I);
    assert.equal(i.Status, 'Online');
    assert.equal(i.InstanceName, `${NAME_PREFIX}-${I.slice(5, 9)}`);
    assert.equal(i.RegisterCodeId, code.RegisterCodeId);
    assert.equal(i.SystemName, 'Linux');
    assert.equal(i.HostName, os.hostname());
    assert.equal(i.MachineId, machineId());
    const ips = expectedLocalIps();
    assert.equal(i.LocalIp, ips.length ? ips[0] : '');
    assert.match(i.PublicKey, /^[A-Za-z0-9+/]{43}=$/, 'a 32-byte Ed25519 key');
    assert.match(i.CreatedTime, RFC3339);
  });
  await check('DescribeRegisterInstances filter register-status Online finds it', async () => {
    const r = await tat.DescribeRegisterInstances({
      Filters: [{ Name: 'register-status', Values: ['Online'] }],
    });
    assert.deepEqual(
      r.RegisterInstanceSet.map((x) => x.InstanceId),
      [I],
    );
  });
  await check(
    'DescribeAutomationAgentStatus: Online, the agent version, Linux, its features',
    async () => {
      assert.ok(version, 'the version is known');
      // The first heartbeat goes out as the daemon starts; it may land just after the socket.
      let a = null;
      await waitFor(
        'the first heartbeat',
        async () => {
          const r = await tat.DescribeAutomationAgentStatus({ InstanceIds: [I] });
          assert.equal(r.TotalCount, 1);
          a = r.AutomationAgentSet[0];
          return a.Version !== '';
        },
        10000,
        200,
        () => JSON.stringify(a),
      );
      assert.equal(a.InstanceId, I);
      assert.equal(a.AgentStatus, 'Online');
      assert.equal(a.Version, version);
      assert.equal(a.Environment, 'Linux');
      assert.deepEqual(a.SupportFeatures, SUPPORT_FEATURES);
      assert.match(a.LastHeartbeatTime, RFC3339);
      const age = Date.now() - Date.parse(a.LastHeartbeatTime);
      assert.ok(age > -5000 && age < 60000, `LastHeartbeatTime is recent (${age} ms ago)`);
    },
  );
}

// A parameter value with spaces and characters outside ASCII: the output must come back byte
// for byte. It must never show up in the agent's log.
const WORLD = 'wörld 世界';

async function runCommand(S) {
  const { tat } = S;
  const I = S.instanceId;
  const script =
    'printf \'%s\\n\' "{{greeting}}, {{name}}: {{ACS::InstanceId}} {{TAT::InvokeId}}"\n' +
    'id -un\n' +
    'pwd\n';
  const run = await tat.RunCommand({
    Content: b64(script),
    InstanceIds: [I],
    CommandName: 'sdk-agent-run',
    Description: 'a real agent through the SDK',
    CommandType: 'SHELL',
    WorkingDirectory: '/tmp',
    Username: 'root',
    Timeout: 60,
    EnableParameter: true,
    DefaultParameters: JSON.stringify({ greeting: 'hello', name: 'default' }),
    Parameters: JSON.stringify({ name: WORLD }),
  });
  await check('RunCommand returns a command id and an invocation id', () => {
    assert.match(run.CommandId, /^cmd-[a-z0-9]{8}$/);
    assert.match(run.InvocationId, /^inv-[a-z0-9]{8}$/);
  });
  const inv = run.InvocationId;
  S.tasks.push(inv);
  const t = await finalTask(S.tat, inv);
  await check(
    'DescribeInvocationTasks: SUCCESS, ExitCode 0, the output with every value substituted',
    () => {
      assert.deepEqual(
        outcome(t),
        expected('SUCCESS', 0, `hello, ${WORLD}: ${I} ${inv}\nroot\n/tmp\n`),
      );
    },
  );
  await check('the task carries its ids, run times and no ErrorInfo', () => {
    assert.equal(t.InvocationId, inv);
    assert.equal(t.CommandId, run.CommandId);
    assert.equal(t.InstanceId, I);
    assert.match(t.InvocationTaskId, /^invt-[a-z0-9]{8}$/);
    assert.equal(t.ErrorInfo, '');
    assert.match(t.TaskResult.ExecStartTime, RFC3339);
    assert.match(t.TaskResult.ExecEndTime, RFC3339);
    assert.ok(
      Date.parse(t.TaskResult.ExecEndTime) >= Date.parse(t.TaskResult.ExecStartTime),
      'ExecEndTime is not before ExecStartTime',
    );
    assert.match(t.StartTime, RFC3339);
    assert.match(t.EndTime, RFC3339);
    assert.equal(t.CommandDocument.Username, 'root');
    assert.equal(t.CommandDocument.WorkingDirectory, '/tmp');
    assert.equal(t.CommandDocument.Content, b64(script));
  });
  await check('HideOutput true leaves the output out', async () => {
    const hidden = await taskOf(tat, inv, true);
    assert.equal(hidden.TaskStatus, 'SUCCESS');
    assert.equal(hidden.TaskResult.Output, '');
    assert.equal(hidden.TaskResult.ExitCode, 0);
  });
  await check('DescribeInvocations: SUCCESS, the task, the parameters as given', async () => {
    const i = await invocationOf(tat, inv);
    assert.equal(i.InvocationStatus, 'SUCCESS');
    assert.equal(i.CommandId, run.CommandId);
    assert.equal(i.CommandName, 'sdk-agent-run');
    assert.deepEqual(i.InvocationTaskBasicInfoSet, [
      { InvocationTaskId: t.InvocationTaskId, TaskStatus: 'SUCCESS', InstanceId: I },
    ]);
    assert.deepEqual(JSON.parse(i.Parameters), { name: WORLD });
    assert.deepEqual(JSON.parse(i.DefaultParameters), { greeting: 'hello', name: 'default' });
    assert.equal(i.Username, 'root');
    assert.equal(i.WorkingDirectory, '/tmp');
  });
}

async function failingCommand(S) {
  const { tat } = S;
  const run = await runOnAgent(S, b64('echo out; echo err >&2; exit 7'));
  const t = await finalTask(tat, run.InvocationId);
  await check('exit 7: FAILED, ExitCode 7, stdout and stderr in the output', () => {
    assert.deepEqual(outcome(t), expected('FAILED', 7, 'out\nerr\n'));
  });
  await checkInvocationStatus(tat, run.InvocationId, 'FAILED');
}

async function timeoutCommand(S) {
  const { tat } = S;
  const t0 = Date.now();
  const run = await runOnAgent(S, b64('echo begun; sleep 30; echo never'), { Timeout: 2 });
  const t = await finalTask(tat, run.InvocationId, 20000);
  const took = Date.now() - t0;
  await check('Timeout 2 on sleep 30: TIMEOUT, ExitCode -1, the output so far', () => {
    assert.deepEqual(outcome(t), expected('TIMEOUT', -1, 'begun\n'));
    assert.match(t.ErrorInfo, /^the task exceeded its timeout of 2 s/);
  });
  // The point: the timeout fires at its time (the lower bound is checked in every build).
  await check('... not before its 2 s', () => {
    assert.ok(took >= 1900, `${took} ms`);
  });
  await harness.checkTimeBound('... after about 2 s, not 30', () => {
    assert.ok(took < 10000, `${took} ms`);
  });
  await checkInvocationStatus(tat, run.InvocationId, 'TIMEOUT');
}

async function liveOutput(S) {
  const { tat } = S;
  const t0 = Date.now();
  const run = await runOnAgent(S, b64('echo first-line; sleep 5; echo second-line'), {
    Timeout: 30,
  });
  await check('RUNNING with the first line as its output, no exit code yet', async () => {
    // RUNNING: seen before the task ended, however long that took.
    const t = await runningWith(tat, run.InvocationId, 'first-line\n', 10000);
    assert.equal(t.TaskResult.ExitCode, 0);
    assert.equal(t.EndTime, null);
    const i = await invocationOf(tat, run.InvocationId);
    assert.equal(i.InvocationStatus, 'RUNNING');
  });
  const t = await finalTask(tat, run.InvocationId);
  await check('then SUCCESS with both lines', () => {
    assert.deepEqual(outcome(t), expected('SUCCESS', 0, 'first-line\nsecond-line\n'));
    const took = Date.now() - t0;
    assert.ok(took >= 4900, `the sleep ran to its end (${took} ms)`);
  });
}

async function cancelRunning(S) {
  const { tat } = S;
  const run = await runOnAgent(S, b64('echo started; sleep 60; echo never'), { Timeout: 90 });
  await check('sleep 60 is RUNNING (its first line is out)', async () => {
    await runningWith(tat, run.InvocationId, 'started\n', 5000);
  });
  const t0 = Date.now();
  await tat.CancelInvocation({ InvocationId: run.InvocationId });
  const t = await finalTask(tat, run.InvocationId, 10000);
  const took = Date.now() - t0;
  await check('CancelInvocation: TERMINATED, ExitCode -1, the output so far', () => {
    assert.deepEqual(outcome(t), expected('TERMINATED', -1, 'started\n'));
    assert.match(t.ErrorInfo, /^the task was cancelled/);
  });
  // The point: a cancel reaches the agent at once and does not wait for the sleep.
  await harness.checkTimeBound('... within 2.5 s of the cancel', () => {
    assert.ok(took < 2500, `${took} ms`);
  });
  await checkInvocationStatus(tat, run.InvocationId, 'CANCELLED');
}

async function invokeCommand(S) {
  const { tat } = S;
  const I = S.instanceId;
  const script = 'echo "{{greeting}}, {{name}} ({{ACS::CommandId}})"';
  const created = await tat.CreateCommand({
    CommandName: 'sdk-agent-greet',
    Content: b64(script),
    Description: 'greets',
    CommandType: 'SHELL',
    WorkingDirectory: '/tmp',
    Username: 'root',
    Timeout: 30,
    EnableParameter: true,
    DefaultParameters: JSON.stringify({ greeting: 'hello', name: 'default-name' }),
  });
  const C = created.CommandId;
  await check('CreateCommand returns a command id', () => assert.match(C, /^cmd-[a-z0-9]{8}$/));

  const withParam = await tat.InvokeCommand({
    CommandId: C,
    InstanceIds: [I],
    Parameters: JSON.stringify({ name: 'invoked' }),
  });
  S.tasks.push(withParam.InvocationId);
  const t1 = await finalTask(tat, withParam.InvocationId);
  await check('InvokeCommand with Parameters: SUCCESS, the default greeting substituted', () => {
    assert.deepEqual(outcome(t1), expected('SUCCESS', 0, `hello, invoked (${C})\n`));
    assert.equal(t1.CommandId, C);
  });
  await check('DescribeInvocations: SUCCESS, the saved command and its parameters', async () => {
    const i = await invocationOf(tat, withParam.InvocationId);
    assert.equal(i.InvocationStatus, 'SUCCESS');
    assert.equal(i.CommandId, C);
    assert.equal(i.CommandName, 'sdk-agent-greet');
    assert.deepEqual(JSON.parse(i.Parameters), { name: 'invoked' });
    assert.deepEqual(JSON.parse(i.DefaultParameters), {
      greeting: 'hello',
      name: 'default-name',
    });
  });

  const defaults = await tat.InvokeCommand({ CommandId: C, InstanceIds: [I] });
  S.tasks.push(defaults.InvocationId);
  const t2 = await finalTask(tat, defaults.InvocationId);
  await check('InvokeCommand without Parameters: every default substituted', () => {
    assert.deepEqual(outcome(t2), expected('SUCCESS', 0, `hello, default-name (${C})\n`));
  });
  await check('DeleteCommand of the saved command', async () => {
    await tat.DeleteCommand({ CommandId: C });
    assert.equal((await tat.DescribeCommands({ CommandIds: [C] })).TotalCount, 0);
  });
}

// The call must fail through the SDK with `code` (the server's Error.Code).
async function rejectsWith(code, call) {
  let err = null;
  try {
    await call();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${code}, the call succeeded`);
  assert.equal(err.code, code, `err.code (message: ${err.message})`);
}

// The first 29 February hh:mm:00 UTC after `ms`: the next slot of the crontab "mm hh 29 2 *" in
// the server's zone (UTC, the default schedule_time_zone). A leap day: it never fires in a run.
function nextLeapDayUtc(ms, hh, mm) {
  for (let y = new Date(ms).getUTCFullYear(); ; y += 1) {
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    if (leap && Date.UTC(y, 1, 29, hh, mm) > ms) return Date.UTC(y, 1, 29, hh, mm);
  }
}

// Invokers, with the real agent online (CreateInvoker requires it): a ONCE invoker 2 to 3 s
// ahead runs its saved command on the agent for real, with the invoker's Username and
// Parameters, and leaves one record; meanwhile a RECURRENCE invoker (on leap days only, so it
// never fires during the run) is listed with its next slot, modified, disabled and enabled.
// Then the fired ONCE invoker is disabled, cannot be enabled until it has a new time, and is
// deleted with its records; the invocation it made stays.
async function invokers(S) {
  const { tat } = S;
  const I = S.instanceId;
  const created = await tat.CreateCommand({
    CommandName: 'sdk-agent-invoked',
    Content: b64('echo "invoked by {{who}} on {{ACS::InstanceId}} as $(id -un)"'),
    CommandType: 'SHELL',
    Timeout: 30,
    EnableParameter: true,
    DefaultParameters: JSON.stringify({ who: 'nobody' }),
  });
  const C = created.CommandId;
  const slot = harness.wholeSecondAhead(2000);
  const once = await tat.CreateInvoker({
    Name: 'sdk-agent-once',
    Type: 'SCHEDULE',
    CommandId: C,
    InstanceIds: [I],
    Username: 'root',
    Parameters: JSON.stringify({ who: 'an invoker' }),
    ScheduleSettings: { Policy: 'ONCE', InvokeTime: offsetTime(slot, 8 * 60) },
  });
  const V = once.InvokerId;
  await check('CreateInvoker ONCE, InvokeTime 2-3 s ahead with offset +08:00: an ivk- id', () => {
    assert.match(V, /^ivk-[a-z0-9]{8}$/);
  });
  await check(
    'DescribeInvokers: the invoker as made, its InvokeTime in UTC, Enable true',
    async () => {
      const v = await invokerOf(tat, V);
      assert.match(v.CreatedTime, RFC3339);
      assert.equal(v.UpdatedTime, v.CreatedTime);
      assert.deepEqual(v, {
        InvokerId: V,
        Name: 'sdk-agent-once',
        Type: 'SCHEDULE',
        CommandId: C,
        Username: 'root',
        Parameters: JSON.stringify({ who: 'an invoker' }),
        InstanceIds: [I],
        Enable: true,
        ScheduleSettings: { Policy: 'ONCE', Recurrence: '', InvokeTime: zTime(slot) },
        CreatedTime: v.CreatedTime,
        UpdatedTime: v.UpdatedTime,
        Tags: [],
      });
    },
  );
  await check('DescribeInvokerRecords before its time: none', async () => {
    const r = await tat.DescribeInvokerRecords({ InvokerIds: [V] });
    assert.ok(Date.now() < slot, 'still before the slot');
    assert.equal(r.TotalCount, 0);
    assert.deepEqual(r.InvokerRecordSet, []);
  });

  // While the ONCE invoker waits for its time: a RECURRENCE invoker, listed with its next slot.
  const t0 = Date.now();
  const leapDay = await tat.CreateInvoker({
    Name: 'sdk-agent-leap-day',
    Type: 'SCHEDULE',
    CommandId: C,
    InstanceIds: [I],
    ScheduleSettings: { Policy: 'RECURRENCE', Recurrence: '0 3 29 2 *' },
  });
  const t1 = Date.now();
  const R = leapDay.InvokerId;
  // The slot after the moment of the call (either end of it, should a slot fall in between).
  const nextSlotIs = (v, hh, mm) =>
    assert.ok(
      [nextLeapDayUtc(t0, hh, mm), nextLeapDayUtc(t1, hh, mm)]
        .map(zTime)
        .includes(v.ScheduleSettings.InvokeTime),
      `InvokeTime ${v.ScheduleSettings.InvokeTime}, the next 29 Feb ${hh}:${mm} UTC`,
    );
  await check(
    'CreateInvoker RECURRENCE "0 3 29 2 *": listed with InvokeTime its next slot',
    async () => {
      const v = await invokerOf(tat, R);
      assert.equal(v.Enable, true);
      assert.equal(v.ScheduleSettings.Policy, 'RECURRENCE');
      assert.equal(v.ScheduleSettings.Recurrence, '0 3 29 2 *');
      nextSlotIs(v, 3, 0);
    },
  );
  await check(
    'ModifyInvoker Name and ScheduleSettings: both reflected, the next slot moved',
    async () => {
      await tat.ModifyInvoker({
        InvokerId: R,
        Name: 'sdk-agent-leap-day-0430',
        ScheduleSettings: { Policy: 'RECURRENCE', Recurrence: '30 4 29 2 *' },
      });
      const v = await invokerOf(tat, R);
      assert.equal(v.Name, 'sdk-agent-leap-day-0430');
      assert.equal(v.ScheduleSettings.Recurrence, '30 4 29 2 *');
      nextSlotIs(v, 4, 30);
      assert.equal(v.Enable, true);
    },
  );
  await check('DisableInvoker: Enable false, no next slot (InvokeTime "")', async () => {
    await tat.DisableInvoker({ InvokerId: R });
    const v = await invokerOf(tat, R);
    assert.equal(v.Enable, false);
    assert.equal(v.ScheduleSettings.InvokeTime, '');
  });
  await check('EnableInvoker: Enable true, InvokeTime its next slot again', async () => {
    await tat.EnableInvoker({ InvokerId: R });
    const v = await invokerOf(tat, R);
    assert.equal(v.Enable, true);
    nextSlotIs(v, 4, 30);
  });

  // The ONCE invoker fires.
  let record = null;
  await check(
    'at its time the ONCE invoker fires: one record, "scheduled for" its time',
    async () => {
      let seen = null;
      const r = await waitFor(
        `the record of ${V}`,
        async () => {
          seen = await tat.DescribeInvokerRecords({ InvokerIds: [V] });
          return seen.TotalCount > 0 ? seen : null;
        },
        slot - Date.now() + 15000,
        200,
        () => JSON.stringify(seen),
      );
      assert.equal(r.TotalCount, 1);
      record = r.InvokerRecordSet[0];
      assert.equal(record.InvokerId, V);
      assert.equal(record.Reason, `scheduled for ${zTime(slot)}`);
      assert.match(record.InvocationId, /^inv-[a-z0-9]{8}$/);
      assert.match(record.InvokeTime, RFC3339);
      assert.ok(Date.parse(record.InvokeTime) >= slot, `InvokeTime ${record.InvokeTime}`);
      assert.ok(['PENDING', 'RUNNING', 'SUCCESS'].includes(record.Result), record.Result);
    },
  );
  if (!record) throw new Error('the ONCE invoker did not fire');
  S.tasks.push(record.InvocationId);
  await harness.checkTimeBound('... within 2 s of its time', () => {
    assert.ok(Date.parse(record.InvokeTime) - slot < 2000, `InvokeTime ${record.InvokeTime}`);
  });
  const t = await finalTask(tat, record.InvocationId);
  await check("the agent ran it: SUCCESS, as root, the invoker's parameter substituted", () => {
    assert.deepEqual(outcome(t), expected('SUCCESS', 0, `invoked by an invoker on ${I} as root\n`));
    assert.equal(t.CommandId, C);
  });
  await check("DescribeInvocations: InvocationSource INVOKER, the invoker's settings", async () => {
    const i = await invocationOf(tat, record.InvocationId);
    assert.equal(i.InvocationSource, 'INVOKER');
    assert.equal(i.InvocationStatus, 'SUCCESS');
    assert.equal(i.CommandId, C);
    assert.equal(i.CommandName, 'sdk-agent-invoked');
    assert.equal(i.Username, 'root');
    assert.deepEqual(JSON.parse(i.Parameters), { who: 'an invoker' });
    assert.deepEqual(
      i.InvocationTaskBasicInfoSet.map((x) => [x.InstanceId, x.TaskStatus]),
      [[I, 'SUCCESS']],
    );
  });
  await check('DescribeInvokerRecords: Result SUCCESS, still the one record', async () => {
    const r = await tat.DescribeInvokerRecords({ InvokerIds: [V] });
    assert.deepEqual(r.InvokerRecordSet, [{ ...record, Result: 'SUCCESS' }]);
    assert.equal(r.TotalCount, 1);
  });
  await check('DescribeInvokers: a fired ONCE invoker is Enable false', async () => {
    const v = await invokerOf(tat, V);
    assert.equal(v.Enable, false);
    assert.equal(v.ScheduleSettings.InvokeTime, zTime(slot));
  });
  await check('EnableInvoker of it -> InvalidParameterValue.InvokeTimeExpired', () =>
    rejectsWith('InvalidParameterValue.InvokeTimeExpired', () =>
      tat.EnableInvoker({ InvokerId: V }),
    ),
  );
  const later = harness.wholeSecondAhead(3600 * 1000);
  await check('ModifyInvoker gives it a new Name and time (offset -05:00): reflected', async () => {
    await tat.ModifyInvoker({
      InvokerId: V,
      Name: 'sdk-agent-once-again',
      ScheduleSettings: { Policy: 'ONCE', InvokeTime: offsetTime(later, -5 * 60) },
    });
    const v = await invokerOf(tat, V);
    assert.equal(v.Name, 'sdk-agent-once-again');
    assert.deepEqual(v.ScheduleSettings, {
      Policy: 'ONCE',
      Recurrence: '',
      InvokeTime: zTime(later),
    });
    assert.equal(v.Enable, false);
  });
  await check('EnableInvoker then: Enable true; DisableInvoker: Enable false', async () => {
    await tat.EnableInvoker({ InvokerId: V });
    const on = await invokerOf(tat, V);
    assert.equal(on.Enable, true);
    assert.equal(on.ScheduleSettings.InvokeTime, zTime(later));
    await tat.DisableInvoker({ InvokerId: V });
    assert.equal((await invokerOf(tat, V)).Enable, false);
  });
  await check(
    'DeleteInvoker: DescribeInvokers and DescribeInvokerRecords find nothing',
    async () => {
      await tat.DeleteInvoker({ InvokerId: V });
      const v = await tat.DescribeInvokers({ InvokerIds: [V] });
      assert.equal(v.TotalCount, 0);
      assert.deepEqual(v.InvokerSet, []);
      const r = await tat.DescribeInvokerRecords({ InvokerIds: [V] });
      assert.equal(r.TotalCount, 0);
      assert.deepEqual(r.InvokerRecordSet, []);
    },
  );
  await check('... and the invocation it made is still described', async () => {
    const i = await invocationOf(tat, record.InvocationId);
    assert.equal(i.InvocationSource, 'INVOKER');
    assert.equal(i.InvocationStatus, 'SUCCESS');
  });
  await check('DeleteInvoker of the RECURRENCE one, then DeleteCommand: none left', async () => {
    await tat.DeleteInvoker({ InvokerId: R });
    assert.equal((await tat.DescribeInvokers({})).TotalCount, 0);
    await tat.DeleteCommand({ CommandId: C });
    assert.equal((await tat.DescribeCommands({ CommandIds: [C] })).TotalCount, 0);
  });
}

// 1024 lines of 64 bytes: "line 0000 " and 53 letters and digits, then "\n".
const LINES = 1024;
const PAD = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0';

async function largeOutput(S) {
  const { tat } = S;
  const script =
    `i=0; while [ "$i" -lt ${LINES} ]; do ` +
    `printf 'line %04d %s\\n' "$i" '${PAD}'; i=$((i+1)); done`;
  let full = '';
  for (let i = 0; i < LINES; i += 1) full += `line ${String(i).padStart(4, '0')} ${PAD}\n`;
  const run = await runOnAgent(S, b64(script));
  const t = await finalTask(tat, run.InvocationId);
  await check(`a ${full.length}-byte output: SUCCESS, ExitCode 0`, () => {
    assert.equal(full.length, 65536);
    assert.equal(t.TaskStatus, 'SUCCESS');
    assert.equal(t.TaskResult.ExitCode, 0);
  });
  const out = unb64(t.TaskResult.Output);
  await check('Output is at most 24 KiB: its head and its tail, Dropped the rest', () => {
    assert.ok(Buffer.byteLength(out) <= MAX_OUTPUT, `${Buffer.byteLength(out)} bytes`);
    assert.equal(out.length, MAX_OUTPUT);
    assert.equal(out.slice(0, MAX_OUTPUT / 2), full.slice(0, MAX_OUTPUT / 2), 'the head');
    assert.equal(out.slice(MAX_OUTPUT / 2), full.slice(-MAX_OUTPUT / 2), 'the tail');
    assert.equal(t.TaskResult.Dropped, full.length - MAX_OUTPUT);
    assert.ok(t.TaskResult.Dropped > 0);
  });
}

// Every task of the run, listed by instance, each in the final status its section saw.
async function wholeRun(S) {
  const { tat } = S;
  await check(
    'DescribeInvocationTasks by instance-id lists the 9 tasks of the run, all final',
    async () => {
      const r = await tat.DescribeInvocationTasks({
        Filters: [{ Name: 'instance-id', Values: [S.instanceId] }],
        Limit: 100,
      });
      assert.equal(r.TotalCount, 9);
      assert.deepEqual(r.InvocationTaskSet.map((t) => t.InvocationId).sort(), [...S.tasks].sort());
      for (const t of r.InvocationTaskSet) assert.ok(FINAL.has(t.TaskStatus), t.TaskStatus);
    },
  );
  await check('the agent is still Online', async () => {
    const r = await tat.DescribeAutomationAgentStatus({ InstanceIds: [S.instanceId] });
    assert.equal(r.AutomationAgentSet[0].AgentStatus, 'Online');
  });
}

// ctest's timeout or a Ctrl-C: the agent and the server go down with the test.
let onInterrupt = () => {};
harness.run(main, () => onInterrupt());
