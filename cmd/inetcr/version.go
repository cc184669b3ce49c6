package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// buildVersion is what inetcr version prints: from the build information
// the Go linker embeds (debug.ReadBuildInfo), so nothing is stamped by
// hand and nothing can drift.
type buildVersion struct {
	Module   string // the main module's version; "(devel)" when built from a checkout
	Revision string // the VCS revision; "" when built without one (go install of a module)
	Time     string // the revision's commit time
	Modified bool   // the work tree had changes that are not committed
	Go       string // the Go version that built it
}

func readBuildVersion() buildVersion {
	v := buildVersion{Module: "(unknown)", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Module, v.Go = bi.Main.Version, bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// print writes the version, one "key: value" line each, for people and
// for scripts.
func (v buildVersion) print(w io.Writer) {
	fmt.Fprintf(w, "inetcr %s\n", v.Module)
	if v.Revision != "" {
		fmt.Fprintf(w, "revision: %s\n", v.Revision)
		if v.Time != "" {
			fmt.Fprintf(w, "committed: %s\n", v.Time)
		}
		fmt.Fprintf(w, "modified: %t\n", v.Modified)
	}
	fmt.Fprintf(w, "go: %s %s/%s\n", v.Go, runtime.GOOS, runtime.GOARCH)
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the version, VCS revision and Go version inetcr was built with",
		UsageText: "inetcr version   (or inetcr --version)",
		Description: "Prints the module version (\"(devel)\" when built from a checkout), the VCS revision, its\n" +
			"commit time and whether the work tree had changes not committed, and the Go version, all\n" +
			"from the build information Go embeds in the binary.",
		Action: func(c *cli.Context) error {
			if err := noArgs(c, "version"); err != nil {
				return err
			}
			readBuildVersion().print(c.App.Writer)
			return nil
		},
	}
}

func init() {
	// --version prints what inetcr version prints; -v stays free.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version (inetcr version)"}
	cli.VersionPrinter = func(c *cli.Context) { readBuildVersion().print(c.App.Writer) }
}
