package sandbox

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

// SNS is goaws serving SNS on 127.0.0.1 in this process.
type SNS struct {
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

// ErrSNSRunning is returned by [StartSNS] while another SNS server of this
// process serves.
var ErrSNSRunning = errors.New("sandbox: an SNS server already runs in this process")

// StartSNS serves goaws on a free port of 127.0.0.1. Topics it creates get
// ARNs in accountID and region.
func StartSNS(accountID, region string) (*SNS, error) {
	goawsRunning.Lock()
	defer goawsRunning.Unlock()
	if goawsRunning.on {
		return nil, ErrSNSRunning
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox: SNS: listen: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	logrus.SetLevel(logrus.WarnLevel)
	logrus.SetOutput(io.Discard)
	app.CurrentEnvironment.Host = "127.0.0.1"
	app.CurrentEnvironment.Port = strconv.Itoa(port)
	app.CurrentEnvironment.Region = region
	app.CurrentEnvironment.AccountID = accountID
	app.CurrentEnvironment.QueueAttributeDefaults.VisibilityTimeout = 30
	app.CurrentEnvironment.QueueAttributeDefaults.MaximumMessageSize = 262144
	srv := &http.Server{Handler: router.New(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	goawsRunning.on = true
	return &SNS{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops the server.
func (s *SNS) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	goawsRunning.Lock()
	goawsRunning.on = false
	goawsRunning.Unlock()
	return err
}
