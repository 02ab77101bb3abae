// Starts the S3 test server: node serve.js ADDRESS PORT DIRECTORY BUCKET
// The login comes from the environment, never the command line: S3_TEST_ACCESS_KEY and S3_TEST_SECRET (the built-in
// S3RVER/S3RVER account is revoked). Every request's SigV4 signature is checked against that secret.
// Prints "listening PORT" on standard output once it accepts connections (PORT 0 picks a free one).
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');
const [address, port, directory, bucket] = process.argv.slice(2);
const accessKey = process.env.S3_TEST_ACCESS_KEY;
const secret = process.env.S3_TEST_SECRET;
if (!accessKey || !secret) {
  console.error('serve.js: set S3_TEST_ACCESS_KEY and S3_TEST_SECRET');
  process.exit(2);
}
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secret);
const options = { address, port: Number(port), directory, silent: true, configureBuckets: [{ name: bucket }] };
new S3rver(options).run().then(
  (server) => console.log(`listening ${server.port}`),
  (error) => { console.error(error.message); process.exit(1); });
