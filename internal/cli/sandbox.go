package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rootguard/rootguard/internal/awssim"
	"github.com/rootguard/rootguard/internal/org"
)

type sandboxOptions struct {
	io            IO
	logger        func() *slog.Logger
	scenario      string
	accounts      int
	seed          uint64
	writeScenario string
	listen        string
	latency       time.Duration
	throttle      []string
	faultRate     float64
	reportDelay   time.Duration
	envFile       string
	output        string
	blockingSCP   bool
	sns           bool
	dynamodb      bool
	dynalite      string
	snsServer     string
	command       []string // after --: run it against the sandbox, then stop
	ready         func(env map[string]string)
}

func newSandboxCmd(io IO, logger func() *slog.Logger) *cobra.Command {
	return newSandboxCmdReady(io, logger, nil)
}

// newSandboxCmdReady is newSandboxCmd calling ready, if not nil, with the
// client environment once the sandbox serves (tests wait on it).
func newSandboxCmdReady(io IO, logger func() *slog.Logger, ready func(env map[string]string)) *cobra.Command {
	o := &sandboxOptions{io: io, logger: logger, ready: ready}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Serve a simulated AWS Organization (STS, IAM, Organizations) on 127.0.0.1",
		Long: `Sandbox serves internal/awssim, rootguard's simulator of the AWS APIs that
centralized root access uses (sts:AssumeRoot, the root-credential IAM calls,
Organizations), on 127.0.0.1. It prints the environment a client needs
(AWS_ENDPOINT_URL and static credentials of an administrator in the
management account): every rootguard command, and any other aws-sdk-go-v2
tool, then works against it unchanged. It runs until interrupted.

Every call it serves is recorded as the CloudTrail record AWS writes for it
and delivered, in an organization trail's layout, to an S3 bucket of the
management account; ROOTGUARD_TRAIL names it, for rootguard scan.

For approval and alert test it also starts rootguard-sns, goaws serving SNS
(TOPIC_ARN, CHATBOT_TOPIC_ARN, AWS_ENDPOINT_URL_SNS), and, where npm ci
--prefix tools was run, dynalite for DynamoDB (the approvals table
ROOTGUARD_TABLE, AWS_ENDPOINT_URL_DYNAMODB), and stops both with itself;
ROOTGUARD_APPROVER_* are the credentials of a second principal, to approve
with. rootguard-sns is looked for beside rootguard, then on PATH, then built
with go tool in the rootguard checkout (go.mod pins it).

The organization comes from a scenario file (see internal/awssim/testdata/
scenario.yaml) or is generated with --accounts and --seed.`,
		Example: `  R=$(mktemp -d)                                   # a scratch directory: the environment file and the audit history
  rootguard sandbox --accounts 1000 --latency 25ms --throttle sts:AssumeRoot=50 --fault-rate 0.02 --env-file "$R/sim.env" &
  until [ -s "$R/sim.env" ] || ! kill -0 %1; do sleep 0.2; done   # written whole, at once, when it serves (or it exited)
  . "$R/sim.env" && rootguard audit --db "$R/rootguard.db"   # the sandbox's audits kept out of your history
  kill %1; wait %1                                 # stops it; it removes "$R/sim.env"
  rootguard sandbox --accounts 50 -- rootguard audit --no-history   # one command against it; the sandbox stops with it, its exit code is the command's`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && cmd.ArgsLenAtDash() != 0 {
				return usageError("sandbox: unexpected argument %q (a command to run goes after --)", args[0])
			}
			o.command = args
			return runSandbox(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.scenario, "scenario", "", "scenario YAML file")
	f.IntVar(&o.accounts, "accounts", 20, "accounts to generate when no --scenario is given")
	f.Uint64Var(&o.seed, "seed", 1, "seed for the generated scenario, credentials and faults")
	f.StringVar(&o.writeScenario, "write-scenario", "", "write the scenario served to this file")
	f.StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback address to listen on")
	f.DurationVar(&o.latency, "latency", 0, "latency added to every request")
	f.StringSliceVar(&o.throttle, "throttle", nil, "rate limits, e.g. sts:AssumeRoot=50,iam:GetUser=100 (requests per second)")
	f.Float64Var(&o.faultRate, "fault-rate", 0, "fraction of requests answered with a 5xx error")
	f.DurationVar(&o.reportDelay, "report-delay", 2*time.Second, "time a credential report takes to generate")
	f.StringVar(&o.envFile, "env-file", "", "also write the environment, as shell exports, to this file (atomically, once serving; removed on stop)")
	f.StringVarP(&o.output, "output", "o", "table", "how to print the environment: table (shell exports) or json")
	f.BoolVar(&o.sns, "sns", true, "serve SNS (goaws) with the alert topics, for alert test and approval")
	f.BoolVar(&o.dynamodb, "dynamodb", true, "serve DynamoDB (dynalite) with the approvals table, for approval; needs `npm ci --prefix tools`")
	f.StringVar(&o.snsServer, "sns-server", "", "rootguard-sns to run for SNS (default: beside rootguard, on PATH, or built with go tool in the rootguard checkout)")
	f.StringVar(&o.dynalite, "dynalite", "", "dynalite to run (default tools/node_modules/.bin/dynalite in the working directory or above)")
	f.BoolVar(&o.blockingSCP, "blocking-scp", true, "keep the generated root-deny SCP that lacks the aws:AssumedRoot exemption attached (set false for an organization where every account can be audited)")
	return cmd
}

func parseThrottle(vals []string) (map[string]float64, error) {
	limits := map[string]float64{}
	for _, v := range splitList(vals) {
		op, n, ok := strings.Cut(v, "=")
		rate, err := strconv.ParseFloat(n, 64)
		// NaN and Inf parse as floats; neither is a rate.
		if !ok || !strings.Contains(op, ":") || err != nil || !(rate > 0) || math.IsInf(rate, 0) {
			return nil, fmt.Errorf("--throttle %q: want service:Operation=requests-per-second", v)
		}
		limits[op] = rate
	}
	return limits, nil
}

func runSandbox(ctx context.Context, o *sandboxOptions) error {
	if o.output != "table" && o.output != "json" {
		return usageError("--output %q: want table or json", o.output)
	}
	limits, err := parseThrottle(o.throttle)
	if err != nil {
		return usageError("%v", err)
	}
	if !(o.faultRate >= 0 && o.faultRate <= 1) { // NaN is no fraction
		return usageError("--fault-rate must be between 0 and 1")
	}
	var sc *awssim.Scenario
	if o.scenario != "" {
		if sc, err = awssim.LoadScenario(o.scenario); err != nil {
			return usageError("%v", err)
		}
	} else {
		if o.accounts < 1 {
			return usageError("--accounts must be at least 1")
		}
		sc = awssim.GenerateScenario(o.accounts, o.seed)
		if !o.blockingSCP {
			detachBlockingSCPs(sc)
		}
	}
	if o.writeScenario != "" {
		b, err := sc.Marshal()
		if err == nil {
			err = os.WriteFile(o.writeScenario, b, 0o644)
		}
		if err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("write scenario: %w", err)}
		}
	}
	if o.dynamodb {
		addApproverRole(sc)
	}
	srv := awssim.New(sc, awssim.Options{
		RateLimits: limits, Latency: o.latency, FaultRate: o.faultRate, Seed: o.seed,
		ReportDelay: o.reportDelay, Logger: o.logger(),
	})
	url, stopAWS, err := srv.Start(o.listen)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	akid, secret := srv.ManagementCredentials()
	env := map[string]string{
		"AWS_ENDPOINT_URL":      url,
		"AWS_ACCESS_KEY_ID":     akid,
		"AWS_SECRET_ACCESS_KEY": secret,
		"AWS_REGION":            "us-east-1",
		// The organization trail of every call the sandbox serves, for
		// `rootguard scan "$ROOTGUARD_TRAIL"`.
		"ROOTGUARD_TRAIL": "s3://" + srv.TrailBucket() + "/AWSLogs/" + sc.Organization.ID + "/",
	}
	stopPipeline, err := startPipeline(ctx, o, sc.Organization.ManagementAccount, url, akid, secret, env)
	if err != nil {
		_ = stopAWS(context.WithoutCancel(ctx))
		return &exitError{code: ExitError, err: err}
	}
	stop := func(ctx context.Context) error {
		perr := stopPipeline(ctx)
		return errors.Join(stopAWS(ctx), perr)
	}
	if o.envFile != "" {
		if err := writeFileAtomic(o.envFile, []byte(shellExports(env)), 0o600); err != nil {
			_ = stop(context.WithoutCancel(ctx))
			return &exitError{code: ExitError, err: fmt.Errorf("write env file: %w", err)}
		}
		// A file left behind would point the next shell at a sandbox
		// that is gone.
		defer os.Remove(o.envFile)
	}
	if len(o.command) > 0 {
		return runAgainstSandbox(ctx, o, env, stop)
	}
	if err := printEnv(o.io.Out, env, o.output); err != nil {
		_ = stop(context.WithoutCancel(ctx))
		return &exitError{code: ExitError, err: err}
	}
	fmt.Fprintf(o.io.Err, "rootguard: sandbox serving organization %s (%d accounts) at %s; its CloudTrail is in %s; stop with Ctrl-C\n",
		sc.Organization.ID, len(sc.Accounts), url, env["ROOTGUARD_TRAIL"])
	if env["TOPIC_ARN"] != "" {
		fmt.Fprintf(o.io.Err, "rootguard: sandbox: SNS at %s, alert topic %s (TOPIC_ARN)\n", env["AWS_ENDPOINT_URL_SNS"], env["TOPIC_ARN"])
	}
	if env["ROOTGUARD_TABLE"] != "" {
		fmt.Fprintf(o.io.Err, "rootguard: sandbox: DynamoDB at %s, approvals table %s (ROOTGUARD_TABLE); a second principal to approve with: ROOTGUARD_APPROVER_* (%s, valid for an hour)\n",
			env["AWS_ENDPOINT_URL_DYNAMODB"], env["ROOTGUARD_TABLE"], env["ROOTGUARD_APPROVER_ARN"])
	}
	if o.ready != nil {
		o.ready(env)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := stop(sctx); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	counts := srv.Counts()
	ops := make([]string, 0, len(counts))
	for op := range counts {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var all, parts []string
	for _, op := range ops {
		all = append(all, fmt.Sprintf("%s=%d", op, counts[op]))
	}
	throttled := srv.Throttled()
	parts = parts[:0]
	for _, op := range ops {
		if throttled[op] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", op, throttled[op]))
		}
	}
	fmt.Fprintf(o.io.Err, "rootguard: sandbox stopped; requests: %s; throttled: %s\n", strings.Join(all, " "), strings.Join(parts, " "))
	return nil
}

func shellExports(env map[string]string) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s=%s\n", k, env[k])
	}
	return b.String()
}

func printEnv(w io.Writer, env map[string]string, format string) error {
	if format == "json" {
		return json.NewEncoder(w).Encode(env)
	}
	_, err := io.WriteString(w, shellExports(env))
	return err
}

// detachBlockingSCPs detaches the root-deny SCPs that would block root
// sessions (those without the aws:AssumedRoot exemption).
func detachBlockingSCPs(sc *awssim.Scenario) {
	for i := range sc.Policies {
		p := &sc.Policies[i]
		if denies, exempts, err := org.AnalyzeSCP(p.Content); err == nil && denies && !exempts {
			p.Targets = nil
		}
	}
}

// writeFileAtomic writes a file so that a reader sees it whole or not
// at all: a temporary file in the same directory, renamed into place.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, perm)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// runAgainstSandbox runs o.command with the sandbox's environment, then
// stops the sandbox; the command's exit code is the result.
func runAgainstSandbox(ctx context.Context, o *sandboxOptions, env map[string]string, stop func(context.Context) error) error {
	c := exec.CommandContext(ctx, o.command[0], o.command[1:]...)
	c.Stdin, c.Stdout, c.Stderr = o.io.In, o.io.Out, o.io.Err
	c.Env = os.Environ()
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	runErr := c.Run()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = stop(sctx)
	var ee *exec.ExitError
	switch {
	case runErr == nil:
		return nil
	case errors.As(runErr, &ee) && ee.ExitCode() > 0:
		return &exitError{code: ee.ExitCode()}
	}
	return &exitError{code: ExitError, err: fmt.Errorf("sandbox: run %s: %w", o.command[0], runErr)}
}
