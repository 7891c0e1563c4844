package lambdatest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the emulator starts ends with the test that started it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
