package integration

import (
	"os"
	"testing"

	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/exact"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// backendEnv picks the backend of the trees the tests mount by default:
// the stock engine, or with INETCR_TEST_BACKEND=exact the exact reader,
// which is what `--backend auto` gives a user. `make test` runs the
// security tests a second time under exact (Makefile, test-exact).
const backendEnv = "INETCR_TEST_BACKEND"

// testBackend is the backend a default mount of a test uses.
func testBackend(t *testing.T) netlinkio.Backend {
	t.Helper()
	switch v := os.Getenv(backendEnv); v {
	case "", "stock":
		return stock.NewStock()
	case "exact":
		e, err := exact.Open(exact.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() }) // after the unmount: cleanups run last first
		return e
	default:
		t.Fatalf("%s=%q: stock or exact", backendEnv, v)
		return nil
	}
}
