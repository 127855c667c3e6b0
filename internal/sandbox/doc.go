// Package sandbox starts the local servers that `rootguard sandbox` runs
// beside internal/awssim, so that the commands of the real-time pipeline
// work against it too: rootguard-sns, goaws serving SNS (the alert topics),
// and dynalite for DynamoDB (the approvals table). Both are child
// processes on 127.0.0.1 that stop with the sandbox.
//
// Neither is a simulator of rootguard's own: both are the emulators the
// tests already use (internal/testenv), spoken to through the SDK's
// standard configuration (AWS_ENDPOINT_URL_SNS, AWS_ENDPOINT_URL_DYNAMODB).
// Calls to them are not recorded in the sandbox's CloudTrail.
//
// goaws runs in a process of its own (cmd/rootguard-sns, serving with
// package snsserver) because its package initialisation generates an RSA
// key: linked into rootguard, every command would pay some 65 ms for it.
package sandbox
