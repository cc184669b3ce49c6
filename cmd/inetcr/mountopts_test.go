package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestHelperArgs(t *testing.T) {
	commands := []string{"ls", "dump", "mount", "help"}
	for _, c := range []struct {
		name string
		in   []string
		want []string // nil: not the helper form
		err  string
	}{
		{"as mount.fuse3 runs it", []string{"inetcr", "inetcr", "/inetcr", "-o", "rw,allow_other,dev,suid"},
			[]string{"inetcr", "mount", "--background", "--read-only=false", "--allow-other", "--", "/inetcr"}, ""},
		{"ro, backend, debug and generic options", []string{"/usr/bin/inetcr", "src", "/mnt/x", "-o", "ro,noatime,backend=stock,debug,nosuid,nodev,default_permissions"},
			[]string{"/usr/bin/inetcr", "--backend=stock", "mount", "--background", "--read-only", "--debug", "--", "/mnt/x"}, ""},
		{"two -o", []string{"inetcr", "inetcr", "/i", "-o", "allow_other", "-o", "ro"},
			[]string{"inetcr", "mount", "--background", "--allow-other", "--read-only", "--", "/i"}, ""},
		{"empty entries", []string{"inetcr", "inetcr", "/i", "-o", ",,rw,"},
			[]string{"inetcr", "mount", "--background", "--read-only=false", "--", "/i"}, ""},
		{"unknown option", []string{"inetcr", "inetcr", "/i", "-o", "rw,bogus"}, nil, `mount /i: unknown mount option "bogus" (known: allow_other, ro, rw, backend=VALUE, debug;`},
		{"value on a flag", []string{"inetcr", "inetcr", "/i", "-o", "allow_other=1"}, nil, `mount option "allow_other" takes no value`},
		{"no value", []string{"inetcr", "inetcr", "/i", "-o", "backend="}, nil, `mount option "backend" wants a value: backend=VALUE`},
		{"trailing argument", []string{"inetcr", "inetcr", "/i", "-o", "rw", "-n"}, nil, `unexpected argument "-n"`},
		{"a command", []string{"inetcr", "mount", "/i", "-o", "rw"}, nil, ""},
		{"help", []string{"inetcr", "help", "/i", "-o", "rw"}, nil, ""},
		{"a flag first", []string{"inetcr", "--backend", "/i", "-o", "rw"}, nil, ""},
		{"relative mount point", []string{"inetcr", "inetcr", "i", "-o", "rw"}, nil, ""},
		{"no -o", []string{"inetcr", "inetcr", "/i", "rw", "x"}, nil, ""},
		{"too short", []string{"inetcr", "inetcr", "/i"}, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := helperArgs(c.in, commands)
			switch {
			case c.err != "":
				if !ok || err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("ok %v, err %v; want the helper form refused with %q", ok, err, c.err)
				}
			case c.want == nil:
				if ok {
					t.Errorf("taken as the helper form: %q, %v", got, err)
				}
			default:
				if !ok || err != nil || !slices.Equal(got, c.want) {
					t.Errorf("got %q, %v, %v; want %q", got, ok, err, c.want)
				}
			}
		})
	}
}

// TestHelperArgsParse: what helperArgs makes is a command line the app
// takes, each option reaching its flag.
func TestHelperArgsParse(t *testing.T) {
	app := newApp()
	var names []string
	for _, c := range app.Commands {
		names = append(names, c.Name)
	}
	args, ok, err := helperArgs([]string{"inetcr", "inetcr", "/i", "-o", "rw,ro,allow_other,backend=stock,debug"}, names)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	var got []string
	app.Command("mount").Action = func(c *cli.Context) error {
		for _, f := range []string{"read-only", "allow-other", "debug", "background"} {
			if c.Bool(f) {
				got = append(got, f)
			}
		}
		got = append(got, "backend="+c.String("backend"), "mountpoint="+c.Args().First())
		return nil
	}
	if err := app.Run(args); err != nil {
		t.Fatal(err)
	}
	want := []string{"read-only", "allow-other", "debug", "background", "backend=stock", "mountpoint=/i"}
	if !slices.Equal(got, want) {
		t.Errorf("mount saw %q, want %q", got, want)
	}
}
