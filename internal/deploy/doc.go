// Package deploy builds the CloudFormation templates of rootguard's
// real-time pipeline and deploys them.
//
// The pipeline has three parts, each a template built in typed Go with
// goformation:
//
//   - member: EventBridge rules on the default bus of every member account,
//     in US East (N. Virginia) and every governed region, with the event
//     patterns of [detect.EventPatterns], forwarding to the Audit account's
//     event bus. Installed by a service-managed StackSet with automatic
//     deployment to the chosen OUs.
//   - management: the same rules plus [detect.ManagementPatterns], for the
//     management account, where StackSets do not deploy; one stack per
//     region.
//   - audit: in the Audit account's home region, the custom event bus
//     (admitting only the organization), the rules from it to the Lambda
//     function, the encrypted SNS topic, the DynamoDB table, the
//     dead-letter queue and the alarms; and the scheduled audit: a second
//     function from the same code, an EventBridge Scheduler schedule, and
//     the versioned, KMS-encrypted history bucket (see addScheduledAudit
//     and [CheckAuditAccount]). audit-region forwards GuardDuty's
//     root findings from the Audit account's default bus in every other
//     region to the bus.
//
// member-stackset wraps the member template in an AWS::CloudFormation::StackSet
// resource for teams that deploy through their own pipeline.
//
// [Deployer] creates or updates the stacks through change sets and the
// StackSet through StackSet operations, adding and removing its instances
// until they are those of the OUs and regions given, then deletes its own
// stacks left where the configuration puts none (a Region no longer
// governed, or newly governed), last and only when everything else
// succeeded; it is idempotent. [Deployer.Plan] changes no resource (it reads an existing stack's
// changes through a change set it then deletes).
package deploy
