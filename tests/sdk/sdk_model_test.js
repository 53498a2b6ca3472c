#!/usr/bin/env node
'use strict';
// The TAT API of ferry-server against the official SDK's own model: tat_models.d.ts of the
// installed tencentcloud-sdk-nodejs, parsed at run time, so that an SDK upgrade runs this test
// against the new model. For every action ferry-server serves (read from
// server/tat/tat_actions.cpp), the test calls it through the SDK's TatClient with every declared
// request field set, and checks every declared response field, recursively into nested models
// and arrays: present, of the declared JSON type, null only where the model says it "may return
// null"; a field the model does not declare is reported too. Exceptions are the two explicit
// lists below, each entry with its reason.
//
// Run by ctest (ferry_sdk_model_tests) with FERRY_SERVER set to the server binary; by hand:
//   FERRY_SERVER=build/bin/ferry-server node tests/sdk/sdk_model_test.js
// Prints a table of what was checked, one line per check and "N passed, N failed" at the end.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const harness = require('./harness');

const { TatClient, sdkVersion, FERRY_SERVER } = harness.setUp('sdk_model_test', {
  FERRY_SERVER: 'ferry-server',
});
const { check, section, b64, waitFor } = harness;
const { FerryServer } = require('./ferry_server');
const { ScriptedAgent } = require('./scripted_agent');

const MODELS_FILE = path.join(
  __dirname,
  'node_modules/tencentcloud-sdk-nodejs/tencentcloud/services/tat/v20201028/tat_models.d.ts',
);
const ACTIONS_FILE = path.join(__dirname, '..', '..', 'server', 'tat', 'tat_actions.cpp');

const CREDENTIALS = {
  secretId: 'AKIDferrysdkmodel000000000000000',
  secretKey: 'ferrysdkmodelsecretkey000000000000000000',
  region: 'ap-guangzhou',
};
const SERVER_CONFIG = {
  log_level: 'warn',
  account_id: '100012345678',
  regions: [harness.GUANGZHOU],
};

// --- the exceptions ----------------------------------------------------------------------------

// Response fields Ferry leaves out although the model declares them (each optional in the
// model, as every response field is). "Model.Field": why. Empty: Ferry answers every field.
const ABSENT_ALLOWED = {};

// Fields Ferry answers that the model does not declare. "Model.Field": why.
const EXTRA_ALLOWED = {
  // Ferry's extension of invokers (docs/schedules.md, docs/architecture.md "Ferry's extensions
  // of the TAT API"): the window a schedule fires in. The SDKs ignore fields they do not know.
  'ScheduleSettings.StartTime': 'Ferry extension: a schedule window (docs/schedules.md)',
  'ScheduleSettings.EndTime': 'Ferry extension: a schedule window (docs/schedules.md)',
};

// Models the responses declare that a run cannot show an instance of. "Model": why.
const UNSEEN_ALLOWED = {
  // DescribeScenes lists none (docs/architecture.md "The TAT model, field by field").
  Scene: 'Ferry has no scenes: DescribeScenes lists none',
};

// --- the model ---------------------------------------------------------------------------------

// tat_models.d.ts: `export interface Name { /** doc */ Field?: Type; ... }` and
// `export type Name = null;` (a request without fields). A field is nullable when its doc says
// the cloud may return null ("可能返回 null", or "取不到有效值" in older wording).
function parseModels(text) {
  const models = new Map();
  for (const m of text.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const fields = new Map();
    for (const f of m[2].matchAll(/\/\*\*([\s\S]*?)\*\/\s*(\w+)(\??): ([^;\n]+);/g)) {
      fields.set(f[2], {
        optional: f[3] === '?',
        type: f[4].trim(),
        nullable: /可能返回 ?null|取不到有效值/i.test(f[1]),
      });
    }
    models.set(m[1], fields);
  }
  for (const m of text.matchAll(/^export type (\w+) = null;/gm)) models.set(m[1], null);
  return models;
}

// The actions ferry-server serves in the TAT dialect: the table of tat_actions.cpp and the ones
// it adds beside the table.
function servedActions(text) {
  const names = new Set();
  for (const m of text.matchAll(/\{"([A-Z]\w+)", &a::/g)) names.add(m[1]);
  for (const m of text.matchAll(/actions\.add\("([A-Z]\w+)"/g)) names.add(m[1]);
  return [...names].sort();
}

const arrayOf = (type) => /^Array<(.+)>$/.exec(type)?.[1];
const SCALARS = new Set(['string', 'number', 'boolean']);

// --- checking an answer ------------------------------------------------------------------------

const newStats = () => ({
  objects: new Map(), // model -> objects checked
  fields: new Set(), // "Model.Field" checked at least once
  values: 0, // values checked
  absent: new Set(), // "Model.Field" absent and allowed
  extra: new Set(), // "Model.Field" extra and allowed
});
let stats = newStats();

function checkValue(models, where, type, nullable, value, problems) {
  stats.values += 1;
  if (value === null) {
    if (!nullable) problems.push(`${where}: null, the model says ${type} (not nullable)`);
    return;
  }
  const element = arrayOf(type);
  if (element) {
    if (!Array.isArray(value)) {
      problems.push(`${where}: ${JSON.stringify(value)}, the model says ${type}`);
      return;
    }
    value.forEach((v, i) => checkValue(models, `${where}[${i}]`, element, false, v, problems));
    return;
  }
  if (SCALARS.has(type)) {
    if (typeof value !== type) {
      problems.push(`${where}: ${JSON.stringify(value)} (${typeof value}), the model says ${type}`);
    }
    return;
  }
  if (!models.has(type) || models.get(type) === null) {
    problems.push(`${where}: the model's type ${type} is not understood by this test`);
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${where}: ${JSON.stringify(value)}, the model says ${type} (an object)`);
    return;
  }
  checkObject(models, where, type, value, problems);
}

function checkObject(models, where, model, obj, problems) {
  stats.objects.set(model, (stats.objects.get(model) || 0) + 1);
  const fields = models.get(model);
  for (const [name, f] of fields) {
    const key = `${model}.${name}`;
    stats.fields.add(key);
    if (!(name in obj)) {
      if (f.optional && ABSENT_ALLOWED[key]) stats.absent.add(key);
      else problems.push(`${where}.${name}: missing (the model says ${f.type})`);
      continue;
    }
    checkValue(models, `${where}.${name}`, f.type, f.nullable, obj[name], problems);
  }
  for (const name of Object.keys(obj)) {
    if (fields.has(name)) continue;
    const key = `${model}.${name}`;
    if (EXTRA_ALLOWED[key]) stats.extra.add(key);
    else problems.push(`${where}.${name}: not in the model (${JSON.stringify(obj[name])})`);
  }
}

// The request fields sent, by model, nested ones included ("RunCommandRequest.Tags",
// "Tag.Key"): to show that every declared field was set at least once.
function noteSent(models, model, obj, sent) {
  const fields = models.get(model);
  if (!fields) return;
  for (const [name, value] of Object.entries(obj)) {
    sent.add(`${model}.${name}`);
    const f = fields.get(name);
    if (!f || value === null || typeof value !== 'object') continue;
    const type = arrayOf(f.type) || f.type;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v && typeof v === 'object') noteSent(models, type, v, sent);
    }
  }
}

// A TaskResult as the model declares it (its scalar fields: "", 0, false), with `changes`: for
// the checker's own check.
function taskResultWith(models, changes) {
  const blank = { string: '', number: 0, boolean: false };
  const result = {};
  for (const [name, f] of models.get('TaskResult')) result[name] = blank[f.type];
  return { ...result, ...changes };
}

// --- the run -----------------------------------------------------------------------------------

let onInterrupt = () => {};

async function main() {
  const started = Date.now();
  const models = parseModels(fs.readFileSync(MODELS_FILE, 'utf8'));
  const actions = servedActions(fs.readFileSync(ACTIONS_FILE, 'utf8'));
  const parsed = `the model parses: ${models.size} models; ferry serves ${actions.length} actions`;
  await check(parsed, () => {
    assert.ok(models.size > 50, `${models.size} models in ${MODELS_FILE}`);
    assert.ok(actions.length > 20, `${actions.length} actions in ${ACTIONS_FILE}`);
    for (const a of actions) {
      assert.ok(models.has(`${a}Request`), `${a}Request is in the model`);
      assert.ok(models.get(`${a}Response`), `${a}Response is in the model`);
    }
  });

  await check('the checker reports a null number, a missing field and an undeclared one', () => {
    const saved = stats;
    stats = newStats();
    const problems = [];
    try {
      const taskResult = (changes) => taskResultWith(models, changes);
      checkObject(models, 'r', 'TaskResult', taskResult({ ExitCode: null }), problems);
      const noOutput = taskResult({ Extra: 1 });
      delete noOutput.Output;
      checkObject(models, 'r', 'TaskResult', noOutput, problems);
      // Nullable in the model: no problem.
      checkObject(models, 'r', 'TaskResult', taskResult({ ExecEndTime: null }), problems);
    } finally {
      stats = saved;
    }
    assert.deepEqual(problems, [
      'r.ExitCode: null, the model says number (not nullable)',
      'r.Output: missing (the model says string)',
      'r.Extra: not in the model (1)',
    ]);
  });

  const server = new FerryServer(FERRY_SERVER, { ...CREDENTIALS, config: SERVER_CONFIG });
  onInterrupt = () => server.kill();
  if (!(await harness.startServer(server, sdkVersion))) return;
  const tat = harness.makeClient(TatClient, `127.0.0.1:${server.port}`, CREDENTIALS);

  const calls = new Map(); // action -> {calls, problems: [...]}
  const sent = new Set(); // "Model.Field" of requests
  // One SDK call, its answer checked against the model; the answer.
  async function call(action, request) {
    const entry = calls.get(action) || { calls: 0, problems: [] };
    calls.set(action, entry);
    entry.calls += 1;
    const model = `${action}Request`;
    if (models.get(model) === null) {
      assert.deepEqual(request, {}, `${model} is null in the model: the test sends {}`);
    } else {
      noteSent(models, model, request, sent);
    }
    let answer;
    try {
      answer = await tat[action](request);
    } catch (e) {
      entry.problems.push(`${action}(${JSON.stringify(request)}): ${e.code || ''} ${e.message}`);
      throw e;
    }
    checkObject(models, `${action}Response`, `${action}Response`, answer, entry.problems);
    return answer;
  }

  try {
    await section('every action, every request field', () => exercise(call, server, tat));
  } finally {
    await harness.stopServer(server);
  }
  await report(models, actions, calls, sent);
  console.log(`# the model test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// The calls, in an order that makes something of every kind to show: a register code and a
// registered (scripted) agent, commands, an invocation whose task finished, one cancelled, an
// invoker that fired, and then the modifications and deletions.
async function exercise(call, server, tat) {
  const tags = [{ Key: 'team', Value: 'sdk-model' }];
  const confs = [
    { ParameterName: 'greeting', ParameterValue: 'hi', ParameterDescription: 'how to greet' },
  ];
  const script = b64('echo {{greeting}} {{name}}');

  await call('DescribeRegions', {});
  const code = await call('CreateRegisterCode', {
    Description: 'sdk model',
    InstanceNamePrefix: 'model',
    RegisterLimit: 2,
    EffectiveTime: 4,
    IpAddressRange: '127.0.0.0/8',
  });
  const agent = new ScriptedAgent(server.url);
  const registered = await agent.register(code.RegisterCodeId, code.RegisterCodeValue, {
    Hostname: 'sdk-model-host',
    LocalIp: ['127.0.0.1'],
    MachineId: 'machine-sdk-model',
  });
  assert.equal(registered.Error, undefined, JSON.stringify(registered.Error));
  await agent.heartbeat('ferry-sdk-model/1.0.0');
  const I = agent.instanceId;

  // Commands: CreateCommand with the defaults as confs, a second command with them as JSON text
  // (the two forms; each request field is set in one of the calls).
  const command = await call('CreateCommand', {
    CommandName: 'sdk-model',
    Content: script,
    Description: 'made by sdk_model_test',
    CommandType: 'SHELL',
    WorkingDirectory: '/tmp',
    Timeout: 60,
    EnableParameter: true,
    DefaultParameterConfs: confs,
    Tags: tags,
    Username: 'root',
    OutputCOSBucketUrl: '',
    OutputCOSKeyPrefix: '',
  });
  const C = command.CommandId;
  const other = await call('CreateCommand', {
    CommandName: 'sdk-model-2',
    Content: script,
    EnableParameter: true,
    DefaultParameters: JSON.stringify({ greeting: 'hello', name: 'x' }),
  });
  await call('ModifyCommand', {
    CommandId: other.CommandId,
    CommandName: 'sdk-model-2b',
    Description: 'modified',
    Content: script,
    CommandType: 'SHELL',
    WorkingDirectory: '/var/tmp',
    Timeout: 90,
    DefaultParameters: JSON.stringify({ greeting: 'hey', name: 'y' }),
    Username: 'root',
    OutputCOSBucketUrl: '',
    OutputCOSKeyPrefix: '',
  });
  await call('ModifyCommand', { CommandId: C, DefaultParameterConfs: confs });
  await call('PreviewReplacedCommandContent', {
    CommandId: C,
    Parameters: JSON.stringify({ name: 'sdk' }),
  });
  await call('PreviewReplacedCommandContent', {
    Content: script,
    Parameters: JSON.stringify({ greeting: 'hi', name: 'sdk' }),
  });

  // An invoker that fires 2 to 3 s from now (ONCE): a record for DescribeInvokerRecords.
  const slot = harness.wholeSecondAhead(2000);
  const once = await call('CreateInvoker', {
    Name: 'sdk-model-once',
    Type: 'SCHEDULE',
    CommandId: C,
    InstanceIds: [I],
    Username: 'root',
    Parameters: JSON.stringify({ name: 'invoker' }),
    ScheduleSettings: { Policy: 'ONCE', InvokeTime: harness.zTime(slot) },
    Tags: tags,
  });

  // RunCommand, its task taken through to SUCCESS by the scripted agent.
  const run = await call('RunCommand', {
    Content: script,
    InstanceIds: [I],
    CommandName: 'sdk-model-run',
    Description: 'run by sdk_model_test',
    CommandType: 'SHELL',
    WorkingDirectory: '/tmp',
    Timeout: 60,
    SaveCommand: true,
    EnableParameter: true,
    DefaultParameters: JSON.stringify({ greeting: 'hi', name: 'default' }),
    Parameters: JSON.stringify({ name: 'sdk' }),
    Tags: tags,
    Username: 'root',
    OutputCOSBucketUrl: '',
    OutputCOSKeyPrefix: '',
  });
  await call('RunCommand', {
    Content: script,
    InstanceIds: [I],
    EnableParameter: true,
    DefaultParameterConfs: confs,
    Parameters: JSON.stringify({ name: 'confs' }),
  });
  const runTask = await waitFor('the agent to get the RunCommand task', async () => {
    const r = await agent.describeTasks();
    return r.InvocationNormalTaskSet.find((t) => t.InvocationId === run.InvocationId);
  });
  const T = runTask.InvocationTaskId;
  const startedAt = new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  await agent.reportStart(T, startedAt);
  await agent.uploadLog(T, 0, 'hi sdk\n');
  await agent.reportFinish(T, {
    Result: 'SUCCESS',
    ExitCode: 0,
    Output: b64('hi sdk\n'),
    Dropped: 0,
    OutputSize: 7,
    ExecStartTime: startedAt,
    ExecEndTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    FinalLogIndex: 0,
  });

  // InvokeCommand of the saved command, cancelled while PENDING.
  const invoked = await call('InvokeCommand', {
    CommandId: C,
    InstanceIds: [I],
    Parameters: JSON.stringify({ name: 'invoke' }),
    Username: 'root',
    WorkingDirectory: '/tmp',
    Timeout: 30,
    OutputCOSBucketUrl: '',
    OutputCOSKeyPrefix: '',
  });
  await call('CancelInvocation', { InvocationId: invoked.InvocationId, InstanceIds: [I] });

  // Listings: each with its ids, and again with its filters (the two cannot be given together).
  const paging = { Limit: 100, Offset: 0 };
  await call('DescribeCommands', { CommandIds: [C, other.CommandId], ...paging });
  await call('DescribeCommands', {
    Filters: [{ Name: 'command-name', Values: ['sdk-model'] }],
    ...paging,
  });
  await call('DescribeInvocations', { InvocationIds: [run.InvocationId], ...paging });
  await call('DescribeInvocations', {
    Filters: [{ Name: 'command-id', Values: [C] }],
    ...paging,
  });
  await call('DescribeInvocationTasks', { InvocationTaskIds: [T], HideOutput: false, ...paging });
  await call('DescribeInvocationTasks', {
    Filters: [{ Name: 'instance-id', Values: [I] }],
    HideOutput: false,
    ...paging,
  });
  await call('DescribeRegisterCodes', { RegisterCodeIds: [code.RegisterCodeId], ...paging });
  await call('DescribeRegisterInstances', { InstanceIds: [I], ...paging });
  await call('DescribeRegisterInstances', {
    Filters: [{ Name: 'register-code-id', Values: [code.RegisterCodeId] }],
    ...paging,
  });
  await call('ModifyRegisterInstance', { InstanceId: I, InstanceName: 'sdk-model-renamed' });
  await call('DescribeAutomationAgentStatus', { InstanceIds: [I], ...paging });
  await call('DescribeAutomationAgentStatus', {
    Filters: [{ Name: 'agent-status', Values: ['Online'] }],
    ...paging,
  });
  await call('DescribeQuotas', { ResourceNames: ['COMMAND', 'REGISTER_CODE'] });
  await call('DescribeScenes', { SceneIds: ['scene-00000001'], ...paging });
  await call('DescribeScenes', { Filters: [{ Name: 'scene-name', Values: ['x'] }], ...paging });

  // Invokers: a RECURRENCE one to modify, disable, enable and delete; the ONCE one's record.
  const recurring = await call('CreateInvoker', {
    Name: 'sdk-model-recurring',
    Type: 'SCHEDULE',
    CommandId: C,
    InstanceIds: [I],
    Parameters: JSON.stringify({ name: 'recurring' }),
    ScheduleSettings: { Policy: 'RECURRENCE', Recurrence: '0 3 29 2 *' },
  });
  await call('ModifyInvoker', {
    InvokerId: recurring.InvokerId,
    Name: 'sdk-model-recurring-2',
    Type: 'SCHEDULE',
    CommandId: C,
    Username: 'root',
    Parameters: JSON.stringify({ name: 'modified' }),
    InstanceIds: [I],
    ScheduleSettings: { Policy: 'RECURRENCE', Recurrence: '0 4 29 2 *' },
  });
  await call('DisableInvoker', { InvokerId: recurring.InvokerId });
  await call('EnableInvoker', { InvokerId: recurring.InvokerId });
  await call('DescribeInvokers', { InvokerIds: [once.InvokerId, recurring.InvokerId], ...paging });
  await call('DescribeInvokers', {
    Filters: [{ Name: 'invoker-type', Values: ['SCHEDULE'] }],
    ...paging,
  });
  await waitFor(
    'the ONCE invoker to fire',
    async () => (await tat.DescribeInvokerRecords({ InvokerIds: [once.InvokerId] })).TotalCount,
    6000,
    200,
  );
  await call('DescribeInvokerRecords', { InvokerIds: [once.InvokerId], ...paging });
  // After the invoker fired: its invocation and task are listed too.
  await call('DescribeInvocationTasks', {
    Filters: [{ Name: 'instance-id', Values: [I] }],
    HideOutput: true,
    ...paging,
  });

  // Deletions, the instance last.
  await call('DeleteInvoker', { InvokerId: recurring.InvokerId });
  await call('DeleteCommand', { CommandId: other.CommandId });
  await call('DeleteCommands', { CommandIds: [run.CommandId] });
  const spare = await call('CreateRegisterCode', {});
  await call('DisableRegisterCodes', { RegisterCodeIds: [spare.RegisterCodeId] });
  await call('DeleteRegisterCodes', { RegisterCodeIds: [spare.RegisterCodeId] });
  await call('DeleteRegisterInstance', { InstanceId: I });
}

// The table of what was checked, then one check per action (its mismatches listed) and the
// coverage checks: every served action called, every declared request field sent, every
// response model seen.
async function report(models, actions, calls, sent) {
  const rows = [['action', 'calls', 'request fields sent', 'response fields', 'mismatches']];
  for (const a of actions) {
    const req = models.get(`${a}Request`);
    const declared = req ? [...req.keys()] : [];
    const sentCount = declared.filter((f) => sent.has(`${a}Request.${f}`)).length;
    const res = models.get(`${a}Response`);
    const c = calls.get(a);
    rows.push([
      a,
      String(c ? c.calls : 0),
      req ? `${sentCount}/${declared.length}` : 'none (null)',
      String(res ? res.size : 0),
      String(c ? c.problems.length : '-'),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(`# ${r.map((x, i) => x.padEnd(widths[i])).join('  ')}`);
  // The models the answers hold, recursively from the served actions' responses.
  const reachable = new Set();
  const visit = (model) => {
    if (reachable.has(model) || !models.get(model)) return;
    reachable.add(model);
    for (const f of models.get(model).values()) visit(arrayOf(f.type) || f.type);
  };
  actions.forEach((a) => visit(`${a}Response`));
  const nested = [...reachable].filter((m) => !m.endsWith('Response')).sort();
  console.log(`# nested models (objects checked): ${nested
    .map((m) => `${m} ${stats.objects.get(m) || 0}`)
    .join(', ')}`);
  const responseFields = [...reachable].reduce((n, m) => n + models.get(m).size, 0);
  console.log(
    `# ${actions.length} actions, ${calls.size} called; ${sent.size} request fields sent; ` +
      `${stats.fields.size} of ${responseFields} response fields checked (${stats.values} values)`,
  );
  if (stats.absent.size) console.log(`# absent as allowed: ${[...stats.absent].join(', ')}`);
  if (stats.extra.size) {
    console.log(`# not in the model, as allowed: ${[...stats.extra].join(', ')}`);
  }

  for (const a of actions) {
    await check(`${a}: every response field present and of the model's type`, () => {
      const c = calls.get(a);
      assert.ok(c, `${a} was not called: add it to exercise()`);
      assert.equal(c.problems.length, 0, c.problems.join('\n'));
    });
  }
  await check('every declared request field was sent (nested models included)', () => {
    const missing = [];
    const visitReq = (model, seen) => {
      if (seen.has(model) || !models.get(model)) return;
      seen.add(model);
      for (const [name, f] of models.get(model)) {
        if (!sent.has(`${model}.${name}`)) missing.push(`${model}.${name}`);
        visitReq(arrayOf(f.type) || f.type, seen);
      }
    };
    const seen = new Set();
    actions.forEach((a) => visitReq(`${a}Request`, seen));
    assert.deepEqual(missing, [], `no value sent for: ${missing.join(', ')}`);
  });
  await check('every response model was seen in an answer', () => {
    const unseen = nested.filter((m) => !stats.objects.get(m) && !UNSEEN_ALLOWED[m]);
    assert.deepEqual(unseen, [], `never in an answer: ${unseen.join(', ')}`);
  });
  await check('every response field was checked', () => {
    const unchecked = [];
    for (const m of reachable) {
      if (UNSEEN_ALLOWED[m]) continue;
      for (const f of models.get(m).keys()) {
        if (!stats.fields.has(`${m}.${f}`)) unchecked.push(`${m}.${f}`);
      }
    }
    assert.deepEqual(unchecked, [], `never checked: ${unchecked.join(', ')}`);
  });
}

harness.run(main, () => onInterrupt());
