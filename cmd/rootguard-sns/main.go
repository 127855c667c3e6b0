// Command rootguard-sns serves SNS (goaws, the SNS emulator) on 127.0.0.1
// for `rootguard sandbox`, which starts it as a child process and stops it
// with itself. It prints the endpoint URL on one line once it serves, and
// runs until interrupted or terminated.
//
// It is a binary of its own so that rootguard does not link goaws, whose
// package initialisation generates an RSA key: some 65 ms every rootguard
// command, `rootguard scan` included, would pay. go.mod pins it as a tool:
//
//	go tool rootguard-sns --account 111111111111 --region us-east-1
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rootguard/rootguard/internal/sandbox/snsserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "rootguard-sns:", err)
		}
		stop()
		os.Exit(2)
	}
}

// run serves until ctx ends, after printing the endpoint to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rootguard-sns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	account := fs.String("account", "000000000000", "account of the topics' ARNs")
	region := fs.String("region", "us-east-1", "region of the topics' ARNs")
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	srv, err := snsserver.Start(*listen, *account, *region)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, srv.URL)
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Close(shutdown)
}
