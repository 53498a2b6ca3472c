#!/usr/bin/env node
'use strict';
// A real ferry-agent driven through the official Alibaba Cloud SDK for ECS
// (@alicloud/ecs20140526, pinned in package.json, signing with ACS3-HMAC-SHA256) and the older
// @alicloud/pop-core (signature v1): an activation registers the agent, then the Cloud Assistant
// actions run commands on it for real and the checks compare what the API shows (statuses, exit
// codes, decoded output, error codes and HTTP statuses) with exact values. The Tencent SDK sees
// the same store: an invocation made through one API is listed by the other.
//
// Run by ctest (tests/acs/CMakeLists.txt) with FERRY_SERVER and FERRY_AGENT set; by hand:
//   FERRY_SERVER=build/bin/ferry-server FERRY_AGENT=build/bin/ferry-agent \
//     node tests/acs/acs_sdk_test.js
// Prints one line per check and "N passed, N failed" at the end; exits 1 on any failure.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const harness = require('../sdk/harness');

const { TatClient, FERRY_SERVER, FERRY_AGENT } = harness.setUp('acs_sdk_test', {
  FERRY_SERVER: 'ferry-server',
  FERRY_AGENT: 'ferry-agent',
});
const { check, section, b64, unb64, waitFor } = harness;
const { FerryServer } = require('../sdk/ferry_server');
const { FerryAgent } = require('../sdk/ferry_agent');
const { PodmanContainer } = require('./podman_container');
const { execFileSync } = require('node:child_process');

const ACS_DIR = path.join(__dirname, 'node_modules');
let Ecs;
let OpenApi;
let PopCore;
try {
  Ecs = require(path.join(ACS_DIR, '@alicloud/ecs20140526'));
  OpenApi = require(path.join(ACS_DIR, '@alicloud/openapi-core'));
  PopCore = require(path.join(ACS_DIR, '@alicloud/pop-core'));
} catch (e) {
  console.error(`acs_sdk_test: the Alibaba Cloud SDKs are not installed (${e.message}).`);
  console.error('Run scripts/test, or: npm ci --prefix tests/acs --no-audit --no-fund');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const ecsVersion = require(path.join(ACS_DIR, '@alicloud/ecs20140526/package.json')).version;

const AK = 'LTAIferryacstest0000000000';
const SECRET = 'ferryacstestsecret0000000000000000';
const REGION = 'cn-hangzhou';
const SERVER_CONFIG = {
  log_level: 'warn',
  task_timeout_grace_s: 30,
  regions: [harness.GUANGZHOU],
  acs_regions: [REGION],
  command_quota: 30,
  // The error table makes about 60 RunCommand calls in a row.
  rate_limit: 200,
  rate_burst: 200,
};

// --- clients -------------------------------------------------------------------------------

function ecsClient(port, secret = SECRET, securityToken = undefined) {
  const config = new OpenApi.$OpenApiUtil.Config({
    accessKeyId: AK,
    accessKeySecret: secret,
    securityToken,
    endpoint: `127.0.0.1:${port}`,
    protocol: 'http',
    regionId: REGION,
  });
  return new Ecs.default(config);
}

// The SDK's call of `action` (its method name) with a request of its model; the reply's body.
async function call(ecs, action, fields = {}) {
  const Request = Ecs[`${action}Request`];
  const method = action.charAt(0).toLowerCase() + action.slice(1);
  const r = await ecs[method](new Request({ regionId: REGION, ...fields }));
  assert.equal(r.statusCode, 200);
  return r.body;
}

// The error of a call that must fail: {code, status}.
async function refusal(ecs, action, fields) {
  try {
    await call(ecs, action, fields);
  } catch (e) {
    return { code: e.code, status: e.statusCode };
  }
  throw new Error(`${action} succeeded`);
}

const FINAL = new Set(['Success', 'Failed', 'Timeout', 'Cancelled', 'Terminated', 'Error']);

// The one result of `invokeId` once it is final (bounded).
async function finalResult(ecs, invokeId, timeoutMs = 30000, encoding = undefined) {
  let last;
  return waitFor(
    `a final result of ${invokeId}`,
    async () => {
      const r = await call(ecs, 'DescribeInvocationResults', {
        invokeId,
        contentEncoding: encoding,
      });
      last = r.invocation.invocationResults.invocationResult[0];
      return last && FINAL.has(last.invocationStatus) ? last : null;
    },
    timeoutMs,
    200,
    () => JSON.stringify(last),
  );
}

// --- sections ------------------------------------------------------------------------------

async function registration(S) {
  const { ecs, agent, server } = S;
  let activation;
  await check('CreateActivation returns an ActivationId and an ActivationCode', async () => {
    activation = await call(ecs, 'CreateActivation', {
      instanceName: 'acs-sdk',
      instanceCount: 1,
      timeToLiveInHours: 1,
      ipAddressRange: '127.0.0.1/32',
    });
    assert.match(activation.activationId, /^[0-9a-f-]{36}$/);
    assert.ok(activation.activationCode.length >= 16);
    assert.equal(activation.code, undefined, 'no Code in a success body');
  });
  if (!activation) throw new Error('no activation');
  await check('ferry-agent registers with the activation', async () => {
    const reg = await agent.register(server.url, activation.activationId, activation.activationCode);
    assert.equal(reg.code, 0, reg.stderr);
  });
  if (!agent.instanceId) throw new Error('the agent did not register');
  S.instanceId = agent.instanceId;
  S.activationId = activation.activationId;
  await check('the daemon starts and its push socket comes up', async () => {
    agent.start();
    await agent.waitLog(/push socket up/, 15000);
  });
  S.daemonUp = !agent.exited && /push socket up/.test(agent.log);
  if (!S.daemonUp) throw new Error('the agent daemon is not up');
  await check('DescribeActivations: RegisteredCount 1', async () => {
    const r = await call(ecs, 'DescribeActivations', { activationId: S.activationId });
    assert.equal(r.totalCount, 1);
    assert.equal(r.activationList[0].registeredCount, 1);
    assert.equal(r.activationList[0].instanceName, 'acs-sdk');
  });
  await check('DescribeManagedInstances: the instance, Connected, with its activation', async () => {
    await waitFor('the instance connected', async () => {
      const r = await call(ecs, 'DescribeManagedInstances', { instanceId: [S.instanceId] });
      return r.totalCount === 1 && r.instances[0].connected;
    });
    const r = await call(ecs, 'DescribeManagedInstances', { instanceId: [S.instanceId] });
    assert.equal(r.instances[0].activationId, S.activationId);
    assert.equal(r.instances[0].osType, 'Linux');
  });
  await check('DescribeCloudAssistantStatus: "true" with the agent version', async () => {
    await waitFor('a heartbeat', async () => {
      const r = await call(ecs, 'DescribeCloudAssistantStatus', { instanceId: [S.instanceId] });
      const s = r.instanceCloudAssistantStatusSet.instanceCloudAssistantStatus[0];
      return s && s.cloudAssistantStatus === 'true' && s.cloudAssistantVersion !== '';
    }, 15000);
  });
}

async function runCommands(S) {
  const { ecs } = S;
  let invokeId;
  await check('RunCommand with a case-insensitive parameter runs on the agent: Success', async () => {
    const r = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'echo "hello {{Name}}"; echo "{{ACS::InstanceId}}"',
      enableParameter: true,
      parameters: { name: 'Jack' },
      instanceId: [S.instanceId],
      name: 'greeting',
      timeout: 60,
    });
    invokeId = r.invokeId;
    const result = await finalResult(ecs, invokeId);
    assert.equal(result.invocationStatus, 'Success');
    assert.equal(result.invokeRecordStatus, 'Finished');
    assert.equal(result.exitCode, 0);
    assert.equal(result.errorCode, '');
    assert.equal(unb64(result.output), `hello Jack\n${S.instanceId}\n`);
  });
  S.acsInvokeId = invokeId;
  await check('DescribeInvocationResults with ContentEncoding PlainText', async () => {
    const r = await finalResult(ecs, invokeId, 5000, 'PlainText');
    assert.equal(r.output, `hello Jack\n${S.instanceId}\n`);
  });
  await check('DescribeInvocations: Success, the name, the content and the instance', async () => {
    const r = await call(ecs, 'DescribeInvocations', { invokeId, includeOutput: true });
    assert.equal(r.totalCount, 1);
    const inv = r.invocations.invocation[0];
    assert.equal(inv.invocationStatus, 'Success');
    assert.equal(inv.invokeStatus, 'Finished');
    assert.equal(inv.commandName, 'greeting');
    assert.equal(inv.commandType, 'RunShellScript');
    assert.equal(inv.repeatMode, 'Once');
    assert.equal(unb64(inv.commandContent), 'echo "hello {{Name}}"; echo "{{ACS::InstanceId}}"');
    const ii = inv.invokeInstances.invokeInstance[0];
    assert.equal(ii.instanceId, S.instanceId);
    assert.equal(ii.invocationStatus, 'Success');
    assert.equal(unb64(ii.output), `hello Jack\n${S.instanceId}\n`);
  });
  await check('a nonzero exit: Failed, ExitCodeNonzero, the exit code', async () => {
    const r = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: b64('echo bad; exit 3'),
      contentEncoding: 'Base64',
      instanceId: [S.instanceId],
    });
    const result = await finalResult(ecs, r.invokeId);
    assert.deepEqual(
      [result.invocationStatus, result.invokeRecordStatus, result.errorCode, result.exitCode],
      ['Failed', 'Failed', 'ExitCodeNonzero', 3],
    );
    assert.equal(unb64(result.output), 'bad\n');
  });
  await check('over its Timeout: Timeout, ExecutionTimeout', async () => {
    const r = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'sleep 30',
      timeout: 2,
      instanceId: [S.instanceId],
    });
    const result = await finalResult(ecs, r.invokeId);
    assert.deepEqual([result.invocationStatus, result.errorCode], ['Timeout', 'ExecutionTimeout']);
  });
  await check('a WorkingDir that does not exist: Failed, DirectoryNotExists', async () => {
    const r = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'pwd',
      workingDir: '/nonexistent/ferry-acs',
      instanceId: [S.instanceId],
    });
    const result = await finalResult(ecs, r.invokeId);
    assert.deepEqual([result.invocationStatus, result.errorCode], ['Failed', 'DirectoryNotExists']);
  });
  await check('a Launcher runs the script file: its name ends as Ext() says', async () => {
    const r = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'echo "launched $0"',
      launcher: '/bin/sh {{ACS::ScriptFileName|Ext(".sh")}}',
      terminationMode: 'Process',
      instanceId: [S.instanceId],
    });
    const result = await finalResult(ecs, r.invokeId);
    assert.equal(result.invocationStatus, 'Success', result.errorInfo);
    assert.match(unb64(result.output), /^launched \/.+\.sh\n$/);
    assert.equal(result.launcher, '/bin/sh {{ACS::ScriptFileName|Ext(".sh")}}');
    assert.equal(result.terminationMode, 'Process');
  });
  await check('StopInvocation of a running command: Stopped, Terminated', async () => {
    const r = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'echo started; sleep 60',
      instanceId: [S.instanceId],
    });
    await waitFor('the command running', async () => {
      const x = await call(ecs, 'DescribeInvocationResults', { invokeId: r.invokeId });
      return x.invocation.invocationResults.invocationResult[0].invocationStatus === 'Running';
    }, 15000);
    await call(ecs, 'StopInvocation', { invokeId: r.invokeId });
    const result = await finalResult(ecs, r.invokeId, 15000);
    assert.equal(result.invocationStatus, 'Terminated');
    assert.equal(result.invokeRecordStatus, 'Stopped');
    assert.notEqual(result.stopTime, '');
    const inv = await call(ecs, 'DescribeInvocations', { invokeId: r.invokeId });
    assert.equal(
      inv.invocations.invocation[0].invocationStatus,
      'Stopped',
      JSON.stringify(inv.invocations.invocation[0]),
    );
  });
}

// ContainerName / ContainerId on the real agent: Podman holds a busybox container made for the
// test (podman_container.js); the agent finds it and runs the script there with /bin/sh -c.
async function containers(S) {
  const { ecs } = S;
  const box = new PodmanContainer().start();
  if (box.whyNot) {
    console.log(`#   SKIPPED, no container can run here: ${box.whyNot}`);
    return;
  }
  const run = async (fields, timeoutMs = 60000) => {
    const r = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      instanceId: [S.instanceId],
      ...fields,
    });
    return finalResult(ecs, r.invokeId, timeoutMs);
  };
  try {
    await check('ContainerName: the script runs inside the container, as the SDK shows', async () => {
      const result = await run({
        commandContent: 'cat /etc/ferry-marker; hostname; exit 4',
        containerName: box.name,
      });
      assert.deepEqual(
        [result.invocationStatus, result.errorCode, result.exitCode],
        ['Failed', 'ExitCodeNonzero', 4],
        result.errorInfo,
      );
      // Podman names the container's host after the start of its id.
      assert.equal(unb64(result.output), `${box.marker}\n${box.id.slice(0, 12)}\n`);
      assert.equal(result.containerName, box.name);
    });
    await check('ContainerId (the full id) reaches the same container', async () => {
      const result = await run({ commandContent: 'cat /etc/ferry-marker', containerId: box.id });
      assert.equal(result.invocationStatus, 'Success', result.errorInfo);
      assert.equal(unb64(result.output), `${box.marker}\n`);
      assert.equal(result.containerId, box.id);
    });
    await check('over its Timeout inside the container: Timeout, the sleep gone there', async () => {
      const result = await run({
        commandContent: 'sleep 300 # ferry-acs-timeout',
        containerName: box.name,
        timeout: 2,
      });
      assert.deepEqual([result.invocationStatus, result.errorCode], ['Timeout', 'ExecutionTimeout']);
      const left = await waitFor('the sleep gone in the container', async () => {
        const ps = execFileSync(box.podman, ['exec', box.name, 'ps', '-o', 'stat,args'], {
          encoding: 'utf8',
        });
        const live = ps.split('\n').filter((l) => l.includes('sleep 300') && !/^\s*Z/.test(l));
        return live.length === 0 ? 'gone' : null;
      }, 15000);
      assert.equal(left, 'gone');
    });
    await check('a container that does not exist: Failed, ContainerNotFound in ErrorInfo', async () => {
      const result = await run({ commandContent: 'true', containerName: `${box.name}-none` });
      assert.equal(result.invocationStatus, 'Failed');
      assert.equal(result.errorCode, 'ExecutionException');
      assert.match(result.errorInfo, /^ContainerNotFound/);
    });
  } finally {
    box.remove();
  }
}

async function keptCommands(S) {
  const { ecs } = S;
  let commandId;
  await check('CreateCommand, then DescribeCommands shows it in the SDK model', async () => {
    const r = await call(ecs, 'CreateCommand', {
      name: 'kept command',
      type: 'RunShellScript',
      commandContent: 'echo {{word}}',
      enableParameter: true,
      description: 'made by the ACS SDK test',
      tag: [{ key: 'team', value: 'ops' }],
    });
    commandId = r.commandId;
    const d = await call(ecs, 'DescribeCommands', { commandId, contentEncoding: 'PlainText' });
    assert.equal(d.totalCount, 1);
    const c = d.commands.command[0];
    assert.equal(c.name, 'kept command');
    assert.equal(c.commandContent, 'echo {{word}}');
    assert.deepEqual(c.parameterNames.parameterName, ['word']);
    assert.equal(c.tags.tag[0].tagKey, 'team');
    assert.equal(c.tags.tag[0].tagValue, 'ops');
  });
  await check('InvokeCommand runs it with its parameter; InvokeTimes counts it', async () => {
    const r = await call(ecs, 'InvokeCommand', {
      commandId,
      instanceId: [S.instanceId],
      parameters: { word: 'kept' },
    });
    const result = await finalResult(ecs, r.invokeId);
    assert.equal(result.invocationStatus, 'Success');
    assert.equal(unb64(result.output), 'kept\n');
    const d = await call(ecs, 'DescribeCommands', { commandId });
    assert.equal(d.commands.command[0].invokeTimes, 1);
  });
  await check('ModifyCommand changes it; DeleteCommand removes it', async () => {
    await call(ecs, 'ModifyCommand', { commandId, description: 'changed' });
    const d = await call(ecs, 'DescribeCommands', { commandId });
    assert.equal(d.commands.command[0].description, 'changed');
    await call(ecs, 'DeleteCommand', { commandId });
    const e = await refusal(ecs, 'DeleteCommand', { commandId });
    assert.deepEqual(e, { code: 'InvalidCmdId.NotFound', status: 404 });
  });
  await check('RunCommand with a ClientToken runs once; other parameters are refused', async () => {
    const fields = {
      type: 'RunShellScript',
      commandContent: 'echo idempotent',
      instanceId: [S.instanceId],
      clientToken: '123e4567-e89b-12d3-a456-426655440000',
    };
    const first = await call(ecs, 'RunCommand', fields);
    const again = await call(ecs, 'RunCommand', fields);
    assert.equal(again.invokeId, first.invokeId);
    assert.equal(again.commandId, first.commandId);
    const e = await refusal(ecs, 'RunCommand', { ...fields, commandContent: 'echo other' });
    assert.deepEqual(e, { code: 'IdempotentParameterMismatch', status: 403 });
  });
  await check('RunCommand with KeepCommand true keeps its command; without, not', async () => {
    const kept = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'true',
      keepCommand: true,
      instanceId: [S.instanceId],
    });
    const gone = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'true',
      instanceId: [S.instanceId],
    });
    assert.equal((await call(ecs, 'DescribeCommands', { commandId: kept.commandId })).totalCount, 1);
    assert.equal((await call(ecs, 'DescribeCommands', { commandId: gone.commandId })).totalCount, 0);
  });
}

// Seed 004's error table, every row: the bad input that reaches each code through the SDK (a
// RunCommand unless `action` says otherwise), or where else a test reaches it, or why it does not
// apply to a self-hosted server. The rows are checked against the seed when ../shared is there.
function errorTable(S) {
  const many = (n, f) => Array.from({ length: n }, (_, i) => f(i));
  const params = { enableParameter: true, commandContent: 'echo {{a}}' };
  const noTargets = { instanceId: undefined };
  const unitTest = 'tests/unit/server/acs/acs_actions_test.cpp';
  return [
    ['RegionId.ApiNotSupported', 400, { na: 'every action is served in every region served' }],
    ['MissingParam.InstanceId', 400, { fields: noTargets }],
    ['NumberExceed.Tags', 400, { fields: { tag: many(21, (i) => ({ key: `k${i}`, value: 'v' })) } }],
    ['InvalidTagValue.Malformed', 400, { fields: { tag: [{ key: 'k', value: 'http://x' }] } }],
    ['Duplicate.TagKey', 400, { fields: { tag: [{ key: 'k' }, { key: 'k' }] } }],
    ['InvalidTagKey.Malformed', 400, { fields: { tag: [{ key: 'aliyun-x', value: 'v' }] } }],
    ['MissingParameter.TagKey', 400, { fields: { tag: [{ value: 'v' }] } }],
    ['InvalidContainerId.Malformed', 400, { fields: { containerId: 'not-hex' } }],
    ['InvalidContainerName.Malformed', 400, { fields: { containerName: '-bad' } }],
    ['InvalidClientToken.Malformed', 400, { fields: { clientToken: 't'.repeat(65) } }],
    ['CmdParam.EmptyKey', 400, { fields: { ...params, commandContent: 'echo {{}}' } }],
    ['CmdParam.InvalidParamName', 400, { fields: { ...params, commandContent: 'echo {{a.b}}' } }],
    ['CmdContent.DecodeError', 400, { fields: { commandContent: '!!', contentEncoding: 'Base64' } }],
    ['InvalidInstance.NotMatch', 400, { fields: { type: 'RunBatScript' } }],
    ['MissingParam.Frequency', 400, { fields: { repeatMode: 'Period' } }],
    ['InvalidParam.Frequency', 400, { fields: { repeatMode: 'Period', frequency: 'rate(30s)' } }],
    ['ParameterKey.Duplicate', 400, { fields: { ...params, parameters: { a: '1', A: '2' } } }],
    ['Parameter.NotMatched', 400, { fields: { ...params, parameters: { b: '1' } } }],
    [
      'WindowsPasswordName.Missed',
      400,
      { na: 'no password is needed to run as a user; WindowsPasswordName is ParameterStore.NotSupported' },
    ],
    ['Parameter.Disabled', 400, { fields: { parameters: { a: 'b' } } }],
    ['InvalidParameter.WorkingDir', 400, { fields: { workingDir: `/${'d'.repeat(250)}` } }],
    [
      'NumberExceed.ResourceTags',
      400,
      { fields: { ...noTargets, resourceTag: many(11, (i) => ({ key: `k${i}` })) } },
    ],
    ['MissingParameter.ResourceTagKey', 400, { fields: { ...noTargets, resourceTag: [{ value: 'v' }] } }],
    [
      'InvalidResourceTagKey.Malformed',
      400,
      { fields: { ...noTargets, resourceTag: [{ key: 'acs:x' }] } },
    ],
    [
      'InvalidResourceTagValue.Malformed',
      400,
      { fields: { ...noTargets, resourceTag: [{ key: 'k', value: 'v'.repeat(129) }] } },
    ],
    [
      'Duplicate.ResourceTagKey',
      400,
      { fields: { ...noTargets, resourceTag: [{ key: 'k' }, { key: 'k' }] } },
    ],
    [
      'InvalidResourceTag.InstanceNotFound',
      400,
      { fields: { ...noTargets, resourceTag: [{ key: 'nobody-has-this-tag' }] } },
    ],
    ['InvalidResourceTag.ConflictWithInstanceIds', 400, { fields: { resourceTag: [{ key: 'k' }] } }],
    ['CmdContent.ExceedLimit', 403, { fields: { commandContent: 'x'.repeat(19 * 1024) } }],
    ['CmdName.ExceedLimit', 403, { fields: { name: 'n'.repeat(129) } }],
    ['CmdDesc.ExceedLimit', 403, { fields: { description: 'd'.repeat(513) } }],
    ['CmdCount.ExceedQuota', 403, { run: () => exceedCommandQuota(S) }],
    [
      'CmdParamCount.ExceedLimit',
      403,
      { fields: { ...params, commandContent: many(21, (i) => `{{p${i}}}`).join(' ') } },
    ],
    ['CmdParamName.ExceedLimit', 403, { fields: { ...params, commandContent: `{{${'p'.repeat(65)}}}` } }],
    ['InstanceIds.ExceedLimit', 403, { fields: { instanceId: many(101, (i) => `i-${i}`) } }],
    ['Invocation.ExceedQuota', 403, { na: 'no daily cap: the rate limit (Throttling.User) bounds callers' }],
    [
      'ParameterCount.ExceedLimit',
      403,
      { fields: { ...params, parameters: Object.fromEntries(many(11, (i) => [`p${i}`, 'v'])) } },
    ],
    ['ParameterKey.ExceedLimit', 403, { fields: { ...params, parameters: { ['k'.repeat(65)]: 'v' } } }],
    ['ParameterType.NotSupported', 403, { fields: { ...params, parameters: { a: 1 } } }],
    ['Username.ExceedLimit', 403, { fields: { username: 'u'.repeat(256) } }],
    ['WindowsPasswordName.ExceedLimit', 403, { fields: { windowsPasswordName: 'p'.repeat(256) } }],
    ['ParameterStore.NotSupported', 403, { fields: { windowsPasswordName: 'axtSecretPassword' } }],
    ['TemporaryAccessKey.Error', 403, { client: ecsClient(S.server.port, SECRET, 'sts-token') }],
    ['ParameterStore.InvalidParameters', 403, { na: 'no Parameter Store (ParameterStore.NotSupported)' }],
    ['ParameterStore.NoPermission', 403, { na: 'no Parameter Store (ParameterStore.NotSupported)' }],
    ['OperationDenied.BidOwnResource', 403, { na: 'no billing' }],
    ['Operation.Forbidden', 403, { run: () => modifyOnce(S) }],
    [
      'IdempotentParameterMismatch',
      403,
      { run: () => tokenMismatch(S), also: 'kept commands: ClientToken' },
    ],
    ['IdempotentProcessing', 403, { elsewhere: `${unitTest}, "ClientToken" (a claimed token)` }],
    ['InvalidStatus.ResourceGroup', 403, { na: 'no resource groups' }],
    ['InvalidParameterCharacter.CommandName', 403, { fields: { name: 'a\u0001b' } }],
    ['InvalidParameterCharacter.CommandDescription', 403, { fields: { description: 'a\u0000b' } }],
    ['InvalidParameterCharacter.CommandWorkingDir', 403, { fields: { workingDir: '/tmp\n/x' } }],
    ['InvalidLauncher.LengthLimitExceeded', 403, { fields: { launcher: 'l'.repeat(1025) } }],
    ['InvalidParameterCharset.Parameters', 403, { fields: { ...params, parameters: { a: 'x\u0000y' } } }],
    ['InvalidCmdType.NotFound', 404, { fields: { type: 'RunPython' } }],
    ['InvalidRepeatMode.NotFound', 404, { fields: { repeatMode: 'Sometimes' } }],
    ['InvalidRegionId.NotFound', 404, { fields: { regionId: 'cn-nowhere' } }],
    ['InvalidInstance.NotFound', 404, { fields: { instanceId: ['rins-00000000'] } }],
    ['InvalidCmdId.NotFound', 404, { action: 'InvokeCommand', fields: { commandId: 'c-0000000000' } }],
    ['InvalidResourceGroup.NotFound', 404, { na: 'no resource groups (ResourceGroupId is not kept)' }],
    ['InvalidTerminationMode.NotFound', 404, { fields: { terminationMode: 'Gently' } }],
    ['InternalError.Dispatch', 500, { na: 'no input reaches it: a failing store answers InternalError' }],
  ];
}

// CreateCommand until the quota (SERVER_CONFIG.command_quota) refuses one; the error. The
// commands made are deleted again.
async function exceedCommandQuota(S) {
  const made = [];
  try {
    for (let i = 0; i <= SERVER_CONFIG.command_quota; i++) {
      try {
        const r = await call(S.ecs, 'CreateCommand', {
          name: `quota-${i}`,
          type: 'RunShellScript',
          commandContent: 'echo',
        });
        made.push(r.commandId);
      } catch (e) {
        return { code: e.code, status: e.statusCode };
      }
    }
    throw new Error(`${made.length} commands made, none refused`);
  } finally {
    for (const commandId of made) await call(S.ecs, 'DeleteCommand', { commandId });
  }
}

// ModifyInvocationAttribute of a run without a schedule: nothing to modify.
async function modifyOnce(S) {
  const r = await call(S.ecs, 'RunCommand', {
    type: 'RunShellScript',
    commandContent: 'echo once',
    instanceId: [S.instanceId],
  });
  return refusal(S.ecs, 'ModifyInvocationAttribute', { invokeId: r.invokeId, frequency: 'rate(5m)' });
}

async function tokenMismatch(S) {
  const fields = {
    type: 'RunShellScript',
    commandContent: 'echo token',
    instanceId: [S.instanceId],
    clientToken: 'error-table-token',
  };
  await call(S.ecs, 'RunCommand', fields);
  return refusal(S.ecs, 'RunCommand', { ...fields, commandContent: 'echo changed' });
}

// The rows of seed 004's error table ("403CmdName.ExceedLimitThe length of ..."), when
// ../shared/seeds is beside the project; null otherwise.
function seedErrorRows() {
  const dir = path.join(__dirname, '..', '..', '..', 'shared', 'seeds');
  const file = fs.existsSync(dir) && fs.readdirSync(dir).find((f) => f.startsWith('004_'));
  if (!file) return null;
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  const table = text.slice(text.indexOf('HTTP status codeError code'), text.indexOf('For a list of error codes'));
  return table.split('\n').filter((line) => /^[45]\d\d[A-Z]/.test(line));
}

async function errors(S) {
  const { ecs } = S;
  const table = errorTable(S);
  await check("the table has every row of seed 004's error table, once", async () => {
    const ours = table.map(([code, status]) => `${status}${code}`);
    assert.equal(new Set(ours).size, ours.length, 'a code twice');
    const rows = seedErrorRows();
    if (rows === null) {
      console.log('#   ../shared/seeds is not beside the project: the table is not compared');
      return;
    }
    // Each seed row starts with exactly one of ours, its message right after the code.
    for (const row of rows) {
      const matching = ours.filter((c) => row.startsWith(c) && /^([A-Z-]|$)/.test(row.slice(c.length)));
      assert.equal(matching.length, 1, `seed row "${row.slice(0, 60)}" matches ${matching}`);
    }
    assert.equal(ours.length, rows.length);
  });
  let reached = 0;
  for (const [code, status, row] of table) {
    if (row.na || row.elsewhere) {
      console.log(`#   ${code}: ${row.na ? `not applicable: ${row.na}` : `tested in ${row.elsewhere}`}`);
      continue;
    }
    reached++;
    await check(`${code} (${status})`, async () => {
      let got;
      if (row.run) {
        got = await row.run();
      } else {
        got = await refusal(row.client || ecs, row.action || 'RunCommand', {
          type: 'RunShellScript',
          commandContent: 'echo',
          instanceId: [S.instanceId],
          ...row.fields,
        });
      }
      assert.deepEqual(got, { code, status });
    });
  }
  console.log(`#   ${reached} of ${table.length} codes reached through the SDK`);
  await check('an action Ferry does not serve: InvalidAction.NotFound (404)', async () => {
    const e = await refusal(ecs, 'DescribeInstances', {});
    assert.deepEqual(e, { code: 'InvalidAction.NotFound', status: 404 });
  });
  await check('a wrong secret: SignatureDoesNotMatch', async () => {
    const e = await refusal(ecsClient(S.server.port, 'wrong'), 'DescribeCommands', {});
    assert.equal(e.code, 'SignatureDoesNotMatch');
  });
}

async function bothApis(S) {
  const { ecs, tat } = S;
  await check('the TAT API lists the invocation made through Cloud Assistant', async () => {
    const r = await tat.DescribeInvocations({ InvocationIds: [S.acsInvokeId] });
    assert.equal(r.TotalCount, 1);
    assert.equal(r.InvocationSet[0].InvocationStatus, 'SUCCESS');
  });
  await check('Cloud Assistant lists and stops what the TAT API started', async () => {
    const run = await tat.RunCommand({ Content: b64('sleep 60'), InstanceIds: [S.instanceId] });
    const r = await call(ecs, 'DescribeInvocations', { invokeId: run.InvocationId });
    assert.equal(r.totalCount, 1);
    assert.equal(r.invocations.invocation[0].invokeInstances.invokeInstance[0].instanceId, S.instanceId);
    // Stopped once it runs (as the Cloud Assistant stop above), so that the agent kills it.
    await waitFor('the TAT task running', async () => {
      const t = await tat.DescribeInvocations({ InvocationIds: [run.InvocationId] });
      return t.InvocationSet[0].InvocationStatus === 'RUNNING';
    }, 15000);
    await call(ecs, 'StopInvocation', { invokeId: run.InvocationId });
    let last = '';
    await waitFor(
      'the TAT task ended',
      async () => {
        const t = await tat.DescribeInvocations({ InvocationIds: [run.InvocationId] });
        last = t.InvocationSet[0].InvocationStatus;
        return ['CANCELLED', 'TERMINATED'].includes(last);
      },
      30000,
      200,
      () => `last status ${last}`,
    );
  });
  await check('pop-core (signature v1, GET) reads the same invocation', async () => {
    const pop = new PopCore({
      accessKeyId: AK,
      accessKeySecret: SECRET,
      endpoint: `http://127.0.0.1:${S.server.port}`,
      apiVersion: '2014-05-26',
    });
    const r = await pop.request('DescribeInvocations', { RegionId: REGION, InvokeId: S.acsInvokeId });
    assert.equal(r.TotalCount, 1);
    assert.equal(r.Invocations.Invocation[0].InvocationStatus, 'Success');
    const post = await pop.request(
      'DescribeInvocationResults',
      { RegionId: REGION, InvokeId: S.acsInvokeId, ContentEncoding: 'PlainText' },
      { method: 'POST' },
    );
    assert.equal(post.Invocation.InvocationResults.InvocationResult[0].Output, `hello Jack\n${S.instanceId}\n`);
  });
}

// Every result of `invokeId`, with IncludeHistory.
async function history(ecs, invokeId) {
  const r = await call(ecs, 'DescribeInvocationResults', { invokeId, includeHistory: true });
  return r.invocation.invocationResults.invocationResult;
}

async function schedules(S) {
  const { ecs } = S;
  let cronId;
  await check('a seconds-level cron (every 10 s) runs several times on the agent', async () => {
    const r = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'echo tick',
      frequency: '0/10 * * * * ?',
      timeout: 5,
      instanceId: [S.instanceId],
    });
    cronId = r.invokeId;
    const inv = await call(ecs, 'DescribeInvocations', { invokeId: cronId });
    assert.equal(inv.invocations.invocation[0].repeatMode, 'Period');
    assert.equal(inv.invocations.invocation[0].frequency, '0/10 * * * * ?');
    const runs = await waitFor(
      'two finished runs',
      async () => {
        const h = await history(ecs, cronId);
        return h.filter((x) => x.invocationStatus === 'Success').length >= 2 ? h : null;
      },
      35000,
      500,
    );
    for (const run of runs.filter((x) => x.invocationStatus === 'Success')) {
      assert.equal(unb64(run.output), 'tick\n');
      // A cron run starts on its slot: a whole multiple of 10 s.
      assert.equal(new Date(run.startTime).getUTCSeconds() % 10, 0, run.startTime);
    }
    const latest = await call(ecs, 'DescribeInvocationResults', { invokeId: cronId });
    assert.equal(latest.invocation.totalCount, 1, 'without IncludeHistory: the latest run');
  });
  await check('ModifyInvocationAttribute changes what the next runs print', async () => {
    await call(ecs, 'ModifyInvocationAttribute', { invokeId: cronId, commandContent: 'echo tock' });
    await waitFor(
      'a run of the new content',
      async () => (await history(ecs, cronId)).some((x) => unb64(x.output) === 'tock\n'),
      25000,
      500,
    );
  });
  await check('StopInvocation ends the schedule: Stopped, and no run after', async () => {
    await call(ecs, 'StopInvocation', { invokeId: cronId });
    const inv = await call(ecs, 'DescribeInvocations', { invokeId: cronId });
    assert.ok(['Stopped', 'Stopping'].includes(inv.invocations.invocation[0].invocationStatus));
    const count = (await history(ecs, cronId)).length;
    await harness.sleep(11000);
    assert.equal((await history(ecs, cronId)).length, count, 'no run after the stop');
  });
  await check('at() runs once, on time to the second', async () => {
    const at = Math.ceil((Date.now() + 4000) / 1000) * 1000;
    const text = new Date(at).toISOString().slice(0, 19).replace('T', ' ');
    const r = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'echo at',
      frequency: `at(${text} UTC)`,
      instanceId: [S.instanceId],
    });
    const result = await finalResult(ecs, r.invokeId, 20000);
    assert.equal(result.invocationStatus, 'Success');
    const started = Date.parse(result.startTime);
    assert.ok(started >= at, `started ${result.startTime}, slot ${text}`);
    if (process.env.FERRY_SANITIZED !== '1') {
      assert.ok(started < at + 2000, `started ${result.startTime}, slot ${text}`);
    }
    await harness.sleep(1500);
    assert.equal((await history(ecs, r.invokeId)).length, 1, 'one run only');
  });
}

async function tags(S) {
  const { ecs } = S;
  await check('TagResources, then RunCommand with ResourceTag targets the tagged instance', async () => {
    await call(ecs, 'TagResources', {
      resourceType: 'managedinstance',
      resourceId: [S.instanceId],
      tag: [{ key: 'tier', value: 'web' }],
    });
    const listed = await call(ecs, 'ListTagResources', { resourceType: 'instance' });
    assert.deepEqual(
      listed.tagResources.tagResource.map((t) => [t.resourceId, t.tagKey, t.tagValue]),
      [[S.instanceId, 'tier', 'web']],
    );
    const r = await call(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'echo tagged',
      resourceTag: [{ key: 'tier', value: 'web' }],
    });
    const result = await finalResult(ecs, r.invokeId);
    assert.equal(result.instanceId, S.instanceId);
    assert.equal(unb64(result.output), 'tagged\n');
    const e = await refusal(ecs, 'RunCommand', {
      type: 'RunShellScript',
      commandContent: 'echo',
      resourceTag: [{ key: 'tier', value: 'db' }],
    });
    assert.deepEqual(e, { code: 'InvalidResourceTag.InstanceNotFound', status: 400 });
    await call(ecs, 'UntagResources', {
      resourceType: 'instance',
      resourceId: [S.instanceId],
      tagKey: ['tier'],
    });
    const after = await call(ecs, 'ListTagResources', { resourceType: 'instance' });
    assert.equal(after.tagResources.tagResource.length, 0);
  });
}

async function instances(S) {
  const { ecs } = S;
  await check('ModifyManagedInstance renames it', async () => {
    const r = await call(ecs, 'ModifyManagedInstance', { instanceId: S.instanceId, instanceName: 'acs-renamed' });
    assert.equal(r.instance.instanceName, 'acs-renamed');
    const d = await call(ecs, 'DescribeManagedInstances', { instanceName: 'acs-renamed' });
    assert.equal(d.totalCount, 1);
  });
  await check('DisableActivation and DeleteActivation', async () => {
    const d = await call(ecs, 'DisableActivation', { activationId: S.activationId });
    assert.equal(d.activation.disabled, true);
    const g = await call(ecs, 'DeleteActivation', { activationId: S.activationId });
    assert.equal(g.activation.activationId, S.activationId);
  });
}

// --- the run -------------------------------------------------------------------------------

// SendFile to the real agent: the file read back from disk with its mode and owner, the refusal
// to replace it without Overwrite, and DescribeSendFileResults in the SDK's model.
async function sendFiles(S) {
  const { ecs } = S;
  const fs = require('node:fs');
  const os = require('node:os');
  const { execFileSync } = require('node:child_process');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-acs-send-'));
  const dir = path.join(root, 'made', 'here');
  const owner = os.userInfo().username;
  const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
  const sent = { name: 'app.conf', targetDir: dir, fileOwner: owner, fileGroup: group };
  const delivered = async (invokeId) =>
    waitFor(`the delivery ${invokeId} final`, async () => {
      const r = await call(ecs, 'DescribeSendFileResults', { invokeId });
      const inv = r.invocations.invocation[0];
      return inv && ['Success', 'Failed'].includes(inv.invocationStatus) ? inv : null;
    }, 30000);
  await check('SendFile writes the file with its mode: read back from disk', async () => {
    const r = await call(ecs, 'SendFile', {
      ...sent,
      content: 'key=value\n',
      fileMode: '0640',
      instanceId: [S.instanceId],
    });
    assert.match(r.invokeId, /^inv-/);
    const inv = await delivered(r.invokeId);
    assert.equal(inv.invocationStatus, 'Success', JSON.stringify(inv));
    assert.equal(inv.name, 'app.conf');
    assert.equal(inv.targetDir, dir);
    assert.equal(inv.fileMode, '0640');
    assert.equal(inv.overwrite, 'false');
    assert.equal(inv.vmCount, 1);
    assert.equal(inv.invokeInstances.invokeInstance[0].invocationStatus, 'Success');
    const file = path.join(dir, 'app.conf');
    assert.equal(fs.readFileSync(file, 'utf8'), 'key=value\n');
    assert.equal(fs.statSync(file).mode & 0o7777, 0o640);
    assert.equal(fs.statSync(file).uid, os.userInfo().uid);
  });
  await check('a second SendFile without Overwrite fails: FileAlreadyExists, file kept', async () => {
    const r = await call(ecs, 'SendFile', {
      ...sent,
      content: b64('other'),
      contentType: 'Base64',
      instanceId: [S.instanceId],
    });
    const inv = await delivered(r.invokeId);
    assert.equal(inv.invocationStatus, 'Failed');
    assert.equal(inv.invokeInstances.invokeInstance[0].errorCode, 'FileAlreadyExists');
    assert.equal(fs.readFileSync(path.join(dir, 'app.conf'), 'utf8'), 'key=value\n');
  });
  await check('with Overwrite the file is replaced, 0755', async () => {
    const r = await call(ecs, 'SendFile', {
      ...sent,
      content: 'new',
      overwrite: true,
      fileMode: '0755',
      instanceId: [S.instanceId],
    });
    const inv = await delivered(r.invokeId);
    assert.equal(inv.invocationStatus, 'Success', JSON.stringify(inv));
    assert.equal(fs.readFileSync(path.join(dir, 'app.conf'), 'utf8'), 'new');
    assert.equal(fs.statSync(path.join(dir, 'app.conf')).mode & 0o7777, 0o755);
  });
  await check('deliveries are not DescribeInvocations entries; Name filters them', async () => {
    const r = await call(ecs, 'DescribeSendFileResults', { name: 'app.conf', maxResults: 50 });
    assert.equal(r.totalCount, 3);
    const runs = await call(ecs, 'DescribeInvocations', { maxResults: 50 });
    for (const inv of runs.invocations.invocation) assert.notEqual(inv.commandName, 'app.conf');
  });
  await check('Tag.N and ClientToken: one tagged delivery per token, listed by its tags', async () => {
    const request = {
      ...sent,
      name: 'tagged.conf',
      content: 'tagged',
      instanceId: [S.instanceId],
      tag: [{ key: 'team', value: 'ops' }],
      clientToken: 'ferry-sdk-send-file-1',
    };
    const r = await call(ecs, 'SendFile', request);
    assert.equal((await call(ecs, 'SendFile', request)).invokeId, r.invokeId);
    const inv = await delivered(r.invokeId);
    assert.equal(inv.invocationStatus, 'Success', JSON.stringify(inv));
    assert.deepEqual(
      inv.tags.tag.map((t) => [t.tagKey, t.tagValue]),
      [['team', 'ops']],
    );
    assert.equal(fs.readFileSync(path.join(dir, 'tagged.conf'), 'utf8'), 'tagged');
    const byTag = await call(ecs, 'DescribeSendFileResults', { tag: [{ key: 'team', value: 'ops' }] });
    assert.deepEqual(byTag.invocations.invocation.map((i) => i.invokeId), [r.invokeId]);
    const none = await call(ecs, 'DescribeSendFileResults', { tag: [{ key: 'team', value: 'dev' }] });
    assert.equal(none.totalCount, 0);
    const e = await refusal(ecs, 'SendFile', { ...request, content: 'changed' });
    assert.deepEqual(e, { code: 'IdempotentParameterMismatch', status: 403 });
  });
  await check('a delivery is neither stopped through Cloud Assistant nor listed by TAT', async () => {
    const r = await call(ecs, 'DescribeSendFileResults', { name: 'tagged.conf' });
    const invokeId = r.invocations.invocation[0].invokeId;
    assert.equal((await refusal(ecs, 'StopInvocation', { invokeId })).code, 'InvalidInvokeId.NotFound');
    const e = await refusal(ecs, 'ModifyInvocationAttribute', { invokeId, frequency: 'rate(5m)' });
    assert.equal(e.code, 'InvalidInvokeId.NotFound');
    const tatInvocations = await S.tat.DescribeInvocations({ InvocationIds: [invokeId] });
    assert.equal(tatInvocations.TotalCount, 0);
    const tatTasks = await S.tat.DescribeInvocationTasks({
      Filters: [{ Name: 'invocation-id', Values: [invokeId] }],
    });
    assert.equal(tatTasks.TotalCount, 0);
  });
  await check('SendFile refuses a relative TargetDir: InvalidParameter', async () => {
    const e = await refusal(ecs, 'SendFile', {
      ...sent,
      targetDir: 'relative',
      content: 'x',
      instanceId: [S.instanceId],
    });
    assert.equal(e.code, 'InvalidParameter');
    assert.equal(e.status, 400);
  });
  fs.rmSync(root, { recursive: true, force: true });
}

async function main() {
  const started = Date.now();
  const server = new FerryServer(FERRY_SERVER, {
    secretId: AK,
    secretKey: SECRET,
    config: SERVER_CONFIG,
  });
  const agent = new FerryAgent(FERRY_AGENT);
  if (!(await harness.startServer(server, `@alicloud/ecs20140526 ${ecsVersion}`))) {
    agent.kill();
    return;
  }
  const S = {
    server,
    agent,
    ecs: ecsClient(server.port),
    tat: harness.makeClient(TatClient, `127.0.0.1:${server.port}`, {
      secretId: AK,
      secretKey: SECRET,
      region: 'ap-guangzhou',
    }),
  };
  try {
    await section('a real agent registers with an activation', () => registration(S));
    if (S.instanceId && S.daemonUp) {
      await section('RunCommand on the agent', () => runCommands(S));
      await section('ContainerName and ContainerId, in a Podman container', () => containers(S));
      await section('kept commands', () => keptCommands(S));
      await section('refusals with seed 004 codes', () => errors(S));
      await section('one store for both APIs', () => bothApis(S));
      await section('tags and ResourceTag', () => tags(S));
      await section('schedules: cron, at()', () => schedules(S));
      await section('SendFile to the agent', () => sendFiles(S));
      await section('managed instances and activations', () => instances(S));
    }
  } finally {
    if (agent.child) await agent.stop();
    if (harness.anyFailed()) console.log(`# ferry-agent log (last lines):\n${agent.logTail()}`);
    await harness.stopServer(server);
    agent.kill();
  }
  console.log(`# ACS SDK tests took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

harness.run(main, () => {});
