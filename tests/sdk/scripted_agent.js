'use strict';
// A scripted ferry-agent for the SDK tests: it speaks the agent protocol of docs/protocol.md
// (POST /agent, every request signed with an Ed25519 key) but runs nothing. The test tells it
// which task to fetch, start, log and finish, so every task state can be reached on purpose.
// No WebSocket: Node 18/20 have no client for it, and the server counts an agent as online for
// online_window_s after any signed request, so DescribeTasks polling is enough.

const crypto = require('node:crypto');
const http = require('node:http');

const PROTOCOL_VERSION = '1';
const SIGNING_VERSION = 'FERRY-ED25519-V1';

function sha256Hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

// ferry::agent_signing_string: six lines joined by '\n', no trailing newline.
function signingString(action, body, timestamp, nonce, instanceId) {
  return [SIGNING_VERSION, action, sha256Hex(body), String(timestamp), nonce, instanceId].join(
    '\n',
  );
}

// One POST; resolves with {status, body (parsed JSON or null), text}.
function post(url, headers, body, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = null;
          try {
            parsed = JSON.parse(text);
          } catch (_) {
            parsed = null;
          }
          resolve({ status: res.statusCode, body: parsed, text });
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`agent request timed out after ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

class AgentError extends Error {
  constructor(action, code, message) {
    super(`${action}: ${code}: ${message}`);
    this.code = code;
  }
}

class ScriptedAgent {
  // baseUrl: "http://127.0.0.1:PORT"
  constructor(baseUrl) {
    this.url = `${baseUrl}/agent`;
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    // The SPKI DER of an Ed25519 key ends with the 32 raw bytes of the key.
    this.publicKeyBase64 = publicKey
      .export({ format: 'der', type: 'spki' })
      .subarray(-32)
      .toString('base64');
    this.instanceId = '';
    this.instanceName = '';
  }

  // The same agent (its key and instance id) talking to the server at `baseUrl`: another
  // server on the same database, or its own server started again on another port.
  via(baseUrl) {
    return Object.assign(Object.create(ScriptedAgent.prototype), this, {
      url: `${baseUrl}/agent`,
    });
  }

  // Sends one action. Resolves with the "Response" object (errors included: the caller looks at
  // Response.Error). `opts.instanceId` overrides the X-Ferry-Instance header, `opts.timestamp`
  // the clock, `opts.key` the signing key.
  async call(action, fields = {}, opts = {}) {
    const body = JSON.stringify({ Action: action, ...fields });
    const instanceId = opts.instanceId !== undefined ? opts.instanceId : this.instanceId;
    const timestamp = opts.timestamp !== undefined ? opts.timestamp : Math.floor(Date.now() / 1000);
    const nonce = crypto.randomBytes(24).toString('base64url');
    const signature = crypto
      .sign(
        null,
        Buffer.from(signingString(action, body, timestamp, nonce, instanceId)),
        opts.key || this.privateKey,
      )
      .toString('base64');
    const res = await post(
      this.url,
      {
        'X-Ferry-Instance': instanceId,
        'X-Ferry-Timestamp': String(timestamp),
        'X-Ferry-Nonce': nonce,
        'X-Ferry-Signature': signature,
        'X-Ferry-Protocol': PROTOCOL_VERSION,
      },
      body,
      10000,
    );
    if (!res.body || typeof res.body.Response !== 'object') {
      throw new Error(
        `${action}: HTTP ${res.status} without a JSON envelope: ${res.text.slice(0, 200)}`,
      );
    }
    return res.body.Response;
  }

  // Like call(), but an error reply throws (an AgentError carrying the code).
  async must(action, fields = {}, opts = {}) {
    const r = await this.call(action, fields, opts);
    if (r.Error) {
      throw new AgentError(action, r.Error.Code, r.Error.Message);
    }
    return r;
  }

  async register(codeId, codeValue, extra = {}) {
    const r = await this.call(
      'RegisterInstance',
      {
        RegisterCodeId: codeId,
        RegisterCodeValue: codeValue,
        PublicKey: this.publicKeyBase64,
        SystemName: 'Linux',
        ...extra,
      },
      { instanceId: '' },
    );
    if (!r.Error) {
      this.instanceId = r.InstanceId;
      this.instanceName = r.InstanceName;
    }
    return r;
  }

  heartbeat(version) {
    return this.must('Heartbeat', {
      Version: version,
      Environment: 'Linux',
      SupportFeatures: ['UploadTaskLog', 'CancelTask'],
      ProtocolVersion: Number(PROTOCOL_VERSION),
    });
  }

  describeTasks() {
    return this.must('DescribeTasks');
  }

  reportStart(taskId, timeStamp) {
    return this.must('ReportTaskStart', { InvocationTaskId: taskId, TimeStamp: timeStamp });
  }

  uploadLog(taskId, index, text) {
    return this.must('UploadTaskLog', {
      InvocationTaskId: taskId,
      Index: index,
      Output: Buffer.from(text).toString('base64'),
    });
  }

  reportFinish(taskId, fields) {
    return this.must('ReportTaskFinish', { InvocationTaskId: taskId, ...fields });
  }
}

module.exports = { ScriptedAgent, AgentError, signingString };
