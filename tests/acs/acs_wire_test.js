'use strict';
// The Cloud Assistant wire of a real ferry-server, driven by the official Alibaba Cloud SDKs
// unchanged: the current @alicloud/ecs20140526 client (ACS3-HMAC-SHA256, and its "v2"
// signature v1) and @alicloud/pop-core (signature v1 over GET and POST). No action is registered
// yet, so a correctly signed call reaches InvalidAction.NotFound: the signature was accepted and
// the error body read as the SDK reads Alibaba's.

const assert = require('node:assert/strict');

const h = require('./harness');

// A 24 KiB parameter, as the longest command RunCommand takes: 18 KiB of script in base64.
const BIG = Buffer.from('x'.repeat(18 * 1024)).toString('base64');

async function main() {
  h.setUp();
  const server = await h.startServer();

  const ecsFlavours = [
    ['current SDK, ACS3', {}],
    ['current SDK, signature v1', { signatureAlgorithm: 'v2' }],
  ];
  for (const [name, options] of ecsFlavours) {
    await h.section(name, async () => {
      const { client, Ecs } = h.ecsClient(server, options);
      const describe = (c) =>
        c.describeInstances(new Ecs.DescribeInstancesRequest({ regionId: 'cn-hangzhou' }));
      await h.check(`${name}: a signed call reaches InvalidAction.NotFound`, async () => {
        const e = await h.errorCode(describe(client));
        assert.equal(e.code, 'InvalidAction.NotFound', e.message);
        assert.equal(e.statusCode, 404);
      });
      await h.check(`${name}: a wrong secret is SignatureDoesNotMatch`, async () => {
        const { client: bad } = h.ecsClient(server, { ...options, accessKeySecret: 'wrong' });
        const e = await h.errorCode(describe(bad));
        assert.equal(e.code, 'SignatureDoesNotMatch', e.message);
        assert.equal(e.statusCode, 400);
      });
      await h.check(`${name}: an unknown AccessKeyId is InvalidAccessKeyId.NotFound`, async () => {
        const { client: bad } = h.ecsClient(server, { ...options, accessKeyId: 'LTAInobody' });
        const e = await h.errorCode(describe(bad));
        assert.equal(e.code, 'InvalidAccessKeyId.NotFound', e.message);
        assert.equal(e.statusCode, 404);
      });
      await h.check(`${name}: a 24 KiB parameter passes the wire`, async () => {
        const e = await h.errorCode(
          client.runCommand(
            new Ecs.RunCommandRequest({
              regionId: 'cn-hangzhou',
              type: 'RunShellScript',
              commandContent: BIG,
              contentEncoding: 'Base64',
              instanceId: ['i-ferry0001'],
            }),
          ),
        );
        // Past the signature and every content check: only the instance is unknown here.
        assert.equal(e.code, 'InvalidInstance.NotFound', e.message);
      });
    });
  }

  for (const method of ['GET', 'POST']) {
    const name = `pop-core, ${method}`;
    await h.section(name, async () => {
      const pop = h.popClient(server);
      const opts = { method };
      await h.check(`${name}: a signed call reaches InvalidAction.NotFound`, async () => {
        const e = await h.errorCode(pop.request('DescribeInstances', { RegionId: 'cn-hangzhou' }, opts));
        assert.equal(e.code, 'InvalidAction.NotFound', e.message);
        assert.equal(typeof e.data.RequestId, 'string');
        assert.equal(e.data.HostId, '127.0.0.1');
        assert.ok(e.data.Message && e.data.Recommend);
      });
      await h.check(`${name}: a wrong secret is SignatureDoesNotMatch`, async () => {
        const bad = h.popClient(server, { accessKeySecret: 'wrong' });
        const e = await h.errorCode(bad.request('DescribeInstances', { RegionId: 'cn-hangzhou' }, opts));
        assert.equal(e.code, 'SignatureDoesNotMatch', e.message);
      });
      await h.check(`${name}: an unknown AccessKeyId is InvalidAccessKeyId.NotFound`, async () => {
        const bad = h.popClient(server, { accessKeyId: 'LTAInobody' });
        const e = await h.errorCode(bad.request('DescribeInstances', { RegionId: 'cn-hangzhou' }, opts));
        assert.equal(e.code, 'InvalidAccessKeyId.NotFound', e.message);
      });
      await h.check(`${name}: a 24 KiB parameter passes the wire`, async () => {
        const e = await h.errorCode(
          pop.request(
            'RunCommand',
            {
              RegionId: 'cn-hangzhou',
              Type: 'RunShellScript',
              CommandContent: BIG,
              ContentEncoding: 'Base64',
              'InstanceId.1': 'i-ferry0001',
            },
            opts,
          ),
        );
        assert.equal(e.code, 'InvalidInstance.NotFound', e.message);
      });
    });
  }
  await h.stopAll();
}

h.run(main, h.killAll);
