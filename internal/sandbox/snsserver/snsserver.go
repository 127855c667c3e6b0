// Package snsserver serves goaws, the SNS emulator, on 127.0.0.1 in this
// process. It is linked only into cmd/rootguard-sns, the child process
// `rootguard sandbox` starts for SNS (internal/sandbox): goaws generates an
// RSA key when its package is initialised, some 65 ms, which every
// rootguard command would otherwise pay before doing anything.
package snsserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/Admiral-Piett/goaws/app"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/sirupsen/logrus"
)

// Server is goaws serving SNS on 127.0.0.1 in this process.
type Server struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_SNS).
	URL string
	srv *http.Server
}

// goaws keeps its topics and configuration in package variables: one
// server per process.
var goawsRunning struct {
	sync.Mutex
	on bool
}

// ErrRunning is returned by [Start] while another server of this process
// serves.
var ErrRunning = errors.New("snsserver: an SNS server already runs in this process")

// Start serves goaws on addr, a loopback address such as 127.0.0.1:0 (a
// free port). Topics it creates get ARNs in accountID and region.
func Start(addr, accountID, region string) (*Server, error) {
	goawsRunning.Lock()
	defer goawsRunning.Unlock()
	if goawsRunning.on {
		return nil, ErrRunning
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("snsserver: listen: %w", err)
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("snsserver: %s is not a loopback address", addr)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	logrus.SetLevel(logrus.WarnLevel)
	logrus.SetOutput(io.Discard)
	app.CurrentEnvironment.Host = ln.Addr().(*net.TCPAddr).IP.String()
	app.CurrentEnvironment.Port = strconv.Itoa(port)
	app.CurrentEnvironment.Region = region
	app.CurrentEnvironment.AccountID = accountID
	app.CurrentEnvironment.QueueAttributeDefaults.VisibilityTimeout = 30
	app.CurrentEnvironment.QueueAttributeDefaults.MaximumMessageSize = 262144
	srv := &http.Server{Handler: router.New(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	goawsRunning.on = true
	return &Server{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops the server.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	goawsRunning.Lock()
	goawsRunning.on = false
	goawsRunning.Unlock()
	return err
}
