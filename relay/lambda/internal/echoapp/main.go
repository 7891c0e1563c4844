// Command echoapp serves the echo handler as a Lambda function, for the
// end-to-end tests that run it under lambdatest. Build it with
// -tags lambda.norpc.
package main

import (
	"github.com/openqq-relay/openqq/relay/lambda"
	"github.com/openqq-relay/openqq/relay/lambda/internal/echo"
)

func main() { lambda.Start(echo.Handler()) }
