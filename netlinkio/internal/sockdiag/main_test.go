package sockdiag_test

import (
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
)

// TestMain runs the package's tests in a private network namespace.
func TestMain(m *testing.M) { netnstest.Main(m) }
