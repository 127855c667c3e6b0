// Package sandbox starts the local servers that `rootguard sandbox` runs
// beside internal/awssim, so that the commands of the real-time pipeline
// work against it too: goaws for SNS (the alert topics), in this process,
// and dynalite for DynamoDB (the approvals table), as a child process on
// 127.0.0.1 that stops with the sandbox.
//
// Neither is a simulator of rootguard's own: both are the emulators the
// tests already use (internal/testenv), spoken to through the SDK's
// standard configuration (AWS_ENDPOINT_URL_SNS, AWS_ENDPOINT_URL_DYNAMODB).
// Calls to them are not recorded in the sandbox's CloudTrail.
package sandbox
